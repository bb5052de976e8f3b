// What the Pulumi CLI needs to run this program unchanged (`pulumi preview`, `pulumi up`), checked
// without the CLI: the project file, and index.ts loaded exactly as the CLI's language host loads it.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";
import Ajv2020 from "ajv/dist/2020";
import { parseConfig } from "../../components/config";
import { configProblems, encodeConfig } from "../support/config";
import { stackConfig } from "../support/reconciler";
import { STACKS } from "../support/stacks";

const root = path.resolve(__dirname, "..", "..");

describe("Pulumi CLI compatibility", () => {
  it("declares the project the CLI runs: name, Node.js runtime, TypeScript entry", () => {
    const project = load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as Record<string, unknown>;
    expect(project.name).toBe("gitops-platform");
    expect(project.runtime).toEqual({ name: "nodejs", options: { packagemanager: "npm", tsconfig: "tsconfig.pulumi.json" } });
    expect(project.main).toBe("index.ts");
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as Record<string, unknown>;
    // A "type": "module" package would need the ESM loader and .js import endings the CLI's ts-node lacks.
    expect(pkg.type).toBeUndefined();
  });

  it("writes Pulumi.yaml as the CLI's project schema accepts it", () => {
    const schema = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "fixtures", "pulumi", "project.schema.json"), "utf8")) as object;
    const validate = new Ajv2020({ strict: false, allErrors: true }).compile(schema);
    const project = load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
    expect(validate(project) ? [] : validate.errors).toEqual([]);
    // The check can fail: a config type the CLI does not know is refused.
    expect(validate({ name: "p", runtime: "nodejs", config: { x: { type: "object" } } })).toBe(false);
  });

  // pulumi/pulumi pkg/workspace/config.go, mergeConfig: a project-namespace key declared in
  // Pulumi.yaml with neither `default` nor `value`, and absent from the stack file, stops every
  // preview and up with "Stack '<stack>' is missing configuration values" — typed or not.
  const project = () => load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { config: Record<string, { type?: string; default?: unknown; value?: unknown }> };
  const cliRequired = () =>
    Object.entries(project().config)
      .filter(([, declaration]) => declaration.default === undefined && declaration.value === undefined)
      .map(([key]) => key);

  it("sets, in every stack file, each key the project declares without a default, typed or not (the CLI requires them)", () => {
    const required = cliRequired();
    expect(required.length).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const stack of STACKS) {
      const file = load(fs.readFileSync(path.join(root, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
      for (const key of required) if (!(`gitops-platform:${key}` in file.config)) missing.push(`${stack}: ${key}`);
    }
    expect(missing).toEqual([]);
  });

  it("declares without a default only keys the program itself requires: an optional key left out of a stack works under the CLI too", () => {
    const optional: string[] = [];
    for (const key of cliRequired()) {
      const { config, secretKeys } = stackConfig("staging");
      delete config[`gitops-platform:${key}`];
      if (!configProblems({ stack: "staging", values: encodeConfig(config), secretKeys }).some((problem) => problem.startsWith(`gitops-platform:${key}`))) optional.push(key);
    }
    expect(optional).toEqual([]);
  });

  it("declares defaults the program reads as it reads the key left out: the CLI hands them over when a stack omits the key", () => {
    const defaults = Object.entries(project().config).filter(([, declaration]) => declaration.default !== undefined);
    expect(defaults.map(([key]) => key)).toEqual(expect.arrayContaining(["storage", "registry", "appSecrets", "reconciler"]));
    for (const [key, declaration] of defaults) {
      const { config, secretKeys } = stackConfig("staging");
      config[`gitops-platform:${key}`] = declaration.default;
      const omitted = { ...config };
      delete omitted[`gitops-platform:${key}`];
      const outcome = (values: Record<string, unknown>) => {
        const problems = configProblems({ stack: "staging", values: encodeConfig(values), secretKeys });
        return problems.length > 0 ? problems : JSON.stringify(parseConfig({ stack: "staging", values: encodeConfig(values), secretKeys }));
      };
      expect(outcome(config), key).toEqual(outcome(omitted));
    }
  });

  it("leaves the notification secrets undeclared, so a stack without alerts (or without notifications) needs none of them", () => {
    const declared = Object.keys(project().config);
    expect(declared.filter((key) => key.startsWith("notifications") && key !== "notifications")).toEqual([]);
    const { config, secretKeys } = stackConfig("staging");
    expect(config["gitops-platform:notificationsAlertAddress"]).toBeUndefined();
    expect(configProblems({ stack: "staging", values: encodeConfig(config), secretKeys })).toEqual([]);
  });

  it("keeps the program independent of the offline tooling: components/ and index.ts import nothing from tools/", () => {
    const components = fs.readdirSync(path.join(root, "components"), { recursive: true, encoding: "utf8" }).filter((file) => file.endsWith(".ts"));
    const sources = ["index.ts", ...components.map((file) => path.join("components", file))];
    const offending = sources.filter((file) => /from\s+["'](\.\.?\/)+tools\//.test(fs.readFileSync(path.join(root, file), "utf8")));
    expect(offending).toEqual([]);
  });

  it("loads index.ts through the CLI's ts-node, with the tsconfig Pulumi.yaml names, transpile-only, and finds the program function", () => {
    // The language host passes runtime.options.tsconfig on as PULUMI_NODEJS_TSCONFIG_PATH.
    const { runtime } = load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { runtime: { options: { tsconfig: string } } };
    const env = { ...process.env, PULUMI_NODEJS_TSCONFIG_PATH: runtime.options.tsconfig };
    const run = spawnSync(process.execPath, [path.join(__dirname, "..", "support", "pulumi-cli-load.mts"), root], { encoding: "utf8", env });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ exportType: "function", tsconfig: "tsconfig.pulumi.json", transpileOnly: true });
  });
});

describe("type checking", () => {
  // A file with a type error, compiled by `tsc -p` with a config that extends the project's
  // tsconfig.json and only names that file: the project's settings report it; the CLI's
  // (tsconfig.pulumi.json, transpile-only) do not.
  const planted = (base: string) => {
    const dir = fs.mkdtempSync(path.join(root, "node_modules", ".cache", "tsc-planted-"));
    try {
      fs.writeFileSync(path.join(dir, "planted.ts"), 'export const port: number = "8080";\n');
      const config = { extends: path.join(root, base), compilerOptions: { rootDir: "." }, files: ["planted.ts"], include: [] };
      fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify(config));
      const tsc = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", dir, "--pretty", "false"], { cwd: dir, encoding: "utf8" });
      return { status: tsc.status, output: tsc.stdout + tsc.stderr };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  it("tsc -p . with the project's tsconfig.json reports a planted type error", () => {
    expect(planted("tsconfig.json")).toEqual({ status: 2, output: "planted.ts(1,14): error TS2322: Type 'string' is not assignable to type 'number'.\n" });
  });

  it("the CLI's tsconfig.pulumi.json only transpiles: the same file passes", () => {
    expect(planted("tsconfig.pulumi.json")).toEqual({ status: 0, output: "" });
  });
});
