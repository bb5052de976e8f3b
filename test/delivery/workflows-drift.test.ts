/**
 * drift.yml: the daily drift check, and its issue script run against a fake GitHub API.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { DRIFT_MARKER } from "../../tools/ci/delivery/drift.mts";
import { auditWorkflow, driftRules } from "../support/lint/workflow-rules";
import { bot, fakeCore, fakeGitHub, repo, runEnv, runScript } from "../support/github-script";
import { broken, raw, REMOVE, replaced, root, step, workflow } from "../support/workflows";

describe("drift.yml", () => {
  it("checks every stack daily and on demand", () => {
    expect(driftRules(workflow("drift.yml"))).toEqual([]);
  });

  it("catches a missing schedule, a missing stack and a pull request trigger", () => {
    const bad = broken("drift.yml", [["on"], { pull_request: null, workflow_dispatch: null }], [["jobs", "drift", "strategy", "matrix", "stack"], ["staging"]]);
    expect(driftRules(bad)).toEqual([
      "on: expected one daily schedule (cron M H * * *)",
      "on: drift runs on schedule and on demand only",
      "job drift: expected a matrix over stack [staging, prod]",
    ]);
  });

  it("catches the deploy concurrency group and a role other than the drift role", () => {
    const settings = step("drift.yml", "drift", "Resolve the stack's backend and drift role");
    const bad = broken(
      "drift.yml",
      [["jobs", "drift", "concurrency", "group"], "pulumi-${{ matrix.stack }}"],
      [["jobs", "drift", "steps", settings, "run"], replaced("--role drift", "--role preview")],
    );
    expect(driftRules(bad)).toEqual([
      "job drift: must not share the deploy concurrency group (a waiting check would replace a waiting deploy)",
      "job drift: the AWS role must be the stack's drift role (--role drift)",
    ]);
  });

  it("catches a stack checked out from the default branch, and a run of another branch", () => {
    const checkout = step("drift.yml", "drift", "Check out the stack's branch");
    const bad = broken("drift.yml", [["jobs", "drift", "steps", checkout, "with", "ref"], "staging"], [["jobs", "drift", "if"], REMOVE]);
    expect(driftRules(bad)).toEqual([
      "job drift: must run only on the default branch (the drift role trusts nothing else)",
      "job drift: each stack must be checked out from its own branch (ref: ${{ matrix.stack }}, path: stack)",
    ]);
    const detect = step("drift.yml", "drift", "pulumi preview --refresh --expect-no-changes");
    expect(driftRules(broken("drift.yml", [["jobs", "drift", "steps", detect, "working-directory"], REMOVE]))).toEqual([
      "job drift: pulumi must run in the stack's checkout (working-directory: stack)",
    ]);
  });

  it("reads GitHub with the reader App only", () => {
    const app = step("drift.yml", "drift", "Mint a read-only GitHub App token");
    const bad = broken("drift.yml", [["jobs", "drift", "steps", app, "with", "private-key"], "${{ secrets.DEPLOY_APP_PRIVATE_KEY }}"]);
    expect(driftRules(bad)[0]).toMatch(/^job drift: expected an App token step with \{"client-id":"\$\{\{ vars.READER_APP_CLIENT_ID \}\}","private-key":"\$\{\{ secrets.READER_APP_PRIVATE_KEY \}\}"/);
    // The deploy App's key would also need a protected environment.
    expect(auditWorkflow(raw("drift.yml").replace("secrets.READER_APP_PRIVATE_KEY", "secrets.DEPLOY_APP_PRIVATE_KEY"))).toEqual([
      "job drift step 9 (Mint a read-only GitHub App token): secrets.DEPLOY_APP_PRIVATE_KEY is a secret of the protected environments: the job needs environment:",
    ]);
  });

  it("catches a drift check that is not --refresh --expect-no-changes", () => {
    const detect = step("drift.yml", "drift", "pulumi preview --refresh --expect-no-changes");
    const bad = broken("drift.yml", [["jobs", "drift", "steps", detect, "run"], replaced("--refresh --expect-no-changes ", "")]);
    expect(driftRules(bad)).toEqual(['job drift: no pulumi preview --refresh --expect-no-changes --stack "$STACK"']);
  });
});

// The script hands everything to syncDriftIssue of tools/ci/delivery/drift.mts (tested on its own in
// test/delivery/delivery-drift.test.ts); these run the workflow's script with that module, as the job does.
describe("the drift issue script", () => {
  const tools = path.join(root, "tools", "ci", "delivery", "drift.mts");
  const context = { repo, runId: 60, eventName: "schedule" };
  const reportDir = fs.mkdtempSync(path.join(os.tmpdir(), "drift-"));
  const reportFile = path.join(reportDir, "drift.md");
  fs.writeFileSync(reportFile, `${DRIFT_MARKER}\nthe diff`);
  const issue = { number: 3, title: "Drift detected: prod", user: bot, html_url: "https://github.com/i/3" };

  it("opens one issue per stack, labelled drift, creating the label once", async () => {
    const { github, calls } = fakeGitHub({
      "issues.listForRepo": () => [{ ...issue, title: "Drift detected: staging" }, { ...issue, number: 4, pull_request: {} }],
      "issues.getLabel": () => {
        throw Object.assign(new Error("Not Found"), { status: 404 });
      },
      "issues.createLabel": () => ({}),
      "issues.create": () => ({ html_url: "https://github.com/i/5" }),
    });
    const { core, log } = fakeCore();
    await runScript("drift.yml", "drift", { github, context, core, env: { ...runEnv, DELIVERY_TOOLS: tools, STACK: "prod", OUTCOME: "drift", REPORT_FILE: reportFile } });
    expect(calls.map((c) => c.method)).toEqual(["issues.listForRepo", "issues.getLabel", "issues.createLabel", "issues.create"]);
    expect(calls[0]?.params).toEqual({ ...repo, state: "open", labels: "drift", per_page: 100 });
    expect(calls[3]?.params).toEqual({ ...repo, title: "Drift detected: prod", body: `${DRIFT_MARKER}\nthe diff`, labels: ["drift"] });
    expect(log).toEqual(["warning: stack prod has drifted: opened https://github.com/i/5"]);
  });

  it("updates the open issue while the drift lasts", async () => {
    const { github, calls } = fakeGitHub({ "issues.listForRepo": () => [issue], "issues.update": () => ({}) });
    await runScript("drift.yml", "drift", { github, context, core: fakeCore().core, env: { ...runEnv, DELIVERY_TOOLS: tools, STACK: "prod", OUTCOME: "drift", REPORT_FILE: reportFile } });
    expect(calls.map((c) => c.method)).toEqual(["issues.listForRepo", "issues.update"]);
    expect(calls[1]?.params).toEqual({ ...repo, issue_number: 3, body: `${DRIFT_MARKER}\nthe diff` });
  });

  it("closes the issue once the stack is clean, and leaves a person's issue alone", async () => {
    const { github, calls } = fakeGitHub({
      "issues.listForRepo": () => [issue],
      "issues.createComment": () => ({}),
      "issues.update": () => ({}),
    });
    await runScript("drift.yml", "drift", { github, context, core: fakeCore().core, env: { ...runEnv, DELIVERY_TOOLS: tools, STACK: "prod", OUTCOME: "clean", REPORT_FILE: reportFile } });
    expect(calls.map((c) => c.method)).toEqual(["issues.listForRepo", "issues.createComment", "issues.update"]);
    expect(calls[1]?.params.body).toBe("No drift on `prod` any more ([run log](https://github.com/acme-corp/gitops-platform/actions/runs/60)): closing.");
    expect(calls[2]?.params).toEqual({ ...repo, issue_number: 3, state: "closed", state_reason: "completed" });

    const person = fakeGitHub({ "issues.listForRepo": () => [{ ...issue, user: { login: "someone" } }] });
    await runScript("drift.yml", "drift", { github: person.github, context, core: fakeCore().core, env: { ...runEnv, DELIVERY_TOOLS: tools, STACK: "prod", OUTCOME: "clean" } });
    expect(person.calls.map((c) => c.method)).toEqual(["issues.listForRepo"]);
  });

  it("fails on an outcome it does not know", async () => {
    const { github } = fakeGitHub({ "issues.listForRepo": () => [] });
    const { core, log } = fakeCore();
    await runScript("drift.yml", "drift", { github, context, core, env: { ...runEnv, DELIVERY_TOOLS: tools, STACK: "prod", OUTCOME: "" } });
    expect(log).toEqual(['failed: unexpected drift outcome ""']);
  });
});
