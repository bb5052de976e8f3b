/**
 * Review: the real Pulumi CLI refuses to run a stack that lacks a value for any project-namespace
 * key Pulumi.yaml declares without a default — typed or not (pulumi/pulumi
 * sdk/go/common/workspace/config.go mergeConfig: `!foundOnStack && !hasValue && !hasDefault &&
 * key.Namespace() == projectName` -> "Stack 'x' is missing configuration values ..."). The
 * notification secrets are declared that way, and the program refuses them when they are unused.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { configProblems, encodeConfig } from "./support/config";
import { ROOT, stackConfig } from "./support/reconciler";

const NOTIFICATION_KEYS = ["notificationsAppPrivateKey", "notificationsAlertAddress", "notificationsAlertHmacKey"];

describe("review: the notification secrets under the real CLI", () => {
  it("every notification key Pulumi.yaml declares without a default is set in each stack file (else the CLI stops before the program runs)", () => {
    const project = load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { config: Record<string, { default?: unknown; value?: unknown }> };
    const missing: string[] = [];
    for (const stack of ["staging", "prod"]) {
      const file = load(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
      for (const key of NOTIFICATION_KEYS) {
        const declared = project.config[key];
        if (declared && declared.default === undefined && declared.value === undefined && !(`gitops-platform:${key}` in file.config)) missing.push(`${stack}: ${key}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("staging accepts the notificationsAlertHmacKey value the CLI demands (it refuses it as unused)", () => {
    const { config, secretKeys } = stackConfig("staging");
    const values = encodeConfig({ ...config, "gitops-platform:notificationsAlertHmacKey": "k".repeat(32), "gitops-platform:notificationsAlertAddress": "https://hooks.example.com/x" });
    const problems = configProblems({
      stack: "staging",
      values,
      secretKeys: [...secretKeys, "gitops-platform:notificationsAlertHmacKey", "gitops-platform:notificationsAlertAddress"],
    });
    expect(problems.filter((p) => p.includes("notificationsAlert"))).toEqual([]);
  });
});
