// The TypeScript that Node 24 runs as it is (the launchers, the delivery runtime the workflows run,
// the CLI-load probe): every .mts file is strippable, and the entry points really run under Node,
// as the workflows and npm scripts start them.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { stripTypeScriptTypes } from "node:module";
import * as os from "node:os";
import * as path from "node:path";

const root = path.resolve(__dirname, "..", "..");

/** Every .mts file of the project, outside node_modules. */
function nativeFiles(): string[] {
  return ["tools", "test"]
    .flatMap((dir) => fs.readdirSync(path.join(root, dir), { recursive: true, encoding: "utf8" }).map((file) => path.join(dir, file)))
    .filter((file) => file.endsWith(".mts") && !file.split(path.sep).includes("node_modules"))
    .sort();
}

function node(args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", env: { ...process.env, ...env } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("TypeScript that Node 24 runs as it is", () => {
  it("is erasable syntax only: Node's own type stripping accepts every .mts file", () => {
    const files = nativeFiles();
    expect(files).toEqual(expect.arrayContaining(["tools/ci/delivery/main.mts", "tools/ci/delivery/drift.mts", "tools/plan/cli.mts", "tools/build/test.mts"]));
    const refused = files.filter((file) => {
      try {
        stripTypeScriptTypes(fs.readFileSync(path.join(root, file), "utf8"), { mode: "strip" });
        return false;
      } catch {
        return true;
      }
    });
    expect(refused).toEqual([]);
  });

  it("Node's type stripping does refuse what is not erasable (the check above can fail)", () => {
    expect(() => stripTypeScriptTypes("enum Color { Red }\n", { mode: "strip" })).toThrow(/TypeScript enum is not supported in strip-only mode/);
  });

  it("the delivery runtime runs as the workflows start it: `node tools/ci/delivery/main.mts <command>`", () => {
    expect(node(["tools/ci/delivery/main.mts", "stack-settings", "--stack", "staging", "--role", "preview"], { VARS: "{}", GITHUB_OUTPUT: "", GITHUB_STEP_SUMMARY: "" })).toEqual({
      status: 1,
      stdout: "",
      stderr:
        "::error::repository variable PULUMI_BACKEND_URL_STAGING is not set: expected s3://<state bucket>?region=<region> (docs/delivery.md)\n" +
        "::error::repository variable AWS_PREVIEW_ROLE_ARN_STAGING (stack output previewRoleArn of staging) is not set\n",
    });
    expect(node(["tools/ci/delivery/main.mts", "unknown-command"]).status).toBe(2);
  });

  it("the drift workflow's github-script loads syncDriftIssue with require(), as Node 24 loads the module", () => {
    const script = `const { syncDriftIssue, DRIFT_LABEL } = require(${JSON.stringify(path.join(root, "tools", "ci", "delivery", "drift.mts"))}); process.stdout.write(typeof syncDriftIssue + " " + DRIFT_LABEL);`;
    expect(node(["-e", script])).toEqual({ status: 0, stdout: "function drift", stderr: "" });
  });

  it("every github-script's module loads with require() from a sparse checkout of tools/ci/delivery alone (no npm install)", ({ onTestFinished }) => {
    const workspace = fs.mkdtempSync(path.join(os.tmpdir(), "github-script-"));
    onTestFinished(() => fs.rmSync(workspace, { recursive: true, force: true }));
    const tooling = path.join(workspace, "tooling", "tools", "ci", "delivery");
    fs.cpSync(path.join(root, "tools", "ci", "delivery"), tooling, { recursive: true });
    const modules = { "drift.mts": "syncDriftIssue", "preview.mts": "syncPreviewComment", "promote.mts": "syncPromotionPullRequest", "automation.mts": "syncAutomationPullRequest" };
    const script = `process.stdout.write(JSON.stringify(${JSON.stringify(Object.entries(modules))}.map(([file, name]) => typeof require(require("node:path").join(${JSON.stringify(tooling)}, file))[name])));`;
    expect(spawnSync(process.execPath, ["-e", script], { cwd: workspace, encoding: "utf8" })).toMatchObject({ status: 0, stdout: '["function","function","function","function"]', stderr: "" });
    // The check can fail: a module importing a package finds none in that checkout.
    fs.appendFileSync(path.join(tooling, "promote.mts"), 'import "js-yaml";\n');
    const bent = spawnSync(process.execPath, ["-e", script], { cwd: workspace, encoding: "utf8" });
    expect(bent.status).toBe(1);
    expect(bent.stderr).toContain("Cannot find package 'js-yaml'");
  });
});
