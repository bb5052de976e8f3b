import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { MANIFEST_ENCRYPTED_REGEX, sopsConfigText, sopsCreationRules, type SopsCreationRule } from "../../tools/generate/sops-config";

const ROOT = path.resolve(__dirname, "..", "..");
const STAGING_KEY = "arn:aws:kms:eu-west-1:111111111111:alias/gitops-platform/staging/app-secrets";
const PROD_KEY = "arn:aws:kms:eu-west-1:222222222222:alias/gitops-platform/prod/app-secrets";

/** A copy of the project's stack files with `edit` applied to a stack file's text. */
function project(edit: (stack: string, text: string) => string = (_stack, text) => text): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sops-config-"));
  fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  for (const stack of ["staging", "prod"]) {
    fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), edit(stack, fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")));
  }
  return dir;
}

/** The rule sops picks for a file: the first whose path_regex matches. */
const ruleFor = (rules: readonly SopsCreationRule[], file: string) => rules.find((rule) => new RegExp(rule.path_regex).test(file));

describe(".sops.yaml", () => {
  it("ships up to date with the stack config (npm run sops-config -- --write)", () => {
    expect(fs.readFileSync(path.join(ROOT, ".sops.yaml"), "utf8")).toBe(sopsConfigText(ROOT));
  });

  it("maps each environment's deploy path to that environment's key alias; manifests keep their metadata readable", () => {
    expect(sopsCreationRules(ROOT)).toEqual([
      { path_regex: "(^|/)deploy/prod/(.*/)?secret-sources/", kms: PROD_KEY },
      { path_regex: "(^|/)deploy/prod/.*\\.ya?ml$", kms: PROD_KEY, encrypted_regex: MANIFEST_ENCRYPTED_REGEX },
      { path_regex: "(^|/)deploy/prod/", kms: PROD_KEY },
      { path_regex: "(^|/)deploy/staging/(.*/)?secret-sources/", kms: STAGING_KEY },
      { path_regex: "(^|/)deploy/staging/.*\\.ya?ml$", kms: STAGING_KEY, encrypted_regex: MANIFEST_ENCRYPTED_REGEX },
      { path_regex: "(^|/)deploy/staging/", kms: STAGING_KEY },
    ]);
    expect((load(sopsConfigText(ROOT)) as { creation_rules: unknown[] }).creation_rules).toEqual(sopsCreationRules(ROOT));
  });

  it("picks the right key for paths as sops sees them (relative to the config, or as given), and none elsewhere", () => {
    const rules = sopsCreationRules(ROOT);
    expect(ruleFor(rules, "deploy/staging/db.yaml")).toEqual({ path_regex: "(^|/)deploy/staging/.*\\.ya?ml$", kms: STAGING_KEY, encrypted_regex: MANIFEST_ENCRYPTED_REGEX });
    expect(ruleFor(rules, "/home/dev/orders/deploy/prod/db.yml")?.kms).toBe(PROD_KEY);
    // Other files (a secretGenerator's .env) are encrypted whole: an encrypted_regex would leave their keys in the clear.
    expect(ruleFor(rules, "deploy/prod/db.env")).toEqual({ path_regex: "(^|/)deploy/prod/", kms: PROD_KEY });
    // secretGenerator sources, YAML included, are encrypted whole: the manifests' encrypted_regex would leave a YAML source in plaintext.
    expect(ruleFor(rules, "deploy/staging/secret-sources/app.yaml")).toEqual({ path_regex: "(^|/)deploy/staging/(.*/)?secret-sources/", kms: STAGING_KEY });
    expect(ruleFor(rules, "/home/dev/orders/deploy/prod/api/secret-sources/keys.json")?.encrypted_regex).toBeUndefined();
    for (const elsewhere of ["deploy/staging-old/db.yaml", "mydeploy/staging/db.yaml", "clusters/staging/db.yaml", "db.yaml"]) expect(ruleFor(rules, elsewhere), elsewhere).toBeUndefined();
  });

  it("follows a custom app path, escaped, and lists a path shared by apps once", () => {
    const dir = project((stack, text) =>
      stack === "staging" ? text.replace("      path: deploy/staging\n      imageAutomation", "      path: apps/orders.v2/staging\n      imageAutomation") : text,
    );
    const staging = sopsCreationRules(dir).filter((rule) => rule.kms === STAGING_KEY);
    expect(staging.map((rule) => rule.path_regex)).toEqual([
      "(^|/)apps/orders\\.v2/staging/(.*/)?secret-sources/",
      "(^|/)apps/orders\\.v2/staging/.*\\.ya?ml$",
      "(^|/)apps/orders\\.v2/staging/",
      "(^|/)deploy/staging/(.*/)?secret-sources/",
      "(^|/)deploy/staging/.*\\.ya?ml$",
      "(^|/)deploy/staging/",
    ]);
    expect(ruleFor(staging, "apps/ordersXv2/staging/db.yaml")).toBeUndefined();
  });

  it("refuses one path for two environments' keys", () => {
    const dir = project((stack, text) => (stack === "prod" ? text.replaceAll("path: deploy/prod", "path: deploy/staging") : text));
    expect(() => sopsCreationRules(dir)).toThrow("gitops-platform:apps: path deploy/staging is a deploy path of both prod and staging; a path can name only one environment's key");
  });

  it("refuses a stack config that does not validate, with the config's own problems", () => {
    const dir = project((stack, text) => (stack === "staging" ? text.replace('accountId: "111111111111"', 'accountId: "1111"') : text));
    expect(() => sopsCreationRules(dir)).toThrow("gitops-platform:aws.accountId: expected a 12-digit AWS account id as a string");
  });
});
