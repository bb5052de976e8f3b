/**
 * The automation pull request script (automation.yml, job automation-pr), run as actions/github-script runs it, against a fake GitHub API.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeCore, fakeGitHub, repo, runScript } from "../support/github-script";
import { root } from "../support/workflows";

describe("the automation pull request script", () => {
  const context = { repo, runId: 70, eventName: "schedule" };
  // What the scope job computes from the staging stack (test/delivery/delivery-automation.test.ts runs it on the real plan).
  const scope = [{ base: "staging", head: "image-updates/staging", paths: ["clusters/base/"], policies: ["flux-system:orders"] }];
  const env = { SCOPE: JSON.stringify(scope) };
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
    await runScript("automation.yml", "automation-pr", { github, context, core, env });
    expect(calls.map((c) => c.method)).toEqual(["repos.compareCommits", "pulls.list", "pulls.create", "graphql"]);
    expect(calls[0]?.params).toEqual({ ...repo, base: "staging", head: "image-updates/staging" });
    expect(calls[2]?.params).toMatchObject({ base: "staging", head: "image-updates/staging", title: "Image updates for staging" });
    expect(calls[3]?.params).toEqual({
      query: "mutation($id: ID!) { enablePullRequestAutoMerge(input: { pullRequestId: $id, mergeMethod: MERGE }) { clientMutationId } }",
      id: "PR_20",
    });
    expect(log).toEqual(["info: opened https://github.com/p/20", "info: #20 merges itself once the required checks pass"]);
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
    await runScript("automation.yml", "automation-pr", { github, context, core, env });
    expect(calls.map((c) => c.method)).toEqual(["repos.compareCommits", "pulls.list", "pulls.update", "graphql"]);
    expect(String(calls[3]?.params.query)).toContain("disablePullRequestAutoMerge");
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
    await runScript("automation.yml", "automation-pr", { github, context, core, env: { SCOPE: JSON.stringify(two) } });
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
    await runScript("automation.yml", "automation-pr", { github: missing.github, context, core, env });
    expect(log).toEqual(["info: no branch image-updates/staging: nothing to propose"]);

    const none = fakeGitHub({});
    const failed = fakeCore();
    await runScript("automation.yml", "automation-pr", { github: none.github, context, core: failed.core, env: {} });
    await runScript("automation.yml", "automation-pr", { github: none.github, context, core: failed.core, env: { SCOPE: "[]" } });
    expect(failed.log).toEqual(['failed: SCOPE: expected the list the scope job wrote, got ""', "info: no stack runs image automation: nothing to propose"]);
    expect(none.calls).toEqual([]);
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
    await runScript("automation.yml", "automation-pr", { github: done.github, context, core, env });
    expect(done.calls.map((c) => c.method)).toEqual(["repos.compareCommits", "git.getRef", "pulls.list", "git.deleteRef"]);
    expect(done.calls[1]?.params).toEqual({ ...repo, ref: "heads/image-updates/staging" });
    expect(done.calls[2]?.params).toEqual({ ...repo, state: "closed", base: "staging", head: "acme-corp:image-updates/staging", per_page: 10 });
    expect(done.calls[3]?.params).toEqual({ ...repo, ref: "heads/image-updates/staging" });
    expect(log).toEqual(["info: deleted image-updates/staging: #20 merged it into staging"]);

    // The tip is not what was merged (e.g. merged by another route): the branch stays.
    const other = merged("b".repeat(40));
    const kept = fakeCore();
    await runScript("automation.yml", "automation-pr", { github: other.github, context, core: kept.core, env });
    expect(other.calls.map((c) => c.method)).toEqual(["repos.compareCommits", "git.getRef", "pulls.list"]);
    expect(kept.log).toEqual(["info: staging already has every commit of image-updates/staging: nothing to propose"]);
  });
});
