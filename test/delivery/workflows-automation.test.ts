/**
 * automation.yml: image automation proposals (its pull request script: scripts-automation-pr.test.ts).
 */
import { describe, expect, it } from "vitest";
import { automationRules, type Step } from "../support/lint/workflow-rules";
import { broken, REMOVE, replaced, step, workflow } from "../support/workflows";

describe("automation.yml", () => {
  it("proposes from the default branch only, with the deploy App narrowed to this repository", () => {
    expect(automationRules(workflow("automation.yml"))).toEqual([]);
  });

  it("catches a push trigger, another environment, repository code and a wider token", () => {
    const bad = broken(
      "automation.yml",
      [["on"], { push: { branches: ["image-updates/staging"] } }],
      [["jobs", "automation-pr", "environment"], "automation"],
      [["jobs", "automation-pr", "steps", 0, "with", "permission-administration"], "write"],
      [["jobs", "automation-pr", "steps"], (steps: unknown) => [...(steps as Step[]), { run: "npm ci" }]],
    );
    expect(automationRules(bad)).toEqual([
      "on: expected only schedule and workflow_dispatch (never a push of the automation branch)",
      "job automation-pr: environment must be staging (the deploy App's key of the environment that runs image automation)",
      "job automation-pr: must run no repository code",
      'job automation-pr: expected an App token step with {"client-id":"${{ vars.DEPLOY_APP_CLIENT_ID }}","private-key":"${{ secrets.DEPLOY_APP_PRIVATE_KEY }}","repositories":"${{ github.event.repository.name }}","permission-contents":"write","permission-pull-requests":"write"}',
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
    expect(automationRules(bad)).toEqual([
      "job scope: expected permissions exactly { contents: read }, no environment and no secrets",
      "job scope: expected its output scope from `node tools/ci/delivery/main.mts automation-scope` over the plan (--json) of each stack that runs image automation",
      "job automation-pr: expected needs: scope and the script's SCOPE from needs.scope.outputs.scope",
    ]);
    expect(automationRules(broken("automation.yml", [["jobs", "scope", "steps"], (steps: unknown) => [...(steps as Step[]), { run: "echo ${{ secrets.DEPLOY_APP_PRIVATE_KEY }}" }]]))).toEqual([
      "job scope: expected permissions exactly { contents: read }, no environment and no secrets",
    ]);
    expect(automationRules(broken("automation.yml", [["jobs", "scope"], REMOVE]))).toEqual(["jobs: expected a job scope"]);
  });
});
