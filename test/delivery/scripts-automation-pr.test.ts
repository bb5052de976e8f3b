/**
 * The automation pull request job's github-script (automation.yml, job automation-pr): the one line that
 * runs the runStep of the module the workflow checks out, run as
 * actions/github-script runs it against a fake GitHub API. What the function does is tested in
 * delivery-automation.test.ts.
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { deliveryToolsOf, fakeCore, fakeGitHub, repo, runScript } from "../support/github-script";
import { root } from "../support/workflows";

describe("the automation pull request job's github-script", () => {
  const tools = deliveryToolsOf("automation.yml", "automation-pr");
  const context = { repo, runId: 70, eventName: "schedule" };

  it("loads the automation module of the checked-out delivery scripts", () => {
    expect(path.relative(root, tools)).toBe(path.join("tools", "ci", "delivery", "automation.mts"));
  });

  it("hands it the scope job's output", async () => {
    const scope = [{ base: "staging", head: "image-updates/staging", paths: ["clusters/base/"], policies: ["flux-system:orders"] }];
    const { github, calls } = fakeGitHub({ "repos.compareCommits": () => ({ ahead_by: 0, files: [], commits: [] }), "git.getRef": () => ({ object: { sha: "a" } }), "pulls.list": () => [] });
    const { core, log } = fakeCore();
    await runScript("automation.yml", "automation-pr", { github, context, core, env: { DELIVERY_TOOLS: tools, SCOPE: JSON.stringify(scope) } });
    expect(calls[0]).toEqual({ method: "repos.compareCommits", params: { ...repo, base: "staging", head: "image-updates/staging" } });
    expect(log).toEqual(["info: staging already has every commit of image-updates/staging: nothing to propose"]);

    const missing = fakeCore();
    await runScript("automation.yml", "automation-pr", { github: fakeGitHub({}).github, context, core: missing.core, env: { DELIVERY_TOOLS: tools } });
    expect(missing.log).toEqual(['failed: SCOPE: expected the list the scope job wrote, got ""']);
  });
});
