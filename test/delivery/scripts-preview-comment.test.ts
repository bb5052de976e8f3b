/**
 * The preview comment job's github-script (preview.yml, job comment): the one line that
 * runs the runStep of the module the workflow checks out, run as actions/github-script runs it
 * against a fake GitHub API. What the function does is tested in delivery-preview.test.ts.
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { PREVIEW_MARKER } from "../../tools/ci/delivery/preview.mts";
import { deliveryToolsOf, fakeCore, fakeGitHub, repo, runEnv, runScript } from "../support/github-script";
import { root } from "../support/workflows";

describe("the preview comment job's github-script", () => {
  const tools = deliveryToolsOf("preview.yml", "comment");
  const body = `${PREVIEW_MARKER}\n### Preview of stack \`staging\`: ✅ passed\n`;

  it("loads the preview module of the checked-out delivery scripts", () => {
    expect(path.relative(root, tools)).toBe(path.join("tools", "ci", "delivery", "preview.mts"));
  });

  it("hands it the pull request, the preview job's report and the run link", async () => {
    const { github, calls } = fakeGitHub({ "issues.listComments": () => [], "issues.createComment": () => ({ html_url: "https://github.com/c/2" }) });
    const { core, log } = fakeCore();
    const pullRequest = { repo, runId: 42, eventName: "pull_request", issue: { number: 7 } };
    await runScript("preview.yml", "comment", { github, context: pullRequest, core, env: { ...runEnv, DELIVERY_TOOLS: tools, BODY: body } });
    expect(calls.map((c) => c.method)).toEqual(["issues.listComments", "issues.createComment"]);
    expect(calls[1]?.params).toEqual({ ...repo, issue_number: 7, body });
    expect(log).toEqual(["info: created https://github.com/c/2"]);

    // A dispatch's pull request number, and the preview job's result when it wrote no report.
    const dispatched = fakeGitHub({ "issues.listComments": () => [], "issues.createComment": () => ({}) });
    const context = { repo, runId: 43, eventName: "workflow_dispatch", issue: { number: undefined } };
    await runScript("preview.yml", "comment", { github: dispatched.github, context, core: fakeCore().core, env: { ...runEnv, DELIVERY_TOOLS: tools, BODY: "", PREVIEW_RESULT: "failure", PR_NUMBER: "12" } });
    expect(dispatched.calls[1]?.params).toEqual({
      ...repo,
      issue_number: 12,
      body: `${PREVIEW_MARKER}\n### Preview: no report\n\nThe preview job ended (failure) before it wrote a report: see the [run log](https://github.com/acme-corp/gitops-platform/actions/runs/43).\n`,
    });
  });
});
