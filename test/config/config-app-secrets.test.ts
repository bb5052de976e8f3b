import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../components/config";
import { loadStackConfig } from "../../tools/engine";
import { configProblems, encodeConfig } from "../support/config";

const root = path.resolve(__dirname, "..", "..");
const KEY = "gitops-platform:appSecrets";

/** A stack's shipped config with `appSecrets` replaced (undefined: left out). */
function raw(stack: "staging" | "prod", appSecrets: unknown) {
  const loaded = loadStackConfig(root, stack);
  const values: Record<string, unknown> = structuredClone(loaded.config);
  if (appSecrets === undefined) delete values[KEY];
  else values[KEY] = appSecrets;
  return { stack, values: encodeConfig(values), secretKeys: loaded.secretKeys };
}

const person = "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AppTeam_0123456789abcdef";

describe("config: appSecrets", () => {
  it("uses the correct default values: a 30-day window, CI roles encrypt, no other encrypters or administrators", () => {
    expect(parseConfig(raw("staging", undefined)).appSecrets).toEqual({ deletionWindowDays: 30, ciRolesEncrypt: true, encrypters: [], administrators: [] });
  });

  it("accepts named roles and users of the stack's account", () => {
    const config = parseConfig(raw("staging", { encrypters: [person, "arn:aws:iam::111111111111:user/alice"], administrators: ["arn:aws:iam::111111111111:role/break-glass"] }));
    expect(config.appSecrets.encrypters).toEqual([person, "arn:aws:iam::111111111111:user/alice"]);
    expect(config.appSecrets.administrators).toEqual(["arn:aws:iam::111111111111:role/break-glass"]);
  });

  it("refuses wildcards, account roots, other kinds of ARN and unknown keys", () => {
    const expectation = "expected an IAM role or user ARN such as arn:aws:iam::111111111111:role/app-team (no wildcards, not an account root)";
    expect(
      configProblems(
        raw("staging", {
          encrypters: ["arn:aws:iam::111111111111:role/*", "arn:aws:iam::111111111111:root", "arn:aws:iam::111111111111:group/devs", "*"],
          administrators: ["111111111111"],
          decrypters: [person],
        }),
      ),
    ).toEqual([
      `gitops-platform:appSecrets.encrypters[0]: ${expectation}`,
      `gitops-platform:appSecrets.encrypters[1]: ${expectation}`,
      `gitops-platform:appSecrets.encrypters[2]: ${expectation}`,
      `gitops-platform:appSecrets.encrypters[3]: ${expectation}`,
      `gitops-platform:appSecrets.administrators[0]: ${expectation}`,
      "gitops-platform:appSecrets.decrypters: unknown key (check for a typo)",
    ]);
  });

  it("refuses principals of another account and the same principal twice", () => {
    expect(
      configProblems(raw("staging", { encrypters: [person, "arn:aws:iam::999999999999:role/other", person], administrators: ["arn:aws:iam::222222222222:role/admin"] })),
    ).toEqual([
      "gitops-platform:appSecrets.encrypters[1]: arn:aws:iam::999999999999:role/other is in account 999999999999, not aws.accountId 111111111111; the key policy names principals of the stack's account only",
      `gitops-platform:appSecrets.encrypters[2]: ${person} is already appSecrets.encrypters[0]`,
      "gitops-platform:appSecrets.administrators[0]: arn:aws:iam::222222222222:role/admin is in account 222222222222, not aws.accountId 111111111111; the key policy names principals of the stack's account only",
    ]);
  });

  it("refuses a deletion window outside 7-30 days, and under 30 in production", () => {
    expect(configProblems(raw("staging", { deletionWindowDays: 3 }))).toEqual(["gitops-platform:appSecrets.deletionWindowDays: expected 7 to 30 days"]);
    expect(parseConfig(raw("staging", { deletionWindowDays: 7 })).appSecrets.deletionWindowDays).toBe(7);
    expect(configProblems(raw("prod", { deletionWindowDays: 7 }))).toEqual([
      "gitops-platform:appSecrets.deletionWindowDays: production keeps a deleted SOPS key for 30 days (every committed secret depends on it), got 7",
    ]);
  });

  it("refuses a key nobody could encrypt with", () => {
    expect(configProblems(raw("staging", { ciRolesEncrypt: false, encrypters: [] }))).toEqual([
      "gitops-platform:appSecrets.encrypters: nobody could encrypt app secrets; list at least one principal or set appSecrets.ciRolesEncrypt to true",
    ]);
    expect(parseConfig(raw("staging", { ciRolesEncrypt: false, encrypters: [person] })).appSecrets.ciRolesEncrypt).toBe(false);
  });

  it("refuses a ciRolesEncrypt that is not a boolean", () => {
    expect(configProblems(raw("staging", { ciRolesEncrypt: "yes" }))).toEqual(['gitops-platform:appSecrets.ciRolesEncrypt: expected a boolean, got "yes"']);
  });
});
