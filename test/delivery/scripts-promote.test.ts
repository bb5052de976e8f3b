/**
 * The promotion job's github-script (deploy.yml, job promote): the one line that
 * runs the runStep of the module the workflow checks out, run as actions/github-script runs
 * it against a fake GitHub API. What the function does is tested in delivery-promote.test.ts.
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { deliveryToolsOf, fakeCore, fakeGitHub, repo, runScript } from "../support/github-script";
import { root } from "../support/workflows";

describe("the promotion job's github-script", () => {
  const tools = deliveryToolsOf("deploy.yml", "promote");

  it("loads the promotion module of the checked-out delivery scripts", () => {
    expect(path.relative(root, tools)).toBe(path.join("tools", "ci", "delivery", "promote.mts"));
  });

  it("hands it the base, the head, the deployed commit and the deploy run", async () => {
    const { github, calls } = fakeGitHub({
      "repos.compareCommits": () => ({ ahead_by: 1, commits: [{ sha: "aaaaaaa1111111", commit: { message: "Add payments" } }] }),
      "pulls.list": () => [],
      "pulls.create": () => ({ number: 12, html_url: "https://github.com/p/12" }),
    });
    const { core, log } = fakeCore();
    const env = { DELIVERY_TOOLS: tools, BASE: "prod", HEAD: "staging", DEPLOYED_SHA: "0123456789abcdef0123456789abcdef01234567", DEPLOY_RUN_URL: "https://github.com/acme-corp/gitops-platform/actions/runs/49" };
    await runScript("deploy.yml", "promote", { github, context: { repo, runId: 50, eventName: "push" }, core, env });
    expect(calls.map((c) => c.method)).toEqual(["repos.compareCommits", "pulls.list", "pulls.create"]);
    expect(calls[0]?.params).toEqual({ ...repo, base: "prod", head: "staging" });
    expect(calls[2]?.params).toMatchObject({ ...repo, base: "prod", head: "staging", title: "Promote staging to prod" });
    expect(calls[2]?.params.body).toContain("staging deployed `0123456789ab` successfully ([deploy run](https://github.com/acme-corp/gitops-platform/actions/runs/49)).");
    expect(log).toEqual(["info: opened https://github.com/p/12"]);
  });
});
