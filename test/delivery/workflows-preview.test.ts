/**
 * preview.yml: what it runs on a pull request, and its comment script run against a fake GitHub API.
 */
import { describe, expect, it } from "vitest";
import { PREVIEW_MARKER } from "../../tools/ci/delivery/preview.mts";
import { BODY_LIMIT } from "../../tools/ci/delivery/text.mts";
import { previewRules, tagChangesRules } from "../support/lint/workflow-rules";
import { bot, fakeCore, fakeGitHub, repo, runEnv, runScript, scriptOf } from "../support/github-script";
import { broken, REMOVE, replaced, step, workflow } from "../support/workflows";

describe("preview.yml", () => {
  it("previews the base branch's stack with the policy pack, skips the cloud for forks and comments once", () => {
    expect(previewRules(workflow("preview.yml"))).toEqual([]);
    const job = workflow("preview.yml").jobs?.preview;
    expect(job?.steps?.map((s) => s.name)).toEqual([
      "Check out",
      "Set up Node (.nvmrc)",
      "Install from the lockfile",
      "Offline plan and policy check",
      "Resolve the stack's backend and preview role",
      "Assume the preview role (OIDC)",
      "Install the Pulumi CLI",
      "Log in to the state backend",
      "pulumi preview with the policy pack",
      "Write the report",
      "Fail on a policy violation, a config error or a failed preview",
      "Environments and the lists generated from them",
    ]);
  });

  it("checks every pull request into prod for image tags changed outside a promotion, without credentials", () => {
    expect(tagChangesRules(workflow("preview.yml"))).toEqual([]);
    const job = workflow("preview.yml").jobs?.["tag-changes"];
    expect(job?.steps?.map((s) => s.name)).toEqual(["Check out", "Set up Node (.nvmrc)", "Install from the lockfile", "Image tags change upstream only"]);
  });

  it("catches a tag check that is skipped, privileged, shallow or compares the wrong commits", () => {
    const check = step("preview.yml", "tag-changes", "Image tags change upstream only");
    const bad = broken(
      "preview.yml",
      [["jobs", "tag-changes", "if"], "github.event_name == 'pull_request' && github.base_ref == 'prod' && github.event.pull_request.head.ref != 'staging'"],
      [["jobs", "tag-changes", "permissions", "id-token"], "write"],
      [["jobs", "tag-changes", "steps", 0, "with", "fetch-depth"], REMOVE],
      [["jobs", "tag-changes", "env", "HEAD_SHA"], "${{ github.sha }}"],
      [["jobs", "tag-changes", "steps", check, "continue-on-error"], true],
    );
    expect(tagChangesRules(bad)).toEqual([
      "job tag-changes: must run for every pull request into a promoted production environment (if: github.event_name == 'pull_request' && contains(fromJSON('[\"prod\"]'), github.base_ref))",
      "job tag-changes: expected permissions exactly { contents: read }, no environment and no secrets",
      "job tag-changes: the checkout needs the full history (fetch-depth: 0)",
      "job tag-changes: BASE_SHA and HEAD_SHA must be the pull request's base and head commits, BASE_REF its base branch",
      'job tag-changes: expected the step npm run check-tag-changes -- "$BASE_SHA" "$HEAD_SHA" "origin/$upstream" against the upstream of $BASE_REF, unconditional',
    ]);
    expect(tagChangesRules(broken("preview.yml", [["jobs", "tag-changes", "steps", check, "run"], replaced('"origin/$upstream"', "origin/staging")]))).toEqual([
      'job tag-changes: expected the step npm run check-tag-changes -- "$BASE_SHA" "$HEAD_SHA" "origin/$upstream" against the upstream of $BASE_REF, unconditional',
    ]);
    expect(tagChangesRules(broken("preview.yml", [["jobs", "tag-changes", "name"], "Tag changes"]))).toEqual([
      "jobs: expected a job tag-changes named tag-changes (the check the prod ruleset requires)",
    ]);
  });

  it("catches a trigger other than pull requests to the environment branches", () => {
    const bad = broken("preview.yml", [["on", "pull_request", "branches"], ["main"]]);
    expect(previewRules(bad)).toEqual(["on: expected pull_request to branches [staging, prod]"]);
  });

  it("catches a preview that no longer checks the environments and their generated lists", () => {
    const check = step("preview.yml", "preview", "Environments and the lists generated from them");
    expect(previewRules(broken("preview.yml", [["jobs", "preview", "steps", check, "if"], REMOVE]))).toEqual([
      "job preview: expected a step npm run --silent environments that runs whatever failed before it (if: ${{ !cancelled() }})",
    ]);
    expect(previewRules(broken("preview.yml", [["jobs", "preview", "steps", check, "run"], "npm run --silent environments -- --write"]))).toEqual([
      "job preview: expected a step npm run --silent environments that runs whatever failed before it (if: ${{ !cancelled() }})",
    ]);
  });

  it("catches a renamed check", () => {
    const bad = broken("preview.yml", [["jobs", "preview", "name"], "Preview"]);
    expect(previewRules(bad)).toEqual(["jobs: expected a job preview named preview (the check branch protection requires)"]);
  });

  it("catches cloud steps that forks would run", () => {
    const bad = broken("preview.yml", [["jobs", "preview", "steps", step("preview.yml", "preview", "Assume the preview role (OIDC)"), "if"], REMOVE]);
    expect(previewRules(bad)).toEqual([
      "job preview: step Assume the preview role (OIDC) needs the cloud and must be skipped for forks (if: env.TRUSTED == 'true')",
    ]);
  });

  it("catches an offline check that forks would skip", () => {
    const bad = broken("preview.yml", [["jobs", "preview", "steps", step("preview.yml", "preview", "Offline plan and policy check"), "if"], "env.TRUSTED == 'true'"]);
    expect(previewRules(bad)).toEqual(["job preview: the offline check must run for forks too (no if:)"]);
  });

  it("catches a fork test that trusts everyone, and a stack other than the base branch", () => {
    const bad = broken("preview.yml", [["jobs", "preview", "env", "TRUSTED"], "true"], [["jobs", "preview", "env", "STACK"], "staging"]);
    expect(previewRules(bad)).toEqual([
      "job preview: STACK must be the pull request's base branch (or the dispatched stack)",
      "job preview: TRUSTED must be false for pull requests from forks",
    ]);
  });

  it("catches a comment job with more than pull-requests: write, or one that forks would run", () => {
    const bad = broken(
      "preview.yml",
      [["jobs", "comment", "permissions"], { "pull-requests": "write", contents: "write" }],
      [["jobs", "comment", "if"], "${{ !cancelled() }}"],
    );
    expect(previewRules(bad)).toEqual([
      "job comment: expected permissions exactly { pull-requests: write }",
      "job comment: must be skipped for pull requests from forks",
    ]);
  });

  it("catches the preview job holding pull-requests: write", () => {
    const bad = broken("preview.yml", [["jobs", "preview", "permissions", "pull-requests"], "write"]);
    expect(previewRules(bad)).toEqual(["job preview: expected permissions exactly { contents: read, id-token: write }"]);
  });
});

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
