import { describe, expect, it } from "vitest";
import { kmsRotationDeletionWindow } from "../../policies/aws-kms";
import { messages, res, UNKNOWN, unknownNote, violations, withInputs } from "./harness";

const key = res("aws:kms/key:Key", "key", { description: "storage", enableKeyRotation: true, deletionWindowInDays: 30 });

describe("kms-rotation-deletion-window", () => {
  it("passes a rotating key with a 30-day window", async () => {
    expect(await messages(kmsRotationDeletionWindow, [key], { config: { minimumDeletionWindowDays: 30 } })).toEqual([]);
  });

  it("takes AWS's 30-day default window when none is given", async () => {
    expect(await messages(kmsRotationDeletionWindow, [withInputs(key, { deletionWindowInDays: undefined })], { config: { minimumDeletionWindowDays: 30 } })).toEqual([]);
  });

  it("fails a key without rotation", async () => {
    expect(await messages(kmsRotationDeletionWindow, [withInputs(key, { enableKeyRotation: false })])).toEqual(["key rotation must be on (enableKeyRotation: true)"]);
  });

  it("does not ask asymmetric keys to rotate (AWS cannot)", async () => {
    const signing = withInputs(key, { enableKeyRotation: undefined, customerMasterKeySpec: "ECC_NIST_P256", keyUsage: "SIGN_VERIFY" });
    expect(await messages(kmsRotationDeletionWindow, [signing])).toEqual([]);
  });

  it("uses a 7-day minimum by default", async () => {
    expect(await messages(kmsRotationDeletionWindow, [withInputs(key, { deletionWindowInDays: 7 })])).toEqual([]);
  });

  it("fails a window shorter than the configured minimum (prod: 30 days)", async () => {
    expect(await messages(kmsRotationDeletionWindow, [withInputs(key, { deletionWindowInDays: 7 })], { config: { minimumDeletionWindowDays: 30 } })).toEqual([
      "deletion window must be at least 30 days, got 7",
    ]);
  });

  it("checks a replica key's own deletion window (it rotates with its primary)", async () => {
    const replica = res("aws:kms/replicaKey:ReplicaKey", "replica", { primaryKeyArn: "arn:aws:kms:eu-west-1:111111111111:key/primary", deletionWindowInDays: 7 });
    expect(await messages(kmsRotationDeletionWindow, [replica])).toEqual([]);
    expect(await messages(kmsRotationDeletionWindow, [replica], { config: { minimumDeletionWindowDays: 30 } })).toEqual(["deletion window must be at least 30 days, got 7"]);
  });

  it("notes a rotation flag unknown during preview", async () => {
    const found = await violations(kmsRotationDeletionWindow, [withInputs(key, { enableKeyRotation: UNKNOWN })]);
    expect(found.map((v) => [v.enforcementLevel, v.resource, v.message])).toEqual([["advisory", key.urn, unknownNote("kms-rotation-deletion-window", "enableKeyRotation")]]);
  });
});
