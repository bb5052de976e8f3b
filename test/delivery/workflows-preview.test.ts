/**
 * preview.yml, by what it does on each pull request and dispatch (test/support/behaviour/preview.ts):
 * the preview check with the cloud only for the repository's own branches, one comment, the tag
 * check into promoted production environments, zizmor. Each check has a bent copy of the workflow
 * it catches. (The comment job's script: scripts-preview-comment.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { previewBehaviour } from "../support/behaviour/preview";
import { commands, job, simulate } from "../support/workflow-sim";
import { broken, REMOVE, replaced, step, workflow } from "../support/workflows";

const CHECK = step("preview.yml", "tag-changes", "Image tags change upstream only");
const ENVIRONMENTS = step("preview.yml", "preview", "Environments and the lists generated from them");

describe("preview.yml", () => {
  it("previews the base branch's stack, with the cloud only for the repository's own branches", () => {
    expect(previewBehaviour(workflow("preview.yml"))).toEqual([]);
    const fork = job(simulate(workflow("preview.yml"), { name: "pull_request", base: "prod", fork: true }), "preview");
    expect(commands(fork).filter((c) => c[0] === "npm" || c[0] === "pulumi")).toEqual([
      ["npm", "ci", "--no-audit", "--no-fund"],
      ["npm", "run", "--silent", "plan", "--", "--stack", "prod", "--diff", "origin/prod", "2", ">&", "1"],
      ["npm", "run", "--silent", "environments"],
    ]);
  });

  it("catches a trigger other than pull requests into the environment branches", () => {
    expect(previewBehaviour(broken("preview.yml", [["on", "pull_request", "branches"], ["main"]])).slice(0, 3)).toEqual([
      "pull request into main: preview must not start",
      "pull request into staging: preview does not start",
      "fork pull request into staging: preview does not start",
    ]);
  });

  it("catches a renamed check, and one that previews another stack", () => {
    expect(previewBehaviour(broken("preview.yml", [["jobs", "preview", "name"], "Preview"]))[0]).toBe(
      "pull request into staging: expected one job with the check name preview (branch protection requires it), found 0",
    );
    const bad = broken("preview.yml", [["jobs", "preview", "env", "STACK"], "staging"]);
    expect(previewBehaviour(bad).filter((p) => p.startsWith("pull request into prod"))).toEqual([
      "pull request into prod: the offline plan must check stack prod, got npm run --silent plan -- --stack staging --diff origin/staging 2 >& 1",
      "pull request into prod: expected stack-settings --stack prod --role preview, got node tools/ci/delivery/main.mts stack-settings --stack staging --role preview",
      expect.stringMatching(/^pull request into prod: expected pulumi preview --stack prod --diff with the policy pack and the stack's policy config, got pulumi preview --stack staging /),
    ]);
  });

  it("catches a fork reaching the cloud, and an offline check that forks would skip", () => {
    const trustsAll = broken("preview.yml", [["jobs", "preview", "env", "TRUSTED"], "true"]);
    expect(previewBehaviour(trustsAll).filter((p) => p.startsWith("fork pull request into prod"))).toEqual([
      "fork pull request into prod: must not reach the cloud or a secret (a fork's code runs here)",
    ]);
    const role = step("preview.yml", "preview", "Assume the preview role (OIDC)");
    expect(previewBehaviour(broken("preview.yml", [["jobs", "preview", "steps", role, "if"], REMOVE])).filter((p) => p.startsWith("fork pull request into staging"))).toEqual([
      "fork pull request into staging: must not reach the cloud or a secret (a fork's code runs here)",
    ]);
    const plan = step("preview.yml", "preview", "Offline plan and policy check");
    expect(previewBehaviour(broken("preview.yml", [["jobs", "preview", "steps", plan, "if"], "env.TRUSTED == 'true'"])).filter((p) => p.startsWith("fork pull request into staging"))).toEqual([
      "fork pull request into staging: the offline plan must check stack staging, got none",
    ]);
  });

  it("catches a preview token that can write, and pulumi given another token", () => {
    const bad = broken("preview.yml", [["jobs", "preview", "permissions", "pull-requests"], "write"], [["jobs", "preview", "steps", step("preview.yml", "preview", "pulumi preview with the policy pack"), "env", "GITHUB_TOKEN"], "${{ secrets.GH_PAT }}"]);
    expect(previewBehaviour(bad).filter((p) => p.startsWith("pull request into staging"))).toEqual([
      'pull request into staging: the preview job\'s token has {"contents":"read","id-token":"write","pull-requests":"write"}, expected exactly {"contents":"read","id-token":"write"}',
      "pull request into staging: pulumi preview must get the job's own read-only token as GITHUB_TOKEN",
    ]);
  });

  it("catches a preview that no longer checks the environments after a failure, or only writes them", () => {
    expect(previewBehaviour(broken("preview.yml", [["jobs", "preview", "steps", ENVIRONMENTS, "if"], REMOVE]))[0]).toBe(
      "pull request into staging: npm run --silent environments (the stack files as one set, and every generated list) must run even after a failed step",
    );
    expect(previewBehaviour(broken("preview.yml", [["jobs", "preview", "steps", ENVIRONMENTS, "run"], "npm run --silent environments -- --write"]))[0]).toBe(
      "pull request into staging: npm run --silent environments (the stack files as one set, and every generated list) must run even after a failed step",
    );
  });

  it("catches a comment job with more than pull-requests: write, one that forks would run, or one without the report", () => {
    const bad = broken(
      "preview.yml",
      [["jobs", "comment", "permissions"], { "pull-requests": "write", contents: "write" }],
      [["jobs", "comment", "steps", step("preview.yml", "comment", "Check out the comment script"), "with", "ref"], REMOVE],
      [["jobs", "comment", "if"], "${{ !cancelled() }}"],
    );
    expect(previewBehaviour(bad).filter((p) => p.includes(" into staging"))).toEqual([
      'pull request into staging: the comment job\'s token has {"pull-requests":"write","contents":"write"}, expected exactly {"contents":"read","pull-requests":"write"}',
      "pull request into staging: the comment job may check out ⟨github.event.pull_request.base.sha⟩ only, got (the default: the pull request's merge commit)",
      "fork pull request into staging: must not comment (a fork's pull request gets a read-only token)",
    ]);
    const noReport = broken("preview.yml", [["jobs", "comment", "steps", step("preview.yml", "comment", "Create or update the preview comment"), "env", "BODY"], "${{ steps.report.outputs.body }}"]);
    expect(previewBehaviour(noReport)[0]).toBe("pull request into staging: the comment must carry the preview job's report (output body of its preview-comment step)");
    const onlyWhenGreen = broken("preview.yml", [["jobs", "comment", "if"], "github.event_name == 'workflow_dispatch' || github.event.pull_request.head.repo.full_name == github.repository"]);
    expect(previewBehaviour(onlyWhenGreen)[0]).toBe("pull request into staging: expected a comment job that runs even when the preview fails");
  });

  it("catches a comment job that loads what the pull request's job wrote, or checks out through a differently spelled action", () => {
    const COMMENT_CHECKOUT = step("preview.yml", "comment", "Check out the comment script");
    const artifact = broken("preview.yml", [
      ["jobs", "comment", "steps"],
      (steps: unknown[]) => [...steps.slice(0, 1), { uses: "actions/download-artifact@634f93cb2916e3fdff6788551b99b062d0335ce0", with: { name: "tools", path: "tooling/tools/ci/delivery" } }, ...steps.slice(1)],
    ]);
    expect(previewBehaviour(artifact).filter((p) => p.includes(" into staging"))).toEqual([
      "pull request into staging: the comment job uses actions/download-artifact; it holds a write token and uses actions/checkout and actions/github-script only",
    ]);
    const spelled = broken(
      "preview.yml",
      [["jobs", "comment", "steps", COMMENT_CHECKOUT, "uses"], replaced("actions/checkout", "Actions/Checkout")],
      [["jobs", "comment", "steps", COMMENT_CHECKOUT, "with", "ref"], "${{ github.event.pull_request.head.sha }}"],
    );
    expect(previewBehaviour(spelled).filter((p) => p.startsWith("pull request into staging"))).toEqual([
      "pull request into staging: the comment job may check out ⟨github.event.pull_request.base.sha⟩ only, got ⟨github.event.pull_request.head.sha⟩",
    ]);
  });

  it("catches a preview that skips new commits, starts for some changes only, or starts on other events", () => {
    expect(previewBehaviour(broken("preview.yml", [["on", "pull_request", "types"], ["opened"]]))).toEqual([
      "pull request into staging (synchronize): preview does not start",
      "pull request into staging (reopened): preview does not start",
      "pull request into prod (synchronize): preview does not start",
      "pull request into prod (reopened): preview does not start",
    ]);
    expect(previewBehaviour(broken("preview.yml", [["on", "pull_request", "paths"], ["Pulumi.*.yaml", "components/**"]])).slice(0, 2)).toEqual([
      "pull request into staging: preview does not start",
      "fork pull request into staging: preview does not start",
    ]);
    expect(previewBehaviour(broken("preview.yml", [["on", "workflow_run"], { workflows: ["deploy"], types: ["completed"] }]))).toEqual([
      "on: workflow_run starts it too; only pull_request and workflow_dispatch may (what else starts it is not checked)",
    ]);
  });

  it("catches a check that passes whatever the plan and the preview say, or fails when they are clean", () => {
    const VERDICT = step("preview.yml", "preview", "Fail on a policy violation, a config error or a failed preview");
    const passesAnyway = (at: string) => [
      `pull request into ${at}: a failed offline plan (its step's output exit-code 1) must fail the preview check`,
      `pull request into ${at}: a failed pulumi preview (its step's output exit-code 1) must fail the preview check`,
      `fork pull request into ${at}: a failed offline plan (its step's output exit-code 1) must fail the preview check`,
      `dispatch on main {"stack":"${at}","pr":7}: a failed offline plan (its step's output exit-code 1) must fail the preview check`,
      `dispatch on main {"stack":"${at}","pr":7}: a failed pulumi preview (its step's output exit-code 1) must fail the preview check`,
    ];
    const ofVerdict = (problems: string[]) => problems.filter((p) => p.includes("the preview check"));
    expect(ofVerdict(previewBehaviour(broken("preview.yml", [["jobs", "preview", "steps", VERDICT, "continue-on-error"], true])))).toEqual([...passesAnyway("staging"), ...passesAnyway("prod")]);
    expect(ofVerdict(previewBehaviour(broken("preview.yml", [["jobs", "preview", "steps"], (steps: unknown[]) => steps.filter((_, i) => i !== VERDICT)])))).toEqual([...passesAnyway("staging"), ...passesAnyway("prod")]);
    expect(ofVerdict(previewBehaviour(broken("preview.yml", [["jobs", "preview", "steps", VERDICT, "run"], replaced('exit "$status"', "exit 0")])))).toEqual([...passesAnyway("staging"), ...passesAnyway("prod")]);
    // Only the preview's verdict dropped: the plan's still fails the check.
    expect(ofVerdict(previewBehaviour(broken("preview.yml", [["jobs", "preview", "steps", VERDICT, "run"], replaced('[ "${PREVIEW_EXIT:-missing}" != 0 ]', "false")]))).slice(0, 1)).toEqual([
      "pull request into staging: a failed pulumi preview (its step's output exit-code 1) must fail the preview check",
    ]);
    expect(ofVerdict(previewBehaviour(broken("preview.yml", [["jobs", "preview", "steps", VERDICT, "run"], replaced('"${PLAN_EXIT:-missing}" != 0', '"${PLAN_EXIT:-missing}" != 1')]))).slice(0, 2)).toEqual([
      "pull request into staging: a failed offline plan (its step's output exit-code 1) must fail the preview check",
      "pull request into staging: a clean offline plan and preview must pass the preview check",
    ]);
  });

  it("catches previews of two pull requests that wait for each other", () => {
    expect(previewBehaviour(broken("preview.yml", [["concurrency", "group"], "preview"]))).toEqual([
      "concurrency: expected one group per pull request, shared with a dispatched preview of that pull request",
    ]);
  });
});

describe("preview.yml: the tag check", () => {
  it("catches a tag check that skips the promotion pull request, runs where it should not, or is privileged", () => {
    const skipsPromotion = broken("preview.yml", [["jobs", "tag-changes", "if"], "github.event_name == 'pull_request' && github.base_ref == 'prod' && github.event.pull_request.head.ref != 'staging'"]);
    expect(previewBehaviour(skipsPromotion)).toEqual(["pull request from staging into prod: expected one job with the check name tag-changes (the ruleset requires it), found 0"]);
    expect(previewBehaviour(broken("preview.yml", [["jobs", "tag-changes", "if"], "github.event_name == 'pull_request'"]))).toEqual([
      "pull request into staging: tag-changes must not run (staging runs image automation or receives no promotion)",
      "fork pull request into staging: tag-changes must not run (staging runs image automation or receives no promotion)",
    ]);
    const privileged = broken("preview.yml", [["jobs", "tag-changes", "permissions", "id-token"], "write"], [["jobs", "tag-changes", "steps", 0, "with", "fetch-depth"], REMOVE]);
    expect(previewBehaviour(privileged).slice(0, 2)).toEqual([
      'pull request into prod: tag-changes must run with {"contents":"read"} only, no environment and no secrets',
      "pull request into prod: tag-changes needs the full history (checkout fetch-depth 0)",
    ]);
  });

  it("catches a tag check of the wrong commits, against a fixed branch, or one that cannot fail", () => {
    const expectedFor = (bad: ReturnType<typeof broken>) => previewBehaviour(bad).filter((p) => p.startsWith("pull request into prod"));
    const message = (got: string) => `pull request into prod: expected check-tag-changes of the pull request's base and head commits against origin/<its upstream>, failing the job, got ${got}`;
    expect(expectedFor(broken("preview.yml", [["jobs", "tag-changes", "env", "HEAD_SHA"], "${{ github.sha }}"]))).toEqual([
      message("npm run --silent check-tag-changes -- ⟨github.event.pull_request.base.sha⟩ ⟨github.sha⟩ origin/$upstream"),
    ]);
    expect(expectedFor(broken("preview.yml", [["jobs", "tag-changes", "steps", CHECK, "run"], replaced('"origin/$upstream"', "origin/staging")]))).toEqual([
      message("npm run --silent check-tag-changes -- ⟨github.event.pull_request.base.sha⟩ ⟨github.event.pull_request.head.sha⟩ origin/staging"),
    ]);
    expect(expectedFor(broken("preview.yml", [["jobs", "tag-changes", "steps", CHECK, "continue-on-error"], true]))).toEqual([
      message("npm run --silent check-tag-changes -- ⟨github.event.pull_request.base.sha⟩ ⟨github.event.pull_request.head.sha⟩ origin/$upstream"),
    ]);
    expect(expectedFor(broken("preview.yml", [["jobs", "tag-changes", "env", "BASE_REF"], "staging"]))).toEqual([
      "pull request into prod: the upstream must be read for prod (npm run environments -- --upstream prod)",
    ]);
  });

  it("catches zizmor unpinned or over less than every workflow", () => {
    const zizmor = step("preview.yml", "workflows", "zizmor (GitHub Actions security analysis)");
    expect(previewBehaviour(broken("preview.yml", [["jobs", "workflows", "steps", zizmor, "run"], replaced(" templates/app-ci.yml", "")]))).toEqual([
      "pull requests: expected zizmor (pinned, offline) over .github/workflows and templates/app-ci.yml, with contents: read only",
    ]);
    expect(previewBehaviour(broken("preview.yml", [["jobs", "workflows", "steps", zizmor, "run"], replaced("zizmor==1.32.0", "zizmor")]))).toEqual([
      "pull requests: expected zizmor (pinned, offline) over .github/workflows and templates/app-ci.yml, with contents: read only",
    ]);
  });
});
