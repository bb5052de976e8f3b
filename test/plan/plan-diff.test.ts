// `plan --diff <ref>`: the working tree against a revision planned in a temporary git worktree.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { RecordedResource } from "../../tools/engine";
import { main } from "../../tools/plan/main";
import { NOT_KNOWN, pathMatches, replacementOf } from "../../tools/plan/replacement";

const fixtures = path.join(__dirname, "..", "fixtures", "diff");
const git = (cwd: string, ...args: string[]) => {
  const run = spawnSync("git", ["-c", "user.name=plan", "-c", "user.email=plan@example.invalid", ...args], { cwd, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`git ${args.join(" ")}: ${run.stderr}`);
  return run.stdout;
};

/** A repository whose `main` holds before.ts as the program and whose working tree holds after.ts. */
function repository(onTestFinished: (fn: () => void) => void): { dir: string; tmp: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-diff-repo-"));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "plan-diff-tmp-"));
  const previous = process.env.TMPDIR;
  // The checkout of the base goes to the system's temporary directory: here, one the test inspects.
  process.env.TMPDIR = tmp;
  onTestFinished(() => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  git(dir, "init", "-q", "-b", "main");
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: gitops-platform\nruntime: nodejs\n");
  fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), "config:\n  aws:region: eu-west-1\n");
  fs.copyFileSync(path.join(fixtures, "before.ts"), path.join(dir, "index.ts"));
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "base");
  fs.copyFileSync(path.join(fixtures, "after.ts"), path.join(dir, "index.ts"));
  return { dir, tmp };
}

async function plan(dir: string, argv: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { cwd: dir, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

const K8S = "pulumi/pulumi-kubernetes 9497796 (v4.32.0+27), provider/pkg/provider/diff.go";

describe("plan --diff", () => {
  it("shows what a preview against the revision would: created, updated, replaced, deleted, with property diffs", async ({ onTestFinished }) => {
    const { dir, tmp } = repository(onTestFinished);
    const { code, stdout, stderr } = await plan(dir, ["--stack", "dev", "--no-policy", "--diff", "main"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout.slice(stdout.indexOf("Changes against"))).toBe(
      [
        "Changes against main (10):",
        "    +  tls:index/privateKey:PrivateKey  key-gen1  (create)",
        "    +- aws:ecr/repository:Repository  app  (replace, delete before replace)",
        '        ~ imageTagMutability: "MUTABLE" → "IMMUTABLE"   [forces replacement: resource option replaceOnChanges: imageTagMutability]',
        "    +- github:index/repositoryDeployKey:RepositoryDeployKey  key  (replace)",
        '        ~ title: "flux gen 0" → "flux gen 1"   [forces replacement: integrations/terraform-provider-github b6ce8c0 (v6.13.0+27), github/resource_github_repository_deploy_key.go]',
        "    +  kubernetes:core/v1:ConfigMap  added  (create)",
        "    ~? aws:s3/bucket:Bucket  logs  (update (may replace))",
        '        ~ tags.team: "a" → "b"   [may replace: replacement not known offline]',
        "        ~ [protect]: false → true   [in place: resource option]",
        "    +- kubernetes:core/v1:Secret  git  (replace, delete before replace)",
        `        ~ stringData.identity: "[secret]" → "[secret]"   [forces replacement: ${K8S}]`,
        "    ~  kubernetes:apps/v1:Deployment  web  (update)",
        `        ~ spec.replicas: 1 → 2   [in place: ${K8S}]`,
        "    +- kubernetes:core/v1:ConfigMap  public-key  (replace, delete before replace)",
        `        ~ data.key: "[unknown]" → "[unknown]" (computed from key-gen1, new)   [forces replacement: ${K8S}]`,
        "    -  tls:index/privateKey:PrivateKey  key-gen0  (delete)",
        "    -  kubernetes:core/v1:ConfigMap  gone  (delete)",
        "",
        "Resources:",
        "    +  2 to create",
        "    ~  1 to update",
        "    ~? 1 to update (may replace)",
        "    +- 4 to replace",
        "    -  2 to delete",
        "      1 unchanged",
        "",
        "Policies: 0 mandatory, 0 advisory, 0 notes",
        "",
        "Verdict: OK: no mandatory policy violation · stack dev against main · offline plan, no credentials used",
        "",
      ].join("\n"),
    );
    expect(stdout).not.toContain("key one");
    expect(stdout).not.toContain("key two");
    // The temporary checkout is gone and unregistered.
    expect(fs.readdirSync(tmp)).toEqual([]);
    expect(git(dir, "worktree", "list", "--porcelain").match(/^worktree /gm)).toHaveLength(1);
  });

  it("adds a deterministic diff section to --json", async ({ onTestFinished }) => {
    const { dir } = repository(onTestFinished);
    const first = await plan(dir, ["--stack", "dev", "--no-policy", "--diff", "main", "--json"]);
    expect(first.code).toBe(0);
    const doc = JSON.parse(first.stdout) as { diff: { base: string; counts: unknown; changes: { name: string; change: string; properties: unknown[] }[] } };
    expect(Object.keys(doc)).toEqual(["project", "stack", "resources", "outputs", "policyViolations", "diff"]);
    expect(doc.diff.base).toBe("main");
    expect(doc.diff.counts).toEqual({ create: 2, update: 1, mayReplace: 1, replace: 4, delete: 2, same: 1 });
    expect(doc.diff.changes.map((c) => `${c.change} ${c.name}`)).toEqual([
      "create key-gen1",
      "replace app",
      "replace key",
      "create added",
      "may-replace logs",
      "replace git",
      "update web",
      "replace public-key",
      "delete key-gen0",
      "delete gone",
    ]);
    expect(doc.diff.changes.find((c) => c.name === "git")).toEqual({
      urn: "urn:pulumi:dev::gitops-platform::kubernetes:core/v1:Secret::git",
      type: "kubernetes:core/v1:Secret",
      name: "git",
      change: "replace",
      deleteBeforeReplace: true,
      properties: [{ path: "stringData.identity", before: "[secret]", after: "[secret]", replaces: true, reason: K8S }],
    });
    expect(doc.diff.changes.find((c) => c.name === "public-key")?.properties).toEqual([
      { path: "data.key", before: "[unknown]", after: "[unknown]", replaces: true, reason: K8S, computedFrom: ["key-gen1"] },
    ]);
    expect(doc.diff.changes.find((c) => c.name === "logs")?.properties).toEqual([
      { path: "tags.team", before: "a", after: "b", replaces: null, reason: NOT_KNOWN },
      { path: "[protect]", before: false, after: true, replaces: false, reason: "resource option" },
    ]);
    expect((await plan(dir, ["--stack", "dev", "--no-policy", "--diff", "main", "--json"])).stdout).toBe(first.stdout);
  });

  it("says so when nothing changes", async ({ onTestFinished }) => {
    const { dir } = repository(onTestFinished);
    fs.copyFileSync(path.join(fixtures, "before.ts"), path.join(dir, "index.ts"));
    const { code, stdout } = await plan(dir, ["--stack", "dev", "--no-policy", "--diff", "main"]);
    expect(code).toBe(0);
    expect(stdout).toContain("\nChanges against main: none.\n\nResources:\n      9 unchanged\n");
  });

  it("treats a revision without the stack's config as nothing deployed", async ({ onTestFinished }) => {
    const { dir } = repository(onTestFinished);
    fs.renameSync(path.join(dir, "Pulumi.dev.yaml"), path.join(dir, "Pulumi.qa.yaml"));
    git(dir, "add", "-A");
    git(dir, "commit", "-q", "-m", "qa only");
    fs.copyFileSync(path.join(dir, "Pulumi.qa.yaml"), path.join(dir, "Pulumi.dev.yaml"));
    const { code, stdout } = await plan(dir, ["--stack", "dev", "--no-policy", "--diff", "HEAD"]);
    expect(code).toBe(0);
    expect(stdout).toContain("\nResources:\n    +  9 to create\n      0 unchanged\n");
  });

  it("refuses a revision that does not exist, and reports a base whose plan fails", async ({ onTestFinished }) => {
    const { dir, tmp } = repository(onTestFinished);
    expect(await plan(dir, ["--stack", "dev", "--no-policy", "--diff", "no-such-branch"])).toEqual({
      code: 2,
      stdout: "",
      stderr: "plan: --diff no-such-branch: no such commit in this repository (a branch, tag or commit, e.g. origin/main)\n",
    });
    fs.writeFileSync(path.join(dir, "index.ts"), 'throw new Error("broken at the base");\n');
    git(dir, "commit", "-q", "-am", "broken");
    fs.copyFileSync(path.join(fixtures, "after.ts"), path.join(dir, "index.ts"));
    const failed = await plan(dir, ["--stack", "dev", "--no-policy", "--diff", "HEAD"]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toBe("error: --diff HEAD: the plan of HEAD failed: broken at the base\n");
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});

describe("replacement verdicts", () => {
  const resource = (type: string, inputs: Record<string, unknown>, options: Partial<RecordedResource> = {}): RecordedResource => ({
    urn: `urn:pulumi:dev::p::${type}::r`,
    type,
    name: "r",
    custom: true,
    inputs,
    secretPaths: [],
    protect: false,
    retainOnDelete: false,
    additionalSecretOutputs: [],
    dependencies: [],
    propertyDependencies: {},
    deleteBeforeReplace: false,
    replaceOnChanges: [],
    ignoreChanges: [],
    ...options,
  });
  const k8s = (apiVersion: string, kind: string) => resource(`kubernetes:${apiVersion.includes("/") ? apiVersion : `core/${apiVersion}`}:${kind}`, { apiVersion, kind });

  it.each([
    [k8s("v1", "Pod"), "spec.containers[1].image", true],
    [k8s("v1", "Pod"), "spec.containers[0].name", false],
    [k8s("apps/v1", "Deployment"), "spec.selector.matchLabels.app", true],
    [k8s("apps/v1", "Deployment"), "spec.template.spec.containers[0].image", false],
    [k8s("apps/v1", "Deployment"), "metadata.name", true],
    [k8s("apps/v1", "Deployment"), "metadata.labels.team", false],
    [k8s("v1", "Service"), "spec.clusterIP", true],
    [k8s("v1", "ConfigMap"), "data.a", true],
    [k8s("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), "roleRef.name", true],
    [k8s("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), "subjects[0].name", false],
    [k8s("batch/v1", "Job"), "spec.template.spec.containers[0].image", true],
    [k8s("source.toolkit.fluxcd.io/v1", "GitRepository"), "spec.ref.branch", false],
    [k8s("source.toolkit.fluxcd.io/v1", "GitRepository"), "kind", undefined],
    [resource("tls:index/privateKey:PrivateKey", {}), "algorithm", true],
    [resource("random:index/randomPassword:RandomPassword", {}), "length", true],
    [resource("random:index/randomPassword:RandomPassword", {}), "overrideSpecial", undefined],
    [resource("github:index/repositoryWebhook:RepositoryWebhook", {}), "configuration.url", false],
    [resource("github:index/actionsVariable:ActionsVariable", {}), "repository", undefined],
    [resource("aws:iam/role:Role", {}), "assumeRolePolicy", undefined],
    [resource("aws:iam/role:Role", {}, { replaceOnChanges: ["assumeRolePolicy"] }), "assumeRolePolicy", true],
    [resource("aws:iam/role:Role", {}, { replaceOnChanges: ["*"] }), "tags.team", true],
    [resource("gitops-platform:k8s:Reconciler", {}, { custom: false }), "anything", false],
  ])("%#: %s %s replaces: %s", (subject, changed, expected) => {
    expect(replacementOf(subject, changed).replaces).toBe(expected);
  });

  it("follows the Kubernetes provider's mutable-Secret switch", () => {
    const secret = k8s("v1", "Secret");
    expect(replacementOf(secret, "stringData.identity")).toEqual({ replaces: true, reason: K8S });
    expect(replacementOf(secret, "stringData.identity", { enableSecretMutable: true })).toEqual({ replaces: false, reason: K8S });
    expect(replacementOf(secret, "stringData.identity", { enableSecretMutable: "true" })).toEqual({ replaces: false, reason: K8S });
    expect(replacementOf(secret, "stringData.identity", { enableSecretMutable: "false" }).replaces).toBe(true);
    expect(replacementOf(secret, "type", { enableSecretMutable: true }).replaces).toBe(true);
    const immutable = { ...secret, inputs: { ...secret.inputs, immutable: true } };
    expect(replacementOf(immutable, "data.a", { enableSecretMutable: true }).replaces).toBe(true);
  });

  it("matches paths under, and containing, a force-new property", () => {
    expect(pathMatches("spec.containers[3].env[0].value", "spec.containers[*].env")).toBe(true);
    expect(pathMatches("spec", "spec.selector")).toBe(true);
    expect(pathMatches("spec.selectors", "spec.selector")).toBe(false);
    expect(pathMatches("spec.replicas", "spec.selector")).toBe(false);
  });
});
