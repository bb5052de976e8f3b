// Promotion staging -> prod, run for real with git: ten promotions in a row, image automation and
// hotfixes merged in between, against a model of GitHub's branch rulesets built from the rulesets
// the stacks declare. Nobody pushes to a guarded branch; every change arrives by pull request.
//
// What the model takes from GitHub (docs.github.com, "Available rules for rulesets"): a branch with
// the pull request rule accepts no direct push, only merges of pull requests; "require branches to be
// up to date before merging" (strict_required_status_checks_policy) refuses a pull request whose head
// does not contain the base branch's tip, and bringing the head up to date ("Update branch") is a
// merge of the base into the head: a push to the head branch, subject to that branch's own rules;
// allowed_merge_methods limits merge/squash/rebase. Required checks are taken as passing: this test
// is about whether the branches stay mergeable, not about what the checks find.
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadStackConfig, resourcesOfType, runProgram, type RecordedResource } from "../../tools/engine";
import { git, GIT_ENV, gitOk } from "../support/config-repo-git";
import { STACKS } from "../support/stacks";

const root = path.resolve(__dirname, "..", "..");
const RULESET = "github:index/repositoryRuleset:RepositoryRuleset";

/** What one branch ruleset enforces, as GitHub applies it. */
interface BranchRules {
  readonly ruleset: string;
  readonly pullRequestOnly: boolean;
  readonly upToDate: boolean;
  readonly mergeMethods: readonly string[];
  readonly linearHistory: boolean;
  readonly bypassActors: number;
}

/** The rules of each guarded branch, from recorded RepositoryRuleset inputs. */
function branchRules(rulesets: readonly RecordedResource[]): Map<string, BranchRules> {
  const rules = new Map<string, BranchRules>();
  for (const ruleset of rulesets) {
    const inputs = ruleset.inputs as {
      conditions: { refName: { includes: string[] } };
      bypassActors?: unknown[];
      rules: {
        pullRequest?: { allowedMergeMethods?: string[] };
        requiredStatusChecks?: { strictRequiredStatusChecksPolicy?: boolean };
        requiredLinearHistory?: boolean;
      };
    };
    for (const ref of inputs.conditions.refName.includes) {
      rules.set(ref.replace(/^refs\/heads\//, ""), {
        ruleset: ruleset.name,
        pullRequestOnly: inputs.rules.pullRequest !== undefined,
        upToDate: inputs.rules.requiredStatusChecks?.strictRequiredStatusChecksPolicy === true,
        // Unset: the repository's settings decide; GitHub's defaults allow all three.
        mergeMethods: inputs.rules.pullRequest?.allowedMergeMethods ?? ["merge", "squash", "rebase"],
        linearHistory: inputs.rules.requiredLinearHistory === true,
        bypassActors: inputs.bypassActors?.length ?? 0,
      });
    }
  }
  return rules;
}

/** The rulesets every stack declares, as `pulumi up` of each would create them. */
let declared: Promise<RecordedResource[]> | undefined;
function declaredRulesets(): Promise<RecordedResource[]> {
  declared ??= declare();
  return declared;
}

async function declare(): Promise<RecordedResource[]> {
  const rulesets: RecordedResource[] = [];
  for (const stack of STACKS) {
    const loaded = loadStackConfig(root, stack);
    const result = await runProgram({ stack, config: loaded.config, secretKeys: loaded.secretKeys, program: path.join(root, "index.ts") });
    rulesets.push(...resourcesOfType(result, RULESET));
  }
  return rulesets;
}

/** A refusal of the model, with GitHub's reason. */
class Refused extends Error {}

/**
 * A repository on a GitHub that enforces `rules`: people push from their clone; guarded branches
 * change only by merging pull requests, done on the server side (in the bare repository) as GitHub
 * does.
 */
class Forge {
  readonly origin: string;

  constructor(
    dir: string,
    private readonly rules: ReadonlyMap<string, BranchRules>,
  ) {
    this.origin = path.join(dir, "origin.git");
    git(dir, "init", "--quiet", "--bare", "--initial-branch=staging", this.origin);
  }

  /** A person's push of `branch` from `clone`; `force` as `git push --force`. */
  push(clone: string, branch: string, force = false): void {
    const guard = this.rules.get(branch);
    const exists = gitOk(this.origin, "rev-parse", "--quiet", "--verify", `refs/heads/${branch}`);
    if (guard?.pullRequestOnly && exists) throw new Refused(`push to "${branch}" refused by ruleset "${guard.ruleset}": changes must be made through a pull request`);
    git(clone, "push", "--quiet", ...(force ? ["--force"] : []), "origin", `HEAD:refs/heads/${branch}`);
  }

  /** Merges the pull request `head` -> `base` once GitHub would let it merge; returns the method used. */
  merge(head: string, base: string): string {
    const guard = this.rules.get(base);
    const headSha = this.tip(head);
    const baseSha = this.tip(base);
    if (this.contains(baseSha, headSha)) throw new Refused(`pull request ${head} -> ${base}: nothing to merge`);
    if (guard?.upToDate && !this.contains(headSha, baseSha)) {
      // "Update branch" merges the base into the head: a push to the head branch.
      const headGuard = this.rules.get(head);
      if (headGuard?.pullRequestOnly) {
        throw new Refused(
          `pull request ${head} -> ${base}: the head is not up to date with ${base}, and updating it is a push to "${head}" that ruleset "${headGuard.ruleset}" refuses`,
        );
      }
      this.commit(head, this.mergedTree(headSha, baseSha, `updating ${head} with ${base}`), [headSha, baseSha], `Merge ${base} into ${head}`);
      return this.merge(head, base);
    }
    const allowed = guard?.mergeMethods ?? ["merge", "squash", "rebase"];
    const method = allowed.includes("merge") && !guard?.linearHistory ? "merge" : allowed.find((m) => m !== "merge");
    if (method === undefined) throw new Refused(`pull request ${head} -> ${base}: no merge method is allowed`);
    const tree = this.mergedTree(baseSha, headSha, `pull request ${head} -> ${base}`);
    // Squash (rebase alike for what matters here): the merged tree on one parent.
    this.commit(base, tree, method === "merge" ? [baseSha, headSha] : [baseSha], method === "merge" ? `Merge ${head} into ${base}` : `${head} (${method})`);
    // "Automatically delete head branches" (on, as docs/apps.md asks): the merged head goes, except
    // a branch whose ruleset forbids deletion (staging and prod, as heads of promotion and back-merge).
    if (!this.rules.has(head)) git(this.origin, "update-ref", "-d", `refs/heads/${head}`);
    return method;
  }

  private tip(branch: string): string {
    return git(this.origin, "rev-parse", `refs/heads/${branch}`);
  }

  /** Whether `commit` contains `ancestor`. */
  private contains(commit: string, ancestor: string): boolean {
    return gitOk(this.origin, "merge-base", "--is-ancestor", ancestor, commit);
  }

  private mergedTree(ours: string, theirs: string, what: string): string {
    try {
      return git(this.origin, "merge-tree", "--write-tree", ours, theirs).split("\n")[0] as string;
    } catch {
      throw new Refused(`${what}: merge conflict`);
    }
  }

  private commit(branch: string, tree: string, parents: readonly string[], message: string): void {
    const sha = git(this.origin, "commit-tree", tree, ...parents.flatMap((parent) => ["-p", parent]), "-m", message);
    git(this.origin, "update-ref", `refs/heads/${branch}`, sha, parents[0] as string);
  }
}

/** One person's clone, making commits on branches cut from the remote. */
class Clone {
  readonly dir: string;

  constructor(
    parent: string,
    private readonly forge: Forge,
    name: string,
  ) {
    this.dir = path.join(parent, name);
    git(parent, "clone", "--quiet", forge.origin, this.dir);
  }

  /** Cuts `branch` from `from` (a remote branch), edits `files`, commits and pushes it. */
  change(branch: string, from: string, files: Record<string, (old: string) => string>, force = false): void {
    git(this.dir, "fetch", "--quiet", "--prune", "origin");
    git(this.dir, "checkout", "--quiet", "-B", branch, `origin/${from}`);
    for (const [file, edit] of Object.entries(files)) {
      const target = path.join(this.dir, file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, edit(fs.existsSync(target) ? fs.readFileSync(target, "utf8") : ""));
    }
    git(this.dir, "add", "--all");
    git(this.dir, "commit", "--quiet", "-m", `${branch}: ${Object.keys(files).join(", ")}`);
    this.forge.push(this.dir, branch, force);
  }

  /** Whether the remote has `branch`. */
  has(branch: string): boolean {
    return gitOk(this.forge.origin, "rev-parse", "--quiet", "--verify", `refs/heads/${branch}`);
  }

  /** A file of a branch on the remote, as stored. */
  read(branch: string, file: string): string {
    return execFileSync("git", ["show", `${branch}:${file}`], { cwd: this.forge.origin, env: GIT_ENV, encoding: "utf8" });
  }
}

/** An edit that sets the line `key: value`, leaving every other line as it is. */
function setLine(key: string, value: string): (old: string) => string {
  return (old) => old.replace(new RegExp(`^${key}: .*$`, "m"), `${key}: ${value}`);
}

const PLATFORM = "feature: 0\n\n# hotfixes land here\nhotfix: 0\n";
const IMAGES = 'orders: 1.0.0 # {"$imagepolicy": "flux-system:orders:tag"}\n';

/**
 * Ten rounds of: a feature PR into staging, an image automation PR from its own branch into
 * staging, a promotion PR staging -> prod; every other round a hotfix PR into prod and the
 * back-merge PR prod -> staging. Returns what was merged, or throws the first refusal.
 */
function promoteTenTimes(dir: string, rules: ReadonlyMap<string, BranchRules>): { log: string[]; dev: Clone } {
  const forge = new Forge(dir, rules);
  const dev = new Clone(dir, forge, "dev");
  // The repository starts with staging and prod at the same commit (before any ruleset exists).
  git(dev.dir, "checkout", "--quiet", "-b", "staging");
  fs.writeFileSync(path.join(dev.dir, "platform.yaml"), PLATFORM);
  fs.mkdirSync(path.join(dev.dir, "clusters", "staging"), { recursive: true });
  fs.writeFileSync(path.join(dev.dir, "clusters", "staging", "images.yaml"), IMAGES);
  git(dev.dir, "add", "--all");
  git(dev.dir, "commit", "--quiet", "-m", "initial");
  git(dev.dir, "push", "--quiet", "origin", "HEAD:refs/heads/staging", "HEAD:refs/heads/prod");

  const log: string[] = [];
  const merge = (head: string, base: string) => log.push(`${head} -> ${base} (${forge.merge(head, base)})`);
  for (let round = 1; round <= 10; round++) {
    // A feature through staging.
    dev.change(`feature-${round}`, "staging", { "platform.yaml": setLine("feature", String(round)), [`clusters/staging/feature-${round}.yaml`]: () => `round: ${round}\n` });
    merge(`feature-${round}`, "staging");

    // Image automation as Flux does it with a push branch (image-automation-controller v1.2.1,
    // internal/source): continue from the push branch when it exists, else from the checkout
    // branch; commit only the tag; force-push. Its merged branch is deleted, so it restarts from
    // staging; every other round it survives the merge, so its pull request merges from an old base.
    const from = dev.has("image-updates/staging") ? "image-updates/staging" : "staging";
    dev.change("image-updates/staging", from, { "clusters/staging/images.yaml": setLine("orders", `1.${round}.0 # {"$imagepolicy": "flux-system:orders:tag"}`) }, true);
    const pushed = git(forge.origin, "rev-parse", "refs/heads/image-updates/staging");
    merge("image-updates/staging", "staging");
    // A bump pushed just as the last one merged recreates the branch at the merged commit.
    if (round % 2 === 1) git(forge.origin, "branch", "image-updates/staging", pushed);

    // Promotion.
    merge("staging", "prod");

    // A hotfix straight to prod, then back into staging.
    if (round % 2 === 0) {
      dev.change(`hotfix-${round}`, "prod", { "platform.yaml": setLine("hotfix", String(round)) });
      merge(`hotfix-${round}`, "prod");
      merge("prod", "staging");
    }
  }
  return { log, dev };
}

describe("promotion staging -> prod under the declared rulesets", () => {
  it("ten promotions in a row, with automation and hotfixes in between, need no push to a guarded branch", async () => {
    const rules = branchRules(await declaredRulesets());
    expect([...rules.keys()]).toEqual(STACKS);
    for (const branch of rules.values()) expect(branch).toMatchObject({ pullRequestOnly: true, upToDate: false, mergeMethods: ["merge"], bypassActors: 0 });

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "promotion-"));
    try {
      const { log, dev } = promoteTenTimes(dir, rules);
      expect(log.filter((entry) => entry.startsWith("staging -> prod"))).toHaveLength(10);
      expect(log.filter((entry) => entry.startsWith("prod -> staging"))).toHaveLength(5);
      expect(log.every((entry) => entry.endsWith("(merge)"))).toBe(true);
      // Prod runs everything staging tested, and staging carries every hotfix.
      expect(dev.read("prod", "platform.yaml")).toBe("feature: 10\n\n# hotfixes land here\nhotfix: 10\n");
      expect(dev.read("prod", "clusters/staging/images.yaml")).toBe('orders: 1.10.0 # {"$imagepolicy": "flux-system:orders:tag"}\n');
      for (const file of ["platform.yaml", "clusters/staging/images.yaml"]) expect(dev.read("staging", file)).toBe(dev.read("prod", file));
      expect(dev.read("prod", "clusters/staging/feature-7.yaml")).toBe("round: 7\n");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // Some 400 git commands; generous for a loaded machine.
  }, 180_000);

  it("deadlocks at the second promotion with 'require branches to be up to date' on both branches (the model can fail)", async () => {
    const strict = new Map([...branchRules(await declaredRulesets())].map(([branch, rules]) => [branch, { ...rules, upToDate: true }]));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "promotion-strict-"));
    try {
      expect(() => promoteTenTimes(dir, strict)).toThrow(
        new Refused('pull request staging -> prod: the head is not up to date with prod, and updating it is a push to "staging" that ruleset "staging-github-branch-ruleset" refuses'),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("conflicts in the second round when pull requests are squashed: the squashed branches share no history (why merge commits only)", async () => {
    const squash = new Map([...branchRules(await declaredRulesets())].map(([branch, rules]) => [branch, { ...rules, mergeMethods: ["squash"] }]));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "promotion-squash-"));
    try {
      expect(() => promoteTenTimes(dir, squash)).toThrow(new Refused("pull request image-updates/staging -> staging: merge conflict"));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a direct push to a guarded branch", async () => {
    const rules = branchRules(await declaredRulesets());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "promotion-push-"));
    try {
      const forge = new Forge(dir, rules);
      const dev = new Clone(dir, forge, "dev");
      git(dev.dir, "commit", "--quiet", "--allow-empty", "-m", "initial");
      git(dev.dir, "push", "--quiet", "origin", "HEAD:refs/heads/staging", "HEAD:refs/heads/prod");
      expect(() => dev.change("staging", "staging", { "x.yaml": () => "x: 1\n" })).toThrow(
        new Refused('push to "staging" refused by ruleset "staging-github-branch-ruleset": changes must be made through a pull request'),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
