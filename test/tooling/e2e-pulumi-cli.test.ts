// The Pulumi CLI check of the e2e (e2e/pulumi-cli.ts) replaces the shipped stack files' example
// values so that a preview under the real CLI gets past the program's refusal of them. Checked here
// without the CLI: the override leaves no example value and nothing else for the program to refuse.
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { findPlaceholders } from "../../components/config/placeholders";
import { overrideExamples } from "../../e2e/pulumi-cli";
import { loadStackConfig } from "../../tools/engine/stack-config";
import { configProblems, encodeConfig } from "../support/config";
import { STACKS } from "../support/stacks";

const root = path.resolve(__dirname, "..", "..");

/** The stack's config as the program receives it, from `text` standing in for Pulumi.<stack>.yaml. */
function configFrom(stack: string, text: string): ReturnType<typeof loadStackConfig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-pulumi-cli-"));
  try {
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    fs.writeFileSync(file, text);
    return loadStackConfig(root, stack, file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const projectValues = (config: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(config).filter(([key]) => key.startsWith("gitops-platform:")).map(([key, value]) => [key.slice("gitops-platform:".length), value]));

describe("e2e Pulumi CLI check: example-value override", () => {
  for (const stack of STACKS) {
    it(`${stack}: the shipped file is refused for its examples; overridden, nothing is refused`, () => {
      const shipped = fs.readFileSync(path.join(root, `Pulumi.${stack}.yaml`), "utf8");
      const before = configFrom(stack, shipped);
      expect(findPlaceholders(projectValues(before.config)).length).toBeGreaterThan(0);
      expect(configProblems({ stack, values: encodeConfig(before.config), secretKeys: before.secretKeys, refuseExamples: true })).toContainEqual(
        expect.stringMatching(/^gitops-platform:aws\.accountId: \d{12} is an example account id; /),
      );

      const after = configFrom(stack, overrideExamples(shipped));
      expect(findPlaceholders(projectValues(after.config))).toEqual([]);
      expect(configProblems({ stack, values: encodeConfig(after.config), secretKeys: after.secretKeys, refuseExamples: true })).toEqual([]);
      // Only values change: the same keys, the same secrets.
      expect(Object.keys(after.config).sort()).toEqual(Object.keys(before.config).sort());
      expect(after.secretKeys).toEqual(before.secretKeys);
    });
  }
});
