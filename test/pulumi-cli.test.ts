// What the Pulumi CLI needs to run this program unchanged (`pulumi preview`, `pulumi up`), checked
// without the CLI: the project file, and index.ts loaded exactly as the CLI's language host loads it.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";
import Ajv2020 from "ajv/dist/2020";

const root = path.resolve(__dirname, "..");

describe("Pulumi CLI compatibility", () => {
  it("declares the project the CLI runs: name, Node.js runtime, TypeScript entry", () => {
    const project = load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as Record<string, unknown>;
    expect(project.name).toBe("gitops-platform");
    expect(project.runtime).toEqual({ name: "nodejs", options: { packagemanager: "npm" } });
    expect(project.main).toBe("index.ts");
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as Record<string, unknown>;
    // A "type": "module" package would need the ESM loader and .js import endings the CLI's ts-node lacks.
    expect(pkg.type).toBeUndefined();
  });

  it("writes Pulumi.yaml as the CLI's project schema accepts it", () => {
    const schema = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "pulumi", "project.schema.json"), "utf8")) as object;
    const validate = new Ajv2020({ strict: false, allErrors: true }).compile(schema);
    const project = load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
    expect(validate(project) ? [] : validate.errors).toEqual([]);
    // The check can fail: a config type the CLI does not know is refused.
    expect(validate({ name: "p", runtime: "nodejs", config: { x: { type: "object" } } })).toBe(false);
  });

  // pulumi/pulumi pkg/workspace/config.go, mergeConfig: a key of the project's namespace declared
  // with neither `default` nor `value` and absent from the stack file is "missing", typed or not,
  // and the CLI refuses to run the stack ("Stack '<stack>' is missing configuration ...").
  it("sets, in every stack file, each key the project declares without a default or value (the CLI requires them, typed or not)", () => {
    const project = load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { config: Record<string, { default?: unknown; value?: unknown }> };
    const required = Object.entries(project.config)
      .filter(([, declaration]) => declaration.default === undefined && declaration.value === undefined)
      .map(([key]) => `gitops-platform:${key}`);
    expect(required).toEqual(
      ["environment", "aws", "github", "firewall", "storage", "registry", "ci", "appSecrets", "reconciler", "notifications", "notificationsAppPrivateKey"].map(
        (key) => `gitops-platform:${key}`,
      ),
    );
    for (const stack of ["staging", "prod"]) {
      const file = load(fs.readFileSync(path.join(root, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
      for (const key of required) expect(file.config, `${stack}: ${key}`).toHaveProperty([key]);
    }
  });

  it("loads index.ts through the CLI's ts-node and finds the program function", () => {
    const run = spawnSync(process.execPath, [path.join(__dirname, "support", "pulumi-cli-load.cjs"), root], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ exportType: "function", transpileOnly: true });
  });
});
