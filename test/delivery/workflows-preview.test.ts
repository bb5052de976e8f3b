/**
 * preview.yml: what it runs on a pull request (its comment script: scripts-preview-comment.test.ts).
 */
import { describe, expect, it } from "vitest";
import { previewRules, tagChangesRules } from "../support/lint/workflow-rules";
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
