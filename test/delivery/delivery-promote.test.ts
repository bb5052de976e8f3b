/**
 * tools/ci/delivery/promote.mts: the promotion pull request, opened or refreshed after a successful
 * deploy, against a fake GitHub API (the glue that calls it: scripts-promote.test.ts).
 */
import { describe, expect, it } from "vitest";
import { promotionBody, syncPromotionPullRequest } from "../../tools/ci/delivery/promote.mts";
import { fakeCore, fakeGitHub, repo } from "../support/github-script";

describe("syncPromotionPullRequest", () => {
  const inputs = { ...repo, base: "prod", head: "staging", deployedSha: "0123456789abcdef0123456789abcdef01234567", deployRunUrl: "https://github.com/acme-corp/gitops-platform/actions/runs/49" };
  const comparison = {
    ahead_by: 2,
    commits: [
      { sha: "aaaaaaa1111111", commit: { message: "Raise the orders interval\n\nbody" } },
      { sha: "bbbbbbb2222222", commit: { message: "Add payments" } },
    ],
  };

  it("opens the pull request staging → prod", async () => {
    const { github, calls } = fakeGitHub({
      "repos.compareCommits": () => comparison,
      "pulls.list": () => [],
      "pulls.create": () => ({ number: 12, html_url: "https://github.com/p/12" }),
    });
    const { core, log } = fakeCore();
    expect(await syncPromotionPullRequest({ github, core, ...inputs })).toEqual({ action: "opened", number: 12 });
    expect(calls.map((c) => c.method)).toEqual(["repos.compareCommits", "pulls.list", "pulls.create"]);
    expect(calls[0]?.params).toEqual({ ...repo, base: "prod", head: "staging" });
    expect(calls[1]?.params).toEqual({ ...repo, state: "open", base: "prod", head: "acme-corp:staging", per_page: 10 });
    const created = calls[2]?.params ?? {};
    expect(created.base).toBe("prod");
    expect(created.head).toBe("staging");
    expect(created.title).toBe("Promote staging to prod");
    expect(created.body).toContain("- `aaaaaaa` Raise the orders interval\n- `bbbbbbb` Add payments");
    expect(created.body).toContain("staging deployed `0123456789ab` successfully ([deploy run](https://github.com/acme-corp/gitops-platform/actions/runs/49)).");
    expect(log).toEqual(["info: opened https://github.com/p/12"]);
  });

  it("opens one pull request per downstream environment: the matrix's base, from the deployed branch", async () => {
    const { github, calls } = fakeGitHub({
      "repos.compareCommits": () => comparison,
      "pulls.list": () => [],
      "pulls.create": () => ({ number: 13, html_url: "https://github.com/p/13" }),
    });
    await syncPromotionPullRequest({ github, core: fakeCore().core, ...inputs, base: "prod-us" });
    expect(calls[0]?.params).toEqual({ ...repo, base: "prod-us", head: "staging" });
    expect(calls[2]?.params.title).toBe("Promote staging to prod-us");
    expect(calls[2]?.params.body).toContain("Promotes what runs on **staging** to **prod-us**.");
  });

  it("refreshes the open pull request instead of opening another", async () => {
    const { github, calls } = fakeGitHub({
      "repos.compareCommits": () => comparison,
      "pulls.list": () => [{ number: 12, html_url: "https://github.com/p/12" }],
      "pulls.update": () => ({}),
    });
    const { core, log } = fakeCore();
    expect(await syncPromotionPullRequest({ github, core, ...inputs })).toEqual({ action: "refreshed", number: 12 });
    expect(calls.map((c) => c.method)).toEqual(["repos.compareCommits", "pulls.list", "pulls.update"]);
    expect(calls[2]?.params).toEqual({ ...repo, pull_number: 12, title: "Promote staging to prod", body: promotionBody({ ...inputs, comparison }) });
    expect(log).toEqual(["info: refreshed https://github.com/p/12"]);
  });

  it("does nothing when prod already has every staging commit", async () => {
    const { github, calls } = fakeGitHub({ "repos.compareCommits": () => ({ ahead_by: 0, commits: [] }), "pulls.list": () => [] });
    const { core, log } = fakeCore();
    expect(await syncPromotionPullRequest({ github, core, ...inputs })).toEqual({ action: "none" });
    expect(calls.map((c) => c.method)).toEqual(["repos.compareCommits", "pulls.list"]);
    expect(log).toEqual(["info: prod already has every commit of staging: nothing to promote"]);
  });

  it("lists the last 50 commits of a longer promotion, and says so", () => {
    const commits = Array.from({ length: 52 }, (_, i) => ({ sha: `${String(i).padStart(7, "0")}fffffff`, commit: { message: `commit ${i}` } }));
    const body = promotionBody({ ...inputs, comparison: { ahead_by: 52, commits } });
    expect(body).toContain("### 52 commit(s) not on prod yet (the last 50)\n\n- `0000002` commit 2\n");
    expect(body).not.toContain("commit 1\n");
    expect(body.endsWith("- `0000051` commit 51\n\n<sub>Opened and refreshed by the promote workflow after each successful staging deploy.</sub>")).toBe(true);
  });
});
