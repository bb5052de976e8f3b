/**
 * tools/ci/delivery/: text that fits GitHub's limit, and the preview comment built from it.
 */
import { describe, expect, it } from "vitest";
import { PREVIEW_MARKER, previewComment, syncPreviewComment } from "../../tools/ci/delivery/preview.mts";
import { BODY_LIMIT, codeBlock, policyCounts, resourceSummary, stripAnsi, truncateMiddle } from "../../tools/ci/delivery/text.mts";
import { bytes, PREVIEW_LOG, runUrl } from "../support/delivery-fixtures";
import { bot, fakeCore, fakeGitHub, repo } from "../support/github-script";

describe("text that fits", () => {
  it("leaves short text as it is", () => {
    expect(truncateMiddle("short", 100, runUrl)).toBe("short");
  });

  it("keeps the start and the end of long text, within the byte budget, and says where the rest is", () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ✓`);
    const text = lines.join("\n");
    const cut = truncateMiddle(text, 10_000, runUrl);
    expect(bytes(cut)).toBeLessThanOrEqual(10_000);
    expect(cut.startsWith("line 0 ✓\n")).toBe(true);
    expect(cut.endsWith("line 4999 ✓")).toBe(true);
    expect(cut).toMatch(new RegExp(`\\n… \\d+ characters omitted here; the full output is in the run log: ${runUrl}\\n`));
    expect(cut).not.toContain("\uFFFD");
  });

  it("never splits a character made of two UTF-16 units", () => {
    const cut = truncateMiddle("🙂".repeat(10_000), 1_001, runUrl);
    expect(bytes(cut)).toBeLessThanOrEqual(1_001);
    expect(cut).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
  });

  it("fences code with more backticks than the text holds", () => {
    expect(codeBlock("a ``` b\n")).toBe("````text\na ``` b\n````");
    expect(codeBlock("plain", "diff")).toBe("```diff\nplain\n```");
  });

  it("strips colours", () => {
    expect(stripAnsi("\u001b[32m+ create\u001b[0m")).toBe("+ create");
  });

  it("reads Pulumi's resource summary and policy verdicts", () => {
    expect(resourceSummary(PREVIEW_LOG)).toBe("+ 2 to create, 12 unchanged");
    expect(resourceSummary("no summary")).toBe("");
    expect(policyCounts(PREVIEW_LOG)).toEqual({ mandatory: 1, advisory: 1 });
  });
});

describe("previewComment", () => {
  it("reports both checks, the resource summary and both logs under the marker", () => {
    const body = previewComment({
      stack: "staging",
      sha: "0123456789abcdef0123456789abcdef01234567",
      runUrl,
      plan: { exitCode: 0, log: "plan: 0 mandatory violations" },
      preview: { exitCode: 255, log: PREVIEW_LOG },
    });
    expect(body.startsWith(`${PREVIEW_MARKER}\n### Preview of stack \`staging\`: ❌ failed\n`)).toBe(true);
    expect(body).toContain("| offline plan and policy check (`npm run plan -- --stack staging`) | ✅ passed |");
    expect(body).toContain(
      "| `pulumi preview` with the policy pack | ❌ failed (exit 255): 1 mandatory violation, 1 advisory violation |",
    );
    expect(body).toContain("Resources: + 2 to create, 12 unchanged");
    expect(body).toContain(`Commit \`0123456789ab\` · [run log](${runUrl})`);
    expect(body).toContain("```text\nPreviewing update (staging):");
    expect(body).toContain("```text\nplan: 0 mandatory violations\n```");
  });

  it("passes when both checks pass", () => {
    const body = previewComment({ stack: "prod", sha: "abc", runUrl, plan: { exitCode: 0, log: "" }, preview: { exitCode: 0, log: "Resources:\n    3 unchanged\n" } });
    expect(body).toContain("### Preview of stack `prod`: ✅ passed");
    expect(body).toContain("| `pulumi preview` with the policy pack | ✅ passed |");
  });

  it("tells a fork that the cloud preview was skipped, and shows the offline verdict", () => {
    const body = previewComment({ stack: "staging", sha: "abc", runUrl, plan: { exitCode: 1, log: "mandatory violation" }, preview: null });
    expect(body).toContain("### Preview of stack `staging`: ❌ failed");
    expect(body).toContain("| offline plan and policy check (`npm run plan -- --stack staging`) | ❌ failed (exit 1: config error or mandatory policy violation) |");
    expect(body).toContain("⏭️ skipped: pull requests from forks get no cloud credentials (the offline policy check still ran)");
    expect(body).not.toContain("<code>pulumi preview</code> output");
  });

  it("says when a check did not run", () => {
    const body = previewComment({ stack: "staging", sha: undefined, runUrl, plan: { exitCode: null, log: "" }, preview: { exitCode: null, log: "" } });
    expect(body).toContain("| offline plan and policy check (`npm run plan -- --stack staging`) | ⚠️ did not run |");
    expect(body).toContain("Commit unknown commit");
  });

  it("fits GitHub's limit with megabytes of logs, keeping the policy verdicts at the end", () => {
    const noise = Array.from({ length: 40_000 }, (_, i) => `  ~ kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition crd-${i} update ✓`).join("\n");
    const body = previewComment({
      stack: "prod",
      sha: "abc",
      runUrl,
      plan: { exitCode: 0, log: noise },
      preview: { exitCode: 255, log: `${noise}\n${PREVIEW_LOG}` },
    });
    expect(bytes(body)).toBeLessThanOrEqual(BODY_LIMIT);
    expect(body).toContain("- [mandatory]  s3-public-access-block");
    expect(body).toContain("    12 unchanged");
    expect(body.match(/characters omitted here; the full output is in the run log/g)).toHaveLength(2);
  });
});

describe("syncPreviewComment", () => {
  const body = `${PREVIEW_MARKER}\n### Preview of stack \`staging\`: ✅ passed\n`;
  // runUrl is run 42's.
  const pullRequest = { ...repo, runUrl, eventName: "pull_request", issueNumber: 7, prNumber: undefined, previewResult: "success" };

  it("creates the comment when the pull request has none of its own", async () => {
    const { github, calls } = fakeGitHub({
      "issues.listComments": () => [{ id: 1, user: { login: "someone" }, body: `${PREVIEW_MARKER} pasted by a person` }],
      "issues.createComment": () => ({ id: 2, html_url: "https://github.com/c/2" }),
    });
    const { core, log } = fakeCore();
    expect(await syncPreviewComment({ github, core, ...pullRequest, body })).toEqual({ action: "created", id: 2 });
    expect(calls.map((c) => c.method)).toEqual(["issues.listComments", "issues.createComment"]);
    expect(calls[0]?.params).toEqual({ ...repo, issue_number: 7, per_page: 100 });
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
    const { core, log } = fakeCore();
    expect(await syncPreviewComment({ github, core, ...pullRequest, body })).toEqual({ action: "updated", id: 9 });
    expect(calls.map((c) => c.method)).toEqual(["issues.listComments", "issues.updateComment"]);
    expect(calls[1]?.params).toEqual({ ...repo, comment_id: 9, body });
    expect(log).toEqual(["info: updated https://github.com/c/9"]);
  });

  it("keeps a body over GitHub's limit under it, with a link to the run", async () => {
    const { github, calls } = fakeGitHub({ "issues.listComments": () => [], "issues.createComment": () => ({}) });
    await syncPreviewComment({ github, core: fakeCore().core, ...pullRequest, body: `${PREVIEW_MARKER}\n${"é".repeat(70_000)}` });
    const posted = String(calls[1]?.params.body);
    expect(bytes(posted)).toBeLessThanOrEqual(BODY_LIMIT);
    expect(posted.startsWith(PREVIEW_MARKER)).toBe(true);
    expect(posted).not.toContain("\uFFFD");
    expect(posted).toContain(`see the [run log](${runUrl})`);
  });

  it("puts the marker in front of a body without it", async () => {
    const { github, calls } = fakeGitHub({ "issues.listComments": () => [], "issues.createComment": () => ({}) });
    await syncPreviewComment({ github, core: fakeCore().core, ...pullRequest, body: "a report" });
    expect(calls[1]?.params.body).toBe(`${PREVIEW_MARKER}\na report`);
  });

  it("still reports when the preview job wrote no report", async () => {
    const { github, calls } = fakeGitHub({ "issues.listComments": () => [], "issues.createComment": () => ({}) });
    await syncPreviewComment({ github, core: fakeCore().core, ...pullRequest, body: "", previewResult: "failure" });
    expect(calls[1]?.params.body).toBe(
      `${PREVIEW_MARKER}\n### Preview: no report\n\nThe preview job ended (failure) before it wrote a report: see the [run log](https://github.com/acme-corp/gitops-platform/actions/runs/42).\n`,
    );
  });

  it("comments on the dispatched pull request, and refuses a missing number", async () => {
    const dispatched = { ...pullRequest, eventName: "workflow_dispatch", issueNumber: undefined };
    const ok = fakeGitHub({ "issues.listComments": () => [], "issues.createComment": () => ({}) });
    await syncPreviewComment({ github: ok.github, core: fakeCore().core, ...dispatched, body, prNumber: "12" });
    expect(ok.calls[1]?.params.issue_number).toBe(12);

    for (const prNumber of ["", undefined, "0", "1.5", "x"]) {
      const missing = fakeGitHub({});
      const { core, log } = fakeCore();
      expect(await syncPreviewComment({ github: missing.github, core, ...dispatched, body, prNumber })).toEqual({ action: "failed" });
      expect(missing.calls).toEqual([]);
      expect(log).toEqual([`failed: no pull request to comment on (PR_NUMBER="${prNumber ?? ""}")`]);
    }
  });
});
