/**
 * The two external workflow linters `npm test` runs (tools/build/lint-workflows.mts): skipped with a
 * notice where they are not installed, but failing under GITOPS_REQUIRE_LINTERS=1, which .ci/run sets
 * after tools/build/linters/install.sh installed them; zizmor's pin is one version everywhere; and
 * shellcheck reads every tracked shell script, whatever its name.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { load } from "js-yaml";
import { EXACT_VERSION } from "../../policies/vocabulary";

const root = path.resolve(__dirname, "..", "..");
const linter = path.join(root, "tools", "build", "lint-workflows.mts");
const requirements = fs.readFileSync(path.join(root, "tools", "build", "linters", "zizmor.requirements.txt"), "utf8");
const pinned = /^zizmor==(\d+\.\d+\.\d+)/m.exec(requirements)?.[1];
const hasShellcheck = spawnSync("shellcheck", ["--version"]).status === 0;

function scratch(onTestFinished: (fn: () => void) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "linters-"));
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function lint(command: string, env: Record<string, string | undefined>, ...args: string[]) {
  const run = spawnSync(process.execPath, [linter, command, ...args], { encoding: "utf8", env: { ...process.env, GITOPS_REQUIRE_LINTERS: undefined, ...env } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("shellcheck and zizmor in npm test", () => {
  it("a linter that is not installed is skipped with a notice, or fails when CI requires it", ({ onTestFinished }) => {
    const empty = scratch(onTestFinished);
    expect(lint("shellcheck", { PATH: empty })).toEqual({ status: 0, stdout: "shellcheck: not installed, skipped (Debian: apt-get install shellcheck)\n", stderr: "" });
    expect(lint("zizmor", { PATH: empty })).toEqual({ status: 0, stdout: `zizmor: not installed, skipped (pip install zizmor==${pinned})\n`, stderr: "" });
    for (const name of ["shellcheck", "zizmor"]) {
      expect(lint(name, { PATH: empty, GITOPS_REQUIRE_LINTERS: "1" })).toEqual({
        status: 1,
        stdout: "",
        stderr: `${name}: not installed, and GITOPS_REQUIRE_LINTERS=1 requires it (bash tools/build/linters/install.sh installs it)\n`,
      });
    }
  });

  it("a zizmor other than the pinned one is named, and refused when CI requires the linters", ({ onTestFinished }) => {
    const bin = scratch(onTestFinished);
    // Reports an old version and finds nothing.
    fs.writeFileSync(path.join(bin, "zizmor"), '#!/bin/sh\n[ "$1" = --version ] && echo "zizmor 1.0.0"\nexit 0\n', { mode: 0o755 });
    const loose = lint("zizmor", { PATH: bin });
    expect(loose.status).toBe(0);
    expect(loose.stdout).toContain(`zizmor: 1.0.0 installed, the workflows pin ${pinned}\n`);
    expect(lint("zizmor", { PATH: bin, GITOPS_REQUIRE_LINTERS: "1" })).toEqual({
      status: 1,
      stdout: "",
      stderr: `zizmor: 1.0.0 installed, GITOPS_REQUIRE_LINTERS=1 requires the pinned ${pinned}\n`,
    });
  });

  it("the preview workflow and the CI installer pin the same zizmor, every wheel by hash", () => {
    const preview = load(fs.readFileSync(path.join(root, ".github", "workflows", "preview.yml"), "utf8")) as { jobs: Record<string, { steps: { run?: string }[] }> };
    const runs = Object.values(preview.jobs).flatMap((job) => job.steps.map((step) => step.run ?? ""));
    const specs = runs.flatMap((run) => [...run.matchAll(/--spec zizmor==(\S+)/g)].map((match) => match[1]));
    expect(pinned).toMatch(EXACT_VERSION);
    expect(specs).toEqual([pinned]);
    // pip --require-hashes installs nothing without a hash, and each published wheel has its own.
    expect(requirements.match(/--hash=sha256:[0-9a-f]{64}/g)?.length).toBeGreaterThanOrEqual(1);
    expect(requirements).not.toMatch(/^(?!#|zizmor==|\s+--hash=)\S/m);
  });

  // CI installs shellcheck and requires it, so there this case always runs.
  it.skipIf(!hasShellcheck && process.env.GITOPS_REQUIRE_LINTERS !== "1")("shellcheck reads every tracked shell script, by name or by shebang, and nothing untracked", ({ onTestFinished }) => {
    const dir = scratch(onTestFinished);
    const git = (...args: string[]) => expect(spawnSync("git", ["-C", dir, ...args], { encoding: "utf8" }).status).toBe(0);
    git("init", "-q");
    // Each script uses an unquoted variable (SC2086); the untracked one and the text file are not read.
    fs.mkdirSync(path.join(dir, "scripts"));
    fs.writeFileSync(path.join(dir, "scripts", "release"), '#!/usr/bin/env bash\nrm -rf $1\n');
    fs.writeFileSync(path.join(dir, "setup.sh"), 'rm -rf $1\n');
    fs.writeFileSync(path.join(dir, "notes.txt"), 'rm -rf $1\n');
    fs.writeFileSync(path.join(dir, "local.sh"), 'rm -rf $1\n');
    git("add", "scripts/release", "setup.sh", "notes.txt");
    const run = lint("shellcheck", {}, "--root", dir);
    expect(run.status).toBe(1);
    expect(run.stdout.match(/^-- .*$/gm)).toEqual(["-- scripts/release", "-- setup.sh"]);
    expect(run.stdout).toContain("SC2086");
    expect(run.stderr).toBe("shellcheck: 2 script(s) with findings\n");
  });
});
