/**
 * tools/ci/delivery/automation.mts: the image automation scope a workflow derives from the stack's
 * program, and the automation pull request kept within it, against a fake GitHub API (the glue that
 * calls it: scripts-automation-pr.test.ts).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { IMAGE_TAGS_PATH } from "../../components/k8s/reconciler";
import { automationScope, syncAutomationPullRequest, tagBumpProblems } from "../../tools/ci/delivery/automation.mts";
import { main } from "../../tools/ci/delivery/main.mts";
import { fakeCore, fakeGitHub, repo } from "../support/github-script";

const root = path.resolve(__dirname, "..", "..");

describe("automationScope", () => {
  const automation = (name: string, spec: Record<string, unknown>) => ({
    type: "kubernetes:image.toolkit.fluxcd.io/v1:ImageUpdateAutomation",
    inputs: { kind: "ImageUpdateAutomation", metadata: { name, namespace: "flux-system" }, spec },
  });
  const policy = (name: string, namespace = "flux-system", labels: Record<string, string> = { "gitops-platform/app": name }) => ({
    type: "kubernetes:image.toolkit.fluxcd.io/v1:ImagePolicy",
    inputs: { kind: "ImagePolicy", metadata: { name, namespace, labels } },
  });
  const spec = (app: string, push = "image-updates/staging", path = "./clusters/base") => ({
    git: { checkout: { ref: { branch: "staging" } }, push: { branch: push } },
    policySelector: { matchLabels: { "gitops-platform/app": app } },
    update: { path, strategy: "Setters" },
  });

  it("is what the staging stack's program declares: its update path and its automated apps' policies", () => {
    const run = spawnSync(process.execPath, [path.join(root, "tools", "plan", "cli.mts"), "--stack", "staging", "--json", "--no-policy"], {
      cwd: root,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(automationScope(JSON.parse(run.stdout))).toEqual([
      { base: "staging", head: "image-updates/staging", paths: [`${IMAGE_TAGS_PATH}/`], policies: ["flux-system:orders"] },
    ]);
  }, 60_000);

  it("groups automations by branch pair and keeps only the policies their selectors pick", () => {
    const plan = {
      resources: [
        policy("orders"),
        policy("web"),
        policy("payments"),
        policy("orders", "other-namespace"),
        automation("orders", spec("orders")),
        automation("web", spec("web", "image-updates/staging", "clusters/web/")),
        automation("all", { ...spec("x", "image-updates/all"), policySelector: undefined }),
      ],
    };
    expect(automationScope(plan)).toEqual([
      { base: "staging", head: "image-updates/staging", paths: ["clusters/base/", "clusters/web/"], policies: ["flux-system:orders", "flux-system:web"] },
      { base: "staging", head: "image-updates/all", paths: ["clusters/base/"], policies: ["flux-system:orders", "flux-system:payments", "flux-system:web"] },
    ]);
    expect(automationScope({ resources: [policy("orders")] })).toEqual([]);
  });

  it("refuses automations it cannot scope, naming each field", () => {
    const plan = {
      resources: [
        automation("up", spec("up", "image-updates/staging", "../elsewhere")),
        automation("root", spec("root", "image-updates/staging", "./")),
        automation("same", spec("same", "staging")),
        automation("strategy", { ...spec("strategy"), update: { path: "clusters/base" } }),
        automation("unknown", { ...spec("unknown"), git: { checkout: { ref: {} }, push: { branch: "image-updates/staging" } } }),
      ],
    };
    expect(() => automationScope(plan)).toThrow(
      [
        'ImageUpdateAutomation flux-system/up: spec.update.path: expected a directory of the repository, got "../elsewhere"',
        'ImageUpdateAutomation flux-system/root: spec.update.path: expected a directory of the repository, got "./"',
        "ImageUpdateAutomation flux-system/same: pushes to its checkout branch staging: there is no automation pull request to review",
        "ImageUpdateAutomation flux-system/strategy: spec.update.strategy: expected Setters, got undefined",
        "ImageUpdateAutomation flux-system/unknown: spec.git.checkout.ref.branch: expected a branch name",
      ].join("\n"),
    );
    expect(() => automationScope({ stack: "staging" })).toThrow("plan: expected the JSON of `npm run plan -- --json` (a resources list)");
  });

  it("writes the scope as the step output scope", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "scope-"));
    const planFile = path.join(dir, "plan.json");
    const output = path.join(dir, "output");
    fs.writeFileSync(planFile, JSON.stringify({ resources: [policy("orders"), automation("orders", spec("orders"))] }));
    const out: string[] = [];
    const io = { stdout: (t: string) => void out.push(t), stderr: (t: string) => void out.push(t) };
    expect(main(["automation-scope", "--plan", planFile], { GITHUB_OUTPUT: output }, io)).toBe(0);
    expect(fs.readFileSync(output, "utf8")).toBe(
      'scope=[{"base":"staging","head":"image-updates/staging","paths":["clusters/base/"],"policies":["flux-system:orders"]}]\n',
    );
    expect(out).toEqual(["image-updates/staging -> staging: tags of flux-system:orders under clusters/base/\n"]);
    fs.writeFileSync(planFile, "plan: failed");
    out.length = 0;
    expect(main(["automation-scope", "--plan", planFile], {}, io)).toBe(1);
    expect(out[0]).toMatch(/^::error::.*plan\.json: expected the JSON of `npm run plan -- --json` \(/);
    // One plan per stack that runs image automation, their scopes together; none: nothing to propose.
    const devPlan = path.join(dir, "plan-dev.json");
    fs.writeFileSync(planFile, JSON.stringify({ resources: [policy("orders"), automation("orders", spec("orders"))] }));
    fs.writeFileSync(devPlan, JSON.stringify({ resources: [] }));
    out.length = 0;
    expect(main(["automation-scope", "--plan", devPlan, "--plan", planFile], { GITHUB_OUTPUT: output }, io)).toBe(0);
    expect(out).toEqual(["image-updates/staging -> staging: tags of flux-system:orders under clusters/base/\n"]);
    fs.rmSync(output);
    out.length = 0;
    expect(main(["automation-scope"], { GITHUB_OUTPUT: output }, io)).toBe(0);
    expect(fs.readFileSync(output, "utf8")).toBe("scope=[]\n");
    expect(out).toEqual(["no image automation\n"]);
  });
});

describe("syncAutomationPullRequest", () => {
  // What the scope job computes from the staging stack (automationScope above runs it on the real plan).
  const scope = [{ base: "staging", head: "image-updates/staging", paths: ["clusters/base/"], policies: ["flux-system:orders"] }];
  const inputs = { ...repo, scope: JSON.stringify(scope) };
  // The marked line exactly as the config repository holds it, with another tag.
  const ordersFile = "clusters/base/orders-image.yaml";
  const ordersLine = fs.readFileSync(path.join(root, ordersFile), "utf8").split("\n").find((l) => l.includes('"$imagepolicy"')) ?? "";
  const marked = (tag: string) => ordersLine.replace('"1.0.0"', `"${tag}"`);
  const bump = {
    filename: ordersFile,
    status: "modified",
    patch: `@@ -12,3 +12,3 @@ metadata:\n     gitops-platform/app: orders\n data:\n-${marked("1.4.0")}\n+${marked("1.5.0")}\n\\ No newline at end of file`,
  };
  const comparison = (files: unknown[]) => ({ ahead_by: 1, files, commits: [{ sha: "ccccccc3333333", commit: { message: "orders: 1.5.0" } }] });

  it("opens the pull request and turns on auto-merge when only the marked tags of the automation's policies change", async () => {
    expect(ordersLine).toBe('  IMAGE_TAG: "1.0.0" # {"$imagepolicy": "flux-system:orders:tag"}');
    const { github, calls } = fakeGitHub({
      "repos.compareCommits": () => comparison([bump]),
      "pulls.list": () => [],
      "pulls.create": () => ({ number: 20, node_id: "PR_20", html_url: "https://github.com/p/20", auto_merge: null }),
      graphql: () => ({}),
    });
    const { core, log } = fakeCore();
    expect(await syncAutomationPullRequest({ github, core, ...inputs })).toEqual([{ head: "image-updates/staging", action: "auto-merge", number: 20 }]);
    expect(calls.map((c) => c.method)).toEqual(["repos.compareCommits", "pulls.list", "pulls.create", "graphql"]);
    expect(calls[0]?.params).toEqual({ ...repo, base: "staging", head: "image-updates/staging" });
    expect(calls[1]?.params).toEqual({ ...repo, state: "open", base: "staging", head: "acme-corp:image-updates/staging", per_page: 10 });
    expect(calls[2]?.params).toMatchObject({ base: "staging", head: "image-updates/staging", title: "Image updates for staging" });
    expect(calls[2]?.params.body).toBe(
      [
        "Image tag bumps by Flux image automation, from `image-updates/staging`.",
        "",
        "Every change is a tag behind an image policy marker: this pull request merges itself once the required checks pass.",
        "",
        "### 1 commit(s)",
        "",
        "- `ccccccc` orders: 1.5.0",
        "",
        "<sub>Opened and refreshed by the automation workflow.</sub>",
      ].join("\n"),
    );
    expect(calls[3]?.params).toEqual({
      query: "mutation($id: ID!) { enablePullRequestAutoMerge(input: { pullRequestId: $id, mergeMethod: MERGE }) { clientMutationId } }",
      id: "PR_20",
    });
    expect(log).toEqual(["info: opened https://github.com/p/20", "info: #20 merges itself once the required checks pass"]);
  });

  it("leaves an open pull request's auto-merge as it is when it is already on", async () => {
    const { github, calls } = fakeGitHub({
      "repos.compareCommits": () => comparison([bump]),
      "pulls.list": () => [{ number: 21, node_id: "PR_21", html_url: "https://github.com/p/21", auto_merge: { enabled_by: {} } }],
      "pulls.update": () => ({}),
    });
    const { core, log } = fakeCore();
    await syncAutomationPullRequest({ github, core, ...inputs });
    expect(calls.map((c) => c.method)).toEqual(["repos.compareCommits", "pulls.list", "pulls.update"]);
    expect(calls[2]?.params).toMatchObject({ ...repo, pull_number: 21, title: "Image updates for staging" });
    expect(log).toEqual(["info: refreshed https://github.com/p/21", "info: #21 merges itself once the required checks pass"]);
  });

  it("leaves anything but a tag bump to a person, and turns auto-merge off again", async () => {
    const edit = (filename: string, patch: string, status = "modified") => ({ filename, status, patch });
    const files = [
      edit(ordersFile, `@@ -14 +14 @@\n-${marked("1.4.0")}\n+${marked("1.5.0").replace("IMAGE_TAG", "OTHER_TAG")}`),
      edit("clusters/base/payments-image.yaml", '@@ -14 +14 @@\n-  IMAGE_TAG: "1.0.0"\n+  IMAGE_TAG: "6.6.6"'),
      edit("clusters/base/extra.yaml", `@@ -1 +1 @@\n-${marked("1.4.0").replace("flux-system:orders:tag", "flux-system:payments:tag")}\n+${marked("6.6.6").replace("flux-system:orders:tag", "flux-system:payments:tag")}`),
      edit("clusters/base/image.yaml", '@@ -1 +1 @@\n-  image: r.example/orders:1.4.0 # {"$imagepolicy": "flux-system:orders"}\n+  image: evil.example/orders:1.5.0 # {"$imagepolicy": "flux-system:orders"}'),
      edit("clusters/base/kustomization.yaml", "@@ -1 +1,2 @@\n resources: [a]\n+- rbac.yaml"),
      edit("clusters/base/mode.yaml", ""),
      edit("clusters/base/moved.yaml", `@@ -3,1 +3,0 @@\n-${marked("1.4.0")}\n@@ -20,0 +19,1 @@\n+${marked("1.5.0")}`),
      edit("clusters/staging/apps/orders.yaml", `@@ -3 +3 @@\n-${marked("1.4.0")}\n+${marked("1.5.0")}`),
      edit(".github/workflows/deploy.yml", "@@ -1 +1 @@\n-a\n+b"),
      edit("clusters/base/new.yaml", "@@ +1 @@\n+kind: ClusterRoleBinding", "added"),
    ];
    const { github, calls } = fakeGitHub({
      "repos.compareCommits": () => comparison(files),
      "pulls.list": () => [{ number: 21, node_id: "PR_21", html_url: "https://github.com/p/21", auto_merge: { enabled_by: {} } }],
      "pulls.update": () => ({}),
      graphql: () => ({}),
    });
    const { core, log } = fakeCore();
    expect(await syncAutomationPullRequest({ github, core, ...inputs })).toEqual([{ head: "image-updates/staging", action: "review", number: 21 }]);
    expect(calls.map((c) => c.method)).toEqual(["repos.compareCommits", "pulls.list", "pulls.update", "graphql"]);
    expect(String(calls[3]?.params.query)).toContain("disablePullRequestAutoMerge");
    expect(calls[3]?.params).toEqual({ query: "mutation($id: ID!) { disablePullRequestAutoMerge(input: { pullRequestId: $id }) { clientMutationId } }", id: "PR_21" });
    const problems = [
      "`clusters/base/orders-image.yaml` changes more than the tags of image policy markers",
      "`clusters/base/payments-image.yaml` changes more than the tags of image policy markers",
      "`clusters/base/extra.yaml` changes tags marked for `flux-system:payments:tag`, not the tag setter of an image policy of this automation (flux-system:orders:tag)",
      "`clusters/base/image.yaml` changes more than the tags of image policy markers",
      "`clusters/base/kustomization.yaml` changes more than the tags of image policy markers",
      "`clusters/base/mode.yaml` changes more than the tags of image policy markers",
      "`clusters/base/moved.yaml` changes more than the tags of image policy markers",
      "`clusters/staging/apps/orders.yaml` is outside clusters/base/",
      "`.github/workflows/deploy.yml` is outside clusters/base/",
      "`clusters/base/new.yaml` is added",
    ];
    expect(calls[2]?.params.body).toContain(["**Not merged automatically**: a person must review it, because:", "", ...problems.map((p) => `- ${p}`)].join("\n"));
    expect(log).toEqual(["info: refreshed https://github.com/p/21", `warning: #21 needs a review: ${problems.join("; ")}`]);
    expect(tagBumpProblems(files, scope[0] ?? { paths: [], policies: [] })).toEqual(problems);
  });

  it("names a file without a textual diff, and an automation with no policy", () => {
    expect(tagBumpProblems([{ filename: "clusters/base/logo.png", status: "modified" }], { paths: ["clusters/base/"], policies: [] })).toEqual([
      "`clusters/base/logo.png` is modified, without a textual diff",
    ]);
    expect(tagBumpProblems([bump], { paths: ["clusters/base/"], policies: [] })).toEqual([
      "`clusters/base/orders-image.yaml` changes tags marked for `flux-system:orders:tag`, not the tag setter of an image policy of this automation (none)",
    ]);
  });

  it("proposes each push branch of the scope into its own base", async () => {
    const two = [...scope, { base: "qa", head: "image-updates/qa", paths: ["clusters/qa-tags/"], policies: ["flux-system:web"] }];
    const { github, calls } = fakeGitHub({
      "repos.compareCommits": (p) => (p.head === "image-updates/qa" ? comparison([{ ...bump, filename: "clusters/qa-tags/web.yaml", patch: bump.patch.replaceAll("flux-system:orders:tag", "flux-system:web:tag") }]) : comparison([bump])),
      "pulls.list": () => [],
      "pulls.create": (p) => ({ number: p.base === "qa" ? 31 : 30, node_id: `PR_${String(p.base)}`, html_url: `https://github.com/p/${String(p.base)}`, auto_merge: null }),
      graphql: () => ({}),
    });
    const { core, log } = fakeCore();
    await syncAutomationPullRequest({ github, core, ...repo, scope: JSON.stringify(two) });
    expect(calls.filter((c) => c.method === "pulls.create").map((c) => [c.params.base, c.params.head, c.params.title])).toEqual([
      ["staging", "image-updates/staging", "Image updates for staging"],
      ["qa", "image-updates/qa", "Image updates for qa"],
    ]);
    expect(log).toEqual([
      "info: opened https://github.com/p/staging",
      "info: #30 merges itself once the required checks pass",
      "info: opened https://github.com/p/qa",
      "info: #31 merges itself once the required checks pass",
    ]);
  });

  it("does nothing without the branch, and fails or stops on a missing or empty scope", async () => {
    const missing = fakeGitHub({
      "repos.compareCommits": () => {
        throw Object.assign(new Error("Not Found"), { status: 404 });
      },
    });
    const { core, log } = fakeCore();
    expect(await syncAutomationPullRequest({ github: missing.github, core, ...inputs })).toEqual([{ head: "image-updates/staging", action: "none" }]);
    expect(log).toEqual(["info: no branch image-updates/staging: nothing to propose"]);

    const none = fakeGitHub({});
    const failed = fakeCore();
    expect(await syncAutomationPullRequest({ github: none.github, core: failed.core, ...repo, scope: undefined })).toBeUndefined();
    expect(await syncAutomationPullRequest({ github: none.github, core: failed.core, ...repo, scope: "[]" })).toEqual([]);
    expect(await syncAutomationPullRequest({ github: none.github, core: failed.core, ...repo, scope: '{"base":"staging"}' })).toBeUndefined();
    expect(failed.log).toEqual([
      'failed: SCOPE: expected the list the scope job wrote, got ""',
      "info: no stack runs image automation: nothing to propose",
      'failed: SCOPE: expected the list the scope job wrote, got "{\\"base\\":\\"staging\\"}"',
    ]);
    expect(none.calls).toEqual([]);
  });

  it("fails on any other error of the comparison", async () => {
    const forbidden = fakeGitHub({
      "repos.compareCommits": () => {
        throw Object.assign(new Error("Forbidden"), { status: 403 });
      },
    });
    await expect(syncAutomationPullRequest({ github: forbidden.github, core: fakeCore().core, ...inputs })).rejects.toThrow("Forbidden");
  });

  it("deletes the push branch once its pull request merged, and only that one", async () => {
    const tip = "a".repeat(40);
    const merged = (sha: string) =>
      fakeGitHub({
        "repos.compareCommits": () => ({ ahead_by: 0, files: [], commits: [] }),
        "git.getRef": () => ({ ref: "refs/heads/image-updates/staging", object: { sha: tip } }),
        "pulls.list": () => [
          { number: 19, merged_at: null, head: { sha: tip } },
          { number: 20, merged_at: "2026-12-01T10:00:00Z", head: { sha } },
        ],
        "git.deleteRef": () => ({}),
      });
    const done = merged(tip);
    const { core, log } = fakeCore();
    expect(await syncAutomationPullRequest({ github: done.github, core, ...inputs })).toEqual([{ head: "image-updates/staging", action: "deleted", number: 20 }]);
    expect(done.calls.map((c) => c.method)).toEqual(["repos.compareCommits", "git.getRef", "pulls.list", "git.deleteRef"]);
    expect(done.calls[1]?.params).toEqual({ ...repo, ref: "heads/image-updates/staging" });
    expect(done.calls[2]?.params).toEqual({ ...repo, state: "closed", base: "staging", head: "acme-corp:image-updates/staging", per_page: 10 });
    expect(done.calls[3]?.params).toEqual({ ...repo, ref: "heads/image-updates/staging" });
    expect(log).toEqual(["info: deleted image-updates/staging: #20 merged it into staging"]);

    // The tip is not what was merged (e.g. merged by another route): the branch stays.
    const other = merged("b".repeat(40));
    const kept = fakeCore();
    await syncAutomationPullRequest({ github: other.github, core: kept.core, ...inputs });
    expect(other.calls.map((c) => c.method)).toEqual(["repos.compareCommits", "git.getRef", "pulls.list"]);
    expect(kept.log).toEqual(["info: staging already has every commit of image-updates/staging: nothing to propose"]);
  });
});
