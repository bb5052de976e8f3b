// The config repository as real git repositories in a temp dir: a bare "origin" standing in for
// GitHub (pull requests merged server-side with a merge commit, as the rulesets require) and
// image-automation-controller's way of choosing the tree it updates. Used by the tests of the image
// tag flow; nothing here runs in the product.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { STACKS } from "./stacks";

const root = path.resolve(__dirname, "..", "..");

/** Git with a fixed identity and no user or system config: the same commits on every machine. */
export const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "dev",
  GIT_AUTHOR_EMAIL: "dev@users.noreply.github.com",
  GIT_COMMITTER_NAME: "dev",
  GIT_COMMITTER_EMAIL: "dev@users.noreply.github.com",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, env: GIT_ENV, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

export function gitOk(cwd: string, ...args: string[]): boolean {
  try {
    git(cwd, ...args);
    return true;
  } catch {
    return false;
  }
}

/** The environment branches: guarded by rulesets (no direct push, no deletion). */
const GUARDED = new Set(STACKS);

/** The tag file of an app in the shipped config repository content. */
export const tagFile = (app: string) => `clusters/base/${app}-image.yaml`;

/** The tag an app's file holds. */
export function tagOf(text: string): string {
  const match = /IMAGE_TAG: "([^"]*)"/.exec(text);
  if (!match?.[1]) throw new Error(`no IMAGE_TAG in ${text}`);
  return match[1];
}

/** An edit that sets the app's tag line, keeping any marker on it. */
export const setTag = (tag: string) => (text: string) => text.replace(/IMAGE_TAG: "[^"]*"/, `IMAGE_TAG: "${tag}"`);

export interface ForgeOptions {
  /** GitHub's "Automatically delete head branches" (never deletes a guarded branch: rulesets forbid deletion). */
  readonly deleteHeadOnMerge: boolean;
}

/** A config repository on a forge, seeded with the shipped `clusters/`; `staging` and `prod` start equal. */
export class ConfigRepo {
  readonly dir: string;
  readonly origin: string;
  private readonly work: string;

  constructor(private readonly options: ForgeOptions) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "config-repo-"));
    this.origin = path.join(this.dir, "origin.git");
    this.work = path.join(this.dir, "work");
    git(this.dir, "init", "--quiet", "--bare", "--initial-branch=staging", this.origin);
    git(this.dir, "clone", "--quiet", this.origin, this.work);
    git(this.work, "checkout", "--quiet", "-b", "staging");
    fs.cpSync(path.join(root, "clusters"), path.join(this.work, "clusters"), { recursive: true });
    git(this.work, "add", "--all");
    git(this.work, "commit", "--quiet", "-m", "config repository");
    git(this.work, "push", "--quiet", "origin", "HEAD:refs/heads/staging", "HEAD:refs/heads/prod");
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  has(branch: string): boolean {
    return gitOk(this.origin, "rev-parse", "--quiet", "--verify", `refs/heads/${branch}`);
  }

  read(branch: string, file: string): string {
    return git(this.origin, "show", `${branch}:${file}`);
  }

  /** A person's change: a branch cut from `from`, `files` edited, pushed (never to a guarded branch). */
  change(branch: string, from: string, files: Record<string, (old: string) => string>): void {
    if (GUARDED.has(branch)) throw new Error(`push to ${branch} refused: changes must be made through a pull request`);
    this.commitOn(branch, from, files, "change");
    git(this.work, "push", "--quiet", "--force", "origin", `HEAD:refs/heads/${branch}`);
  }

  /**
   * One run of an ImageUpdateAutomation with a push branch, as image-automation-controller v1.0.3
   * does it: all branch heads are cloned (feature gate GitAllBranchReferences, default on,
   * internal/features/features.go) and the controller switches to the push branch when it exists
   * remotely, else creates it from the checkout branch (internal/source/source.go CheckoutSource,
   * fluxcd/pkg git/gogit v0.41.0 SwitchBranch); the Setters strategy rewrites only marked lines of
   * the policies it selects; a commit is made only when something changed, and force-pushed
   * (GitForcePushBranch). Returns whether it pushed.
   */
  automate(pushBranch: string, checkout: string, policies: Record<string, string>): boolean {
    const from = this.has(pushBranch) ? pushBranch : checkout;
    git(this.work, "fetch", "--quiet", "--prune", "origin");
    git(this.work, "checkout", "--quiet", "-B", pushBranch, `origin/${from}`);
    let changed = false;
    for (const file of fs.readdirSync(path.join(this.work, "clusters", "base"))) {
      const target = path.join(this.work, "clusters", "base", file);
      const old = fs.readFileSync(target, "utf8");
      let text = old;
      for (const [policy, tag] of Object.entries(policies)) {
        text = text.replace(new RegExp(`^(\\s*IMAGE_TAG: )"[^"]*"( # \\{"\\$imagepolicy": "${policy}:tag"\\})$`, "m"), `$1"${tag}"$2`);
      }
      if (text !== old) {
        fs.writeFileSync(target, text);
        changed = true;
      }
    }
    if (!changed) return false;
    git(this.work, "commit", "--quiet", "-am", "Update from image update automation");
    git(this.work, "push", "--quiet", "--force", "origin", `HEAD:refs/heads/${pushBranch}`);
    return true;
  }

  /** Merges the pull request `head` → `base` with a merge commit, server-side; throws on conflict. */
  merge(head: string, base: string): void {
    const [headSha, baseSha] = [git(this.origin, "rev-parse", `refs/heads/${head}`), git(this.origin, "rev-parse", `refs/heads/${base}`)];
    let tree: string;
    try {
      tree = git(this.origin, "merge-tree", "--write-tree", baseSha, headSha).split("\n")[0] as string;
    } catch (error) {
      const conflicts = String((error as { stdout?: string }).stdout ?? "")
        .split("\n")
        .filter((line) => line.startsWith("CONFLICT"));
      throw new Error(`pull request ${head} -> ${base}: merge conflict: ${conflicts.join("; ")}`);
    }
    const sha = git(this.origin, "commit-tree", tree, "-p", baseSha, "-p", headSha, "-m", `Merge ${head} into ${base}`);
    git(this.origin, "update-ref", `refs/heads/${base}`, sha, baseSha);
    if (this.options.deleteHeadOnMerge && !GUARDED.has(head)) git(this.origin, "update-ref", "-d", `refs/heads/${head}`);
  }

  private commitOn(branch: string, from: string, files: Record<string, (old: string) => string>, message: string): void {
    git(this.work, "fetch", "--quiet", "--prune", "origin");
    git(this.work, "checkout", "--quiet", "-B", branch, `origin/${from}`);
    for (const [file, edit] of Object.entries(files)) {
      const target = path.join(this.work, file);
      fs.writeFileSync(target, edit(fs.existsSync(target) ? fs.readFileSync(target, "utf8") : ""));
    }
    git(this.work, "add", "--all");
    git(this.work, "commit", "--quiet", "-m", `${branch}: ${message}`);
  }
}
