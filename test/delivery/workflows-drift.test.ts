/**
 * drift.yml, by what it does on a schedule and on demand (test/support/behaviour/drift.ts): each
 * stack's drift check from its own branch, with the drift role and the reader App. Each check has a
 * bent copy of the workflow it catches. (Its issue script: scripts-drift-issue.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { auditWorkflow } from "../../tools/build/workflow-hardening.mts";
import { driftBehaviour } from "../support/behaviour/drift";
import { broken, raw, REMOVE, replaced, step, workflow } from "../support/workflows";

const deploy = workflow("deploy.yml");
const behaviour = (bad: ReturnType<typeof broken>) => driftBehaviour(bad, deploy);
const onSchedule = (bad: ReturnType<typeof broken>) => behaviour(bad).filter((p) => p.startsWith("schedule"));

describe("drift.yml", () => {
  it("checks every stack daily and on demand, on the default branch only", () => {
    expect(driftBehaviour(workflow("drift.yml"), deploy)).toEqual([]);
  });

  it("catches a missing schedule, a missing stack and a pull request trigger", () => {
    const bad = broken("drift.yml", [["on"], { pull_request: null, workflow_dispatch: null }], [["jobs", "drift", "strategy", "matrix", "stack"], ["staging"]]);
    expect(behaviour(bad)).toEqual([
      "on: pull_request starts it too; only schedule and workflow_dispatch may (what else starts it is not checked)",
      "on: expected one daily schedule (cron M H * * *)",
      "pull request into staging: drift must not start (it runs on schedule and on demand)",
      "schedule on main: expected a drift check of each stack [staging, prod], got []",
      "dispatch on main: expected a drift check of each stack [staging, prod], got [staging]",
    ]);
    expect(behaviour(broken("drift.yml", [["jobs", "drift", "strategy", "matrix", "stack"], ["staging"]]))).toEqual([
      "schedule on main: expected a drift check of each stack [staging, prod], got [staging]",
      "dispatch on main: expected a drift check of each stack [staging, prod], got [staging]",
    ]);
  });

  it("catches a trigger the checks do not cover", () => {
    expect(behaviour(broken("drift.yml", [["on", "workflow_run"], { workflows: ["deploy"], types: ["completed"] }]))).toEqual([
      "on: workflow_run starts it too; only schedule and workflow_dispatch may (what else starts it is not checked)",
    ]);
  });

  it("catches the deploy's concurrency group and a role other than the drift role", () => {
    const settings = step("drift.yml", "drift", "Resolve the stack's backend and drift role");
    const bad = broken(
      "drift.yml",
      [["jobs", "drift", "concurrency", "group"], "pulumi-${{ matrix.stack }}"],
      [["jobs", "drift", "steps", settings, "run"], replaced("--role drift", "--role preview")],
    );
    expect(onSchedule(bad)).toEqual([
      "schedule on main, stack staging: expected stack-settings --stack staging --role drift, got node tooling/tools/ci/delivery/main.mts stack-settings --stack staging --role preview --root stack",
      "schedule on main, stack staging: needs its own concurrency group per stack, never cancelled and apart from the deploy's (a waiting check would replace a waiting deploy)",
      "schedule on main, stack prod: expected stack-settings --stack prod --role drift, got node tooling/tools/ci/delivery/main.mts stack-settings --stack prod --role preview --root stack",
      "schedule on main, stack prod: needs its own concurrency group per stack, never cancelled and apart from the deploy's (a waiting check would replace a waiting deploy)",
    ]);
  });

  it("catches a stack checked out from the default branch, pulumi outside it, and a run of another branch", () => {
    const checkout = step("drift.yml", "drift", "Check out the stack's branch");
    const bad = broken("drift.yml", [["jobs", "drift", "steps", checkout, "with", "ref"], "main"], [["jobs", "drift", "if"], REMOVE]);
    expect(behaviour(bad).filter((p) => !p.includes("stack prod"))).toEqual([
      "schedule on main, stack staging: pulumi must run in a checkout of the staging branch (its program and stack file as deployed)",
      "dispatch on main, stack staging: pulumi must run in a checkout of the staging branch (its program and stack file as deployed)",
      "dispatch on feature: must run nothing (the drift role trusts the default branch only)",
    ]);
    const detect = step("drift.yml", "drift", "pulumi preview --refresh --expect-no-changes");
    expect(onSchedule(broken("drift.yml", [["jobs", "drift", "steps", detect, "working-directory"], REMOVE]))[0]).toBe(
      "schedule on main, stack staging: pulumi must run in a checkout of the staging branch (its program and stack file as deployed)",
    );
  });

  it("reads GitHub with the reader App only, handed to pulumi only", () => {
    const app = step("drift.yml", "drift", "Mint a read-only GitHub App token");
    const bad = broken("drift.yml", [["jobs", "drift", "steps", app, "with", "private-key"], "${{ secrets.DEPLOY_APP_PRIVATE_KEY }}"]);
    expect(onSchedule(bad)[0]).toBe(
      "schedule on main, stack staging: expected one reader App token (vars.READER_APP_CLIENT_ID, secrets.READER_APP_PRIVATE_KEY) scoped to the stack's owner and repositories",
    );
    // The deploy App's key would also need a protected environment.
    expect(auditWorkflow(raw("drift.yml").replace("secrets.READER_APP_PRIVATE_KEY", "secrets.DEPLOY_APP_PRIVATE_KEY"))).toEqual([
      "job drift step 9 (Mint a read-only GitHub App token): secrets.DEPLOY_APP_PRIVATE_KEY is a secret of the protected environments: the job needs environment:",
    ]);
    const issue = step("drift.yml", "drift", "Open, update or close the drift issue");
    const leaked = broken("drift.yml", [["jobs", "drift", "steps", issue, "env", "TOKEN"], "${{ steps.github-reader.outputs.token }}"]);
    expect(onSchedule(leaked)[0]).toBe("schedule on main, stack staging: the reader App token must reach pulumi preview only, as GITHUB_TOKEN");
  });

  it("catches a drift check that is not --refresh --expect-no-changes, an issue that ignores it, or wider permissions", () => {
    const detect = step("drift.yml", "drift", "pulumi preview --refresh --expect-no-changes");
    const issue = step("drift.yml", "drift", "Open, update or close the drift issue");
    const bad = broken(
      "drift.yml",
      [["jobs", "drift", "steps", detect, "run"], replaced("--refresh --expect-no-changes ", "")],
      [["jobs", "drift", "steps", issue, "env", "OUTCOME"], "drift"],
      [["jobs", "drift", "permissions", "contents"], "write"],
    );
    expect(onSchedule(bad).filter((p) => p.includes("stack staging"))).toEqual([
      'schedule on main, stack staging: the drift job\'s token has {"contents":"write","id-token":"write","issues":"write"}, expected exactly {"contents":"read","id-token":"write","issues":"write"}',
      expect.stringMatching(/^schedule on main, stack staging: expected pulumi preview --refresh --expect-no-changes --stack staging, got pulumi preview --stack staging /),
      "schedule on main, stack staging: the drift issue must follow the outcome of the pulumi preview step",
    ]);
  });
});
