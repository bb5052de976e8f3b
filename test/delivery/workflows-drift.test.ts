/**
 * drift.yml: the daily drift check (its issue script: scripts-drift-issue.test.ts).
 */
import { describe, expect, it } from "vitest";
import { auditWorkflow, driftRules } from "../support/lint/workflow-rules";
import { broken, raw, REMOVE, replaced, step, workflow } from "../support/workflows";

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
