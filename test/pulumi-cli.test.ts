// What the Pulumi CLI needs to run this program unchanged (`pulumi preview`, `pulumi up`), checked
// without the CLI: the project file, and index.ts loaded exactly as the CLI's language host loads it.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";

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

  it("loads index.ts through the CLI's ts-node and finds the program function", () => {
    const run = spawnSync(process.execPath, [path.join(__dirname, "support", "pulumi-cli-load.cjs"), root], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ exportType: "function", transpileOnly: true });
  });
});
