// .ci/run installs the pinned Node 24 only when it is missing or another version, not on every run,
// installs the workflow linters and requires them, then runs the tests and the e2e (which accepts
// only BLOCKED scenarios besides passes).
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const root = path.resolve(__dirname, "..", "..");
const olderNode = ["/usr/bin/node", "/bin/node", "/usr/local/bin/node"].find(
  (file) => fs.existsSync(file) && Number(spawnSync(file, ["-p", "process.versions.node.split('.')[0]"], { encoding: "utf8" }).stdout.trim()) < 24,
);
const pinned = (JSON.parse(fs.readFileSync(path.join(root, "tools", "build", "node24", "package.json"), "utf8")) as { dependencies: { node: string } }).dependencies.node;

/** Runs a copy of .ci/run in a scratch project whose tools/build/node24 holds a Node reporting `installed`, if any. */
function ciRun(installed: string | undefined, onTestFinished: (fn: () => void) => void): { status: number | null; stderr: string; calls: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ci-run-"));
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, ".ci"));
  fs.copyFileSync(path.join(root, ".ci", "run"), path.join(dir, ".ci", "run"));
  fs.mkdirSync(path.join(dir, "tools", "build", "node24", "node_modules", ".bin"), { recursive: true });
  fs.copyFileSync(path.join(root, "tools", "build", "node24", "package.json"), path.join(dir, "tools", "build", "node24", "package.json"));
  if (installed) fs.writeFileSync(path.join(dir, "tools", "build", "node24", "node_modules", ".bin", "node"), `#!/bin/sh\necho ${installed}\n`, { mode: 0o755 });
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  // npm records its arguments, and whether the linters are required and on PATH, instead of
  // installing or testing; the linter installer records its call and names a directory; node is the
  // machine's older one.
  const calls = path.join(dir, "calls.txt");
  const linters = path.join(dir, "linters-bin");
  fs.mkdirSync(path.join(dir, "tools", "build", "linters"));
  fs.writeFileSync(path.join(dir, "tools", "build", "linters", "install.sh"), `echo "install linters" >> "${calls}"\necho "${linters}"\n`);
  fs.writeFileSync(path.join(bin, "npm"), `#!/bin/sh\necho "$* [\${GITOPS_REQUIRE_LINTERS:-}] [\${PATH%%:*}]" >> "${calls}"\n`, { mode: 0o755 });
  fs.symlinkSync(olderNode as string, path.join(bin, "node"));
  // Not inherited: this test itself runs under .ci/run, which sets it.
  const env = { ...process.env, PATH: `${bin}:/usr/bin:/bin`, GITOPS_REQUIRE_LINTERS: undefined };
  const run = spawnSync("bash", [path.join(dir, ".ci", "run")], { encoding: "utf8", env });
  const recorded = fs.readFileSync(calls, "utf8").replaceAll(linters, "LINTERS").replaceAll(path.join(dir, "tools", "build", "node24", "node_modules", ".bin"), "NODE24").replaceAll(bin, "BIN");
  return { status: run.status, stderr: run.stderr, calls: recorded };
}

describe.skipIf(olderNode === undefined)(".ci/run on a machine whose Node is older than 24", () => {
  it("reuses the pinned Node already installed: only npm ci, npm test and the e2e", ({ onTestFinished }) => {
    expect(ciRun(`v${pinned}`, onTestFinished)).toEqual({
      status: 0,
      stderr: "",
      calls: "--version [] [NODE24]\ninstall linters\nci --no-audit --no-fund [1] [LINTERS]\ntest [1] [LINTERS]\nrun e2e -- --allow-blocked [1] [LINTERS]\n",
    });
  });

  it("installs the pinned Node when it is missing or another version", ({ onTestFinished }) => {
    const install =
      "ci --prefix tools/build/node24 --no-audit --no-fund --loglevel=error [] [BIN]\n--version [] [NODE24]\ninstall linters\nci --no-audit --no-fund [1] [LINTERS]\ntest [1] [LINTERS]\nrun e2e -- --allow-blocked [1] [LINTERS]\n";
    expect(ciRun(undefined, onTestFinished)).toEqual({ status: 0, stderr: "", calls: install });
    expect(ciRun("v24.0.0", onTestFinished)).toEqual({ status: 0, stderr: "", calls: install });
  });
});
