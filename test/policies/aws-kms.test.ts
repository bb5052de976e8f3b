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

  it("checks the deletion window of external keys and replica external keys", async () => {
    const external = res("aws:kms/externalKey:ExternalKey", "imported", { description: "imported", deletionWindowInDays: 7 });
    const replica = res("aws:kms/replicaExternalKey:ReplicaExternalKey", "imported-replica", { primaryKeyArn: "arn:aws:kms:eu-west-1:111111111111:key/mrk-1", deletionWindowInDays: 10 });
    expect(await messages(kmsRotationDeletionWindow, [external, replica])).toEqual([]);
    expect(await messages(kmsRotationDeletionWindow, [external, replica], { config: { minimumDeletionWindowDays: 30 } })).toEqual([
      "deletion window must be at least 30 days, got 7",
      "deletion window must be at least 30 days, got 10",
    ]);
  });

  it("does not ask HMAC keys, custom key store keys or imported keys to rotate (AWS cannot)", async () => {
    const hmac = withInputs(key, { enableKeyRotation: undefined, customerMasterKeySpec: "HMAC_256", keyUsage: "GENERATE_VERIFY_MAC" });
    const hsm = withInputs(key, { enableKeyRotation: undefined, customKeyStoreId: "cks-1234567890abcdef0" });
    const external = res("aws:kms/externalKey:ExternalKey", "imported", { description: "imported" });
    expect(await messages(kmsRotationDeletionWindow, [hmac, hsm, external])).toEqual([]);
  });

  const policy = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
  const rootAdmin = { Sid: "Root", Effect: "Allow", Principal: { AWS: "arn:aws:iam::111111111111:root" }, Action: "kms:*", Resource: "*" };

  it("passes a key policy that grants kms:* to the account root and use to everyone in the account through a service", async () => {
    const viaService = {
      Sid: "ViaEbs",
      Effect: "Allow",
      Principal: { AWS: "*" },
      Action: ["kms:Encrypt", "kms:Decrypt"],
      Resource: "*",
      Condition: { StringEquals: { "kms:CallerAccount": "111111111111", "kms:ViaService": "ec2.eu-west-1.amazonaws.com" } },
    };
    expect(await messages(kmsRotationDeletionWindow, [withInputs(key, { policy: policy(rootAdmin, viaService) })])).toEqual([]);
  });

  it("fails a key policy that grants kms:* to everyone, on every key kind and on aws.kms.KeyPolicy", async () => {
    const open = policy(rootAdmin, { Sid: "Everyone", Effect: "Allow", Principal: "*", Action: ["kms:*"], Resource: "*" });
    const message = 'key policy statement "Everyone" allows "kms:*" to every principal; grant the key\'s administration to named principals such as the account root';
    const replica = res("aws:kms/replicaKey:ReplicaKey", "replica", { primaryKeyArn: "arn:aws:kms:eu-west-1:111111111111:key/mrk-1", policy: open });
    const keyPolicy = res("aws:kms/keyPolicy:KeyPolicy", "key-policy", { keyId: "1234abcd", policy: open });
    const external = res("aws:kms/externalKey:ExternalKey", "imported", { policy: open });
    expect(await messages(kmsRotationDeletionWindow, [withInputs(key, { policy: open }), replica, keyPolicy, external])).toEqual([message, message, message, message]);
  });

  it("fails a key policy that grants everything but to its NotPrincipal, or every action with *", async () => {
    const notPrincipal = policy({ Sid: "AllButOne", Effect: "Allow", NotPrincipal: { AWS: "arn:aws:iam::111111111111:role/x" }, Action: "*", Resource: "*" });
    expect(await messages(kmsRotationDeletionWindow, [withInputs(key, { policy: notPrincipal })])).toEqual([
      'key policy statement "AllButOne" allows "*" to every principal but its NotPrincipal; grant the key\'s administration to named principals such as the account root',
    ]);
  });

  it("notes a rotation flag unknown during preview", async () => {
    const found = await violations(kmsRotationDeletionWindow, [withInputs(key, { enableKeyRotation: UNKNOWN })]);
    expect(found.map((v) => [v.enforcementLevel, v.resource, v.message])).toEqual([["advisory", key.urn, unknownNote("kms-rotation-deletion-window", "enableKeyRotation")]]);
  });
});
