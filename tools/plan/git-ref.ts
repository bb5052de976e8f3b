/**
 * A revision of the project checked out in a temporary `git worktree`, for `plan --diff <ref>`.
 * The checkout shares the repository's objects (nothing is cloned or fetched) and uses the working
 * tree's node_modules; it is removed when the work ends, whether it succeeded, failed or was
 * interrupted.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PlanError } from "./errors";

function git(cwd: string, args: readonly string[]): { ok: boolean; out: string; err: string } {
  const run = spawnSync("git", args, { cwd, encoding: "utf8" });
  if (run.error) throw new PlanError(`--diff: git is not available (${run.error.message})`, 2);
  return { ok: run.status === 0, out: run.stdout.trim(), err: run.stderr.trim() };
}

/**
 * Runs `work` with the project directory of `ref` checked out (the same subdirectory of the
 * repository as `projectDir`); always removes the checkout afterwards.
 */
export async function withRevision<T>(projectDir: string, ref: string, work: (dir: string, commit: string) => Promise<T>): Promise<T> {
  const top = git(projectDir, ["rev-parse", "--show-toplevel"]);
  if (!top.ok) throw new PlanError(`--diff ${ref}: ${projectDir} is not in a git repository`, 2);
  if (ref.startsWith("-")) throw new PlanError(`--diff: expected a git revision, got ${JSON.stringify(ref)}`, 2);
  const commit = git(projectDir, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  if (!commit.ok) throw new PlanError(`--diff ${ref}: no such commit in this repository (a branch, tag or commit, e.g. origin/main)`, 2);

  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "gitops-platform-plan-base-"));
  const tree = path.join(scratch, "tree");
  const cleanup = () => {
    git(top.out, ["worktree", "remove", "--force", tree]);
    fs.rmSync(scratch, { recursive: true, force: true });
    git(top.out, ["worktree", "prune"]);
  };
  // An interrupted run still removes its checkout, then ends as the signal asks.
  const onSignal = (signal: NodeJS.Signals) => {
    cleanup();
    process.kill(process.pid, signal);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const added = git(top.out, ["worktree", "add", "--detach", "--quiet", tree, commit.out]);
    if (!added.ok) throw new PlanError(`--diff ${ref}: git worktree add failed: ${added.err}`, 2);
    const dir = path.join(tree, path.relative(fs.realpathSync(top.out), fs.realpathSync(projectDir)));
    const modules = path.join(projectDir, "node_modules");
    if (fs.existsSync(modules) && !fs.existsSync(path.join(dir, "node_modules"))) fs.symlinkSync(modules, path.join(dir, "node_modules"), "dir");
    return await work(dir, commit.out);
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    cleanup();
  }
}
