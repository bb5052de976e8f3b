/**
 * The promotion job's script (deploy.yml, job promote), run as actions/github-script runs it, against a fake GitHub API.
 */
import { describe, expect, it } from "vitest";
import { fakeCore, fakeGitHub, repo, runScript } from "../support/github-script";

describe("the promotion script", () => {
  const context = { repo, runId: 50, eventName: "push" };
  const env = { BASE: "prod", HEAD: "staging", DEPLOYED_SHA: "0123456789abcdef0123456789abcdef01234567", DEPLOY_RUN_URL: "https://github.com/acme-corp/gitops-platform/actions/runs/49" };
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
    await runScript("deploy.yml", "promote", { github, context, core, env });
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
    await runScript("deploy.yml", "promote", { github, context, core: fakeCore().core, env: { ...env, BASE: "prod-us" } });
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
    await runScript("deploy.yml", "promote", { github, context, core: fakeCore().core, env });
    expect(calls.map((c) => c.method)).toEqual(["repos.compareCommits", "pulls.list", "pulls.update"]);
    expect(calls[2]?.params.pull_number).toBe(12);
  });

  it("does nothing when prod already has every staging commit", async () => {
    const { github, calls } = fakeGitHub({ "repos.compareCommits": () => ({ ahead_by: 0, commits: [] }), "pulls.list": () => [] });
    const { core, log } = fakeCore();
    await runScript("deploy.yml", "promote", { github, context, core, env });
    expect(calls.map((c) => c.method)).toEqual(["repos.compareCommits", "pulls.list"]);
    expect(log).toEqual(["info: prod already has every commit of staging: nothing to promote"]);
  });
});
