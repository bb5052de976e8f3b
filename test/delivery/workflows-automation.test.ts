/**
 * automation.yml, by what a schedule or dispatch runs (test/support/behaviour/automation.ts): the
 * scope from the offline plans without credentials, then the pull request with a narrowed deploy App
 * token. Each check has a bent copy of the workflow it catches. (Its pull request script:
 * scripts-automation-pr.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { automationBehaviour } from "../support/behaviour/automation";
import { broken, REMOVE, replaced, step, workflow } from "../support/workflows";

const onSchedule = (bad: ReturnType<typeof broken>) => automationBehaviour(bad).filter((p) => p.startsWith("schedule"));

describe("automation.yml", () => {
  it("proposes from the default branch only, with the deploy App narrowed to this repository", () => {
    expect(automationBehaviour(workflow("automation.yml"))).toEqual([]);
  });

  it("catches a push trigger, another environment, shell commands and a wider token", () => {
    const bad = broken(
      "automation.yml",
      [["on", "push"], { branches: ["image-updates/staging"] }],
      [["jobs", "automation-pr", "environment"], "automation"],
      [["jobs", "automation-pr", "steps", 0, "with", "permission-administration"], "write"],
      [["jobs", "automation-pr", "steps"], (steps: unknown[]) => [...steps, { run: "npm ci" }]],
      [["jobs", "automation-pr", "steps", step("automation.yml", "automation-pr", "Check out the automation pull request script"), "with", "ref"], "image-updates/staging"],
    );
    expect(automationBehaviour(bad).filter((p) => !p.startsWith("dispatch"))).toEqual([
      "on: push starts it too; only schedule and workflow_dispatch may (what else starts it is not checked)",
      "push to image-updates/staging: automation must not start (never a push of the automation branch)",
      "schedule on main: the pull request job must run in staging (the deploy App's key of the environment that runs image automation), got automation",
      'schedule on main: expected a deploy App token for this repository only, narrowed to {"contents":"write","pull-requests":"write"}, got {"contents":"write","pull-requests":"write","administration":"write"}',
      "schedule on main: the pull request job may check out the default branch's commit only (⟨github.sha⟩), got image-updates/staging",
      "schedule on main: the pull request job runs shell commands (npm ci); it holds a write token and runs none",
    ]);
  });

  it("catches an action beside the token, the checkout and the script in the job holding the write token", () => {
    const docker = broken("automation.yml", [["jobs", "automation-pr", "steps"], (steps: unknown[]) => [...steps, { uses: "docker://alpine:3.20", with: { args: "sh -c env" } }]]);
    expect(automationBehaviour(docker)).toEqual([
      "schedule on main: the pull request job uses docker://alpine:3.20; it holds a write token and uses actions/create-github-app-token, actions/checkout and actions/github-script only",
      "dispatch on main: the pull request job uses docker://alpine:3.20; it holds a write token and uses actions/create-github-app-token, actions/checkout and actions/github-script only",
    ]);
  });

  it("catches a trigger the checks do not cover", () => {
    expect(automationBehaviour(broken("automation.yml", [["on", "pull_request_target"], null]))).toEqual([
      "on: pull_request_target starts it too; only schedule and workflow_dispatch may (what else starts it is not checked)",
    ]);
  });

  it("catches a run on another branch, and a proposal without a scope", () => {
    expect(automationBehaviour(broken("automation.yml", [["jobs", "automation-pr", "if"], REMOVE], [["jobs", "scope", "if"], REMOVE]))).toEqual([
      "dispatch on feature: must run nothing (only the default branch proposes)",
    ]);
    expect(automationBehaviour(broken("automation.yml", [["jobs", "automation-pr", "if"], "always()"]))).toEqual([
      "schedule on main: must propose nothing when the scope could not be read",
      "dispatch on main: must propose nothing when the scope could not be read",
      "dispatch on feature: must run nothing (only the default branch proposes)",
    ]);
  });

  it("catches a scope that is not the program's, or a scope job with credentials", () => {
    const script = step("automation.yml", "automation-pr", "Open or refresh the automation pull request");
    const read = step("automation.yml", "scope", "Read the image automations of the stacks that run it");
    const bad = broken(
      "automation.yml",
      [["jobs", "scope", "environment"], "staging"],
      [["jobs", "scope", "steps", read, "run"], replaced('--stack "$stack" --json', "--stack staging --json")],
      [["jobs", "automation-pr", "steps", script, "env", "SCOPE"], '[{"base":"staging","head":"image-updates/staging","paths":["clusters/staging/"],"policies":[]}]'],
    );
    expect(onSchedule(bad)).toEqual([
      'schedule on main: the scope job must run with {"contents":"read"} only, no environment and no secrets, got {"contents":"read"} in staging',
      "schedule on main: the scope must come from the offline plan (--json) of each stack npm run environments -- --image-automation names, got npm run --silent plan -- --stack staging --json --no-policy > ⟨runner.temp⟩/plan-$stack.json",
      "schedule on main: the pull request job must act on the scope job's output only (needs it, SCOPE from it)",
    ]);
    expect(onSchedule(broken("automation.yml", [["jobs", "scope", "steps"], (steps: unknown[]) => [...steps, { run: "echo ${{ secrets.DEPLOY_APP_PRIVATE_KEY }}" }]]))).toEqual([
      'schedule on main: the scope job must run with {"contents":"read"} only, no environment and no secrets, got {"contents":"read"}',
    ]);
    expect(onSchedule(broken("automation.yml", [["jobs", "scope"], REMOVE], [["jobs", "automation-pr", "needs"], REMOVE]))).toEqual([
      "schedule on main: expected a job that reads the scope (automation-scope) and one that proposes with the deploy App, got automation-pr",
    ]);
  });
});
