/**
 * The preview comment job's script (preview.yml, job comment), run as actions/github-script runs it, against a fake GitHub API.
 */
import { describe, expect, it } from "vitest";
import { PREVIEW_MARKER } from "../../tools/ci/delivery/preview.mts";
import { BODY_LIMIT } from "../../tools/ci/delivery/text.mts";
import { bot, fakeCore, fakeGitHub, repo, runEnv, runScript, scriptOf } from "../support/github-script";

describe("the preview comment script", () => {
  const body = `${PREVIEW_MARKER}\n### Preview of stack \`staging\`: ✅ passed\n`;
  const pullRequest = { repo, runId: 42, eventName: "pull_request", issue: { number: 7 } };

  it("uses the marker and size limit of tools/ci/delivery/", () => {
    const script = scriptOf("preview.yml", "comment");
    expect(script).toContain(`const marker = "${PREVIEW_MARKER}";`);
    expect(script).toContain(`const limit = ${BODY_LIMIT};`);
  });

  it("creates the comment when the pull request has none of its own", async () => {
    const { github, calls } = fakeGitHub({
      "issues.listComments": () => [{ id: 1, user: { login: "someone" }, body: `${PREVIEW_MARKER} pasted by a person` }],
      "issues.createComment": () => ({ html_url: "https://github.com/c/2" }),
    });
    const { core, log } = fakeCore();
    await runScript("preview.yml", "comment", { github, context: pullRequest, core, env: { ...runEnv, BODY: body } });
    expect(calls.map((c) => c.method)).toEqual(["issues.listComments", "issues.createComment"]);
    expect(calls[1]?.params).toEqual({ ...repo, issue_number: 7, body });
    expect(log).toEqual(["info: created https://github.com/c/2"]);
  });

  it("updates its previous comment instead of adding one", async () => {
    const { github, calls } = fakeGitHub({
      "issues.listComments": () => [
        { id: 5, user: bot, body: "an unrelated bot comment" },
        { id: 9, user: bot, body: `${PREVIEW_MARKER}\nold`, html_url: "https://github.com/c/9" },
      ],
      "issues.updateComment": () => ({}),
    });
    const { core } = fakeCore();
    await runScript("preview.yml", "comment", { github, context: pullRequest, core, env: { ...runEnv, BODY: body } });
    expect(calls.map((c) => c.method)).toEqual(["issues.listComments", "issues.updateComment"]);
    expect(calls[1]?.params).toEqual({ ...repo, comment_id: 9, body });
  });

  it("keeps a body over GitHub's limit under it, with a link to the run", async () => {
    const { github, calls } = fakeGitHub({ "issues.listComments": () => [], "issues.createComment": () => ({}) });
    const { core } = fakeCore();
    await runScript("preview.yml", "comment", { github, context: pullRequest, core, env: { ...runEnv, BODY: `${PREVIEW_MARKER}\n${"é".repeat(70_000)}` } });
    const posted = String(calls[1]?.params.body);
    expect(Buffer.byteLength(posted, "utf8")).toBeLessThanOrEqual(BODY_LIMIT);
    expect(posted.startsWith(PREVIEW_MARKER)).toBe(true);
    expect(posted).not.toContain("\uFFFD");
    expect(posted).toContain("see the [run log](https://github.com/acme-corp/gitops-platform/actions/runs/42)");
  });

  it("still reports when the preview job wrote no report", async () => {
    const { github, calls } = fakeGitHub({ "issues.listComments": () => [], "issues.createComment": () => ({}) });
    const { core } = fakeCore();
    await runScript("preview.yml", "comment", { github, context: pullRequest, core, env: { ...runEnv, BODY: "", PREVIEW_RESULT: "failure" } });
    expect(calls[1]?.params.body).toBe(
      `${PREVIEW_MARKER}\n### Preview: no report\n\nThe preview job ended (failure) before it wrote a report: see the [run log](https://github.com/acme-corp/gitops-platform/actions/runs/42).\n`,
    );
  });

  it("comments on the dispatched pull request, and refuses a missing number", async () => {
    const dispatched = { repo, runId: 43, eventName: "workflow_dispatch", issue: { number: undefined } };
    const ok = fakeGitHub({ "issues.listComments": () => [], "issues.createComment": () => ({}) });
    await runScript("preview.yml", "comment", { github: ok.github, context: dispatched, core: fakeCore().core, env: { ...runEnv, BODY: body, PR_NUMBER: "12" } });
    expect(ok.calls[1]?.params.issue_number).toBe(12);

    const missing = fakeGitHub({});
    const { core, log } = fakeCore();
    await runScript("preview.yml", "comment", { github: missing.github, context: dispatched, core, env: { ...runEnv, BODY: body, PR_NUMBER: "" } });
    expect(missing.calls).toEqual([]);
    expect(log).toEqual(['failed: no pull request to comment on (PR_NUMBER="")']);
  });
});
