/**
 * deploy.yml: pulumi up per environment branch, the deploy App token and the promotion job (its script:
 * scripts-promote.test.ts).
 */
import { describe, expect, it } from "vitest";
import { auditWorkflow, deployRules } from "../support/lint/workflow-rules";
import { broken, raw, REMOVE, replaced, step, workflow } from "../support/workflows";

describe("deploy.yml", () => {
  it("runs pulumi up per environment branch, in its environment, never cancelled", () => {
    expect(deployRules(workflow("deploy.yml"))).toEqual([]);
  });

  it("catches a concurrency group that cancels, or one shared by all stacks", () => {
    const cancels = broken("deploy.yml", [["concurrency", "cancel-in-progress"], true]);
    expect(deployRules(cancels)).toEqual(["concurrency: expected { group: pulumi-${{ github.ref_name }}, cancel-in-progress: false }"]);
    const shared = broken("deploy.yml", [["concurrency", "group"], "pulumi"]);
    expect(deployRules(shared)).toEqual(["concurrency: expected { group: pulumi-${{ github.ref_name }}, cancel-in-progress: false }"]);
  });

  it("catches a missing environment and extra triggers", () => {
    const bad = broken("deploy.yml", [["jobs", "deploy", "environment"], REMOVE], [["on", "workflow_dispatch"], null]);
    expect(deployRules(bad)).toEqual(["on: expected only push to branches [staging, prod]", "job deploy: environment must be ${{ github.ref_name }}"]);
  });

  it("catches the preview role used for up", () => {
    const settings = step("deploy.yml", "deploy", "Resolve the stack's backend and deploy role");
    const bad = broken("deploy.yml", [["jobs", "deploy", "steps", settings, "run"], replaced("--role deploy", "--role preview")]);
    expect(deployRules(bad)).toEqual(["job deploy: the AWS role must be the stack's deploy role (--role deploy)"]);
  });
});

describe("deploy.yml: the GitHub App token and the promotion", () => {
  it("hands pulumi up a token of the deploy App, scoped to the stack's repositories", () => {
    const app = step("deploy.yml", "deploy", "Mint the GitHub App installation token");
    const up = step("deploy.yml", "deploy", "pulumi up with the policy pack");
    expect(workflow("deploy.yml").jobs?.deploy?.steps?.[app]?.with).toEqual({
      "client-id": "${{ vars.DEPLOY_APP_CLIENT_ID }}",
      "private-key": "${{ secrets.DEPLOY_APP_PRIVATE_KEY }}",
      owner: "${{ steps.stack.outputs.github-owner }}",
      repositories: "${{ steps.stack.outputs.github-repositories }}",
    });
    // After everything else is installed, right before the one step that uses it.
    expect(app).toBe(up - 1);
    const noRepos = broken("deploy.yml", [["jobs", "deploy", "steps", app, "with", "repositories"], REMOVE]);
    expect(deployRules(noRepos)).toEqual([
      'job deploy: expected an App token step with {"client-id":"${{ vars.DEPLOY_APP_CLIENT_ID }}","private-key":"${{ secrets.DEPLOY_APP_PRIVATE_KEY }}","owner":"${{ steps.stack.outputs.github-owner }}","repositories":"${{ steps.stack.outputs.github-repositories }}"}',
    ]);
    const noToken = broken("deploy.yml", [["jobs", "deploy", "steps", up, "env"], REMOVE]);
    expect(deployRules(noToken)).toEqual(["job deploy: pulumi must get the App token as GITHUB_TOKEN"]);
  });

  it("promotes only after a successful deploy of an environment that promotes, one pull request per downstream environment, with no more than the promotion needs", () => {
    const bad = broken("deploy.yml", [["jobs", "promote", "if"], "always()"], [["jobs", "promote", "permissions", "pull-requests"], "write"]);
    expect(deployRules(bad)).toEqual([
      "job promote: must run only after a successful deploy of an environment that promotes (needs: deploy, if: needs.deploy.outputs.promotes-to != '[]')",
      "job promote: expected permissions exactly { contents: read } (it writes with the App token)",
    ]);
    // A hand-kept list of downstream environments, a fixed pull request, or a deploy that does not read them.
    const fixed = broken(
      "deploy.yml",
      [["jobs", "promote", "strategy", "matrix", "base"], "[prod]"],
      [["jobs", "promote", "steps", 1, "env", "BASE"], "prod"],
      [["jobs", "deploy", "steps", step("deploy.yml", "deploy", "Read the environments this one promotes to"), "run"], replaced('"$STACK"', "staging")],
    );
    expect(deployRules(fixed)).toEqual([
      'job deploy: expected a step promotion that writes npm run environments -- --promotes-to "$STACK" to the job output promotes-to',
      "job promote: expected a matrix over base: ${{ fromJSON(needs.deploy.outputs.promotes-to) }} (one pull request per downstream environment)",
      "job promote: the pull request must go from HEAD ${{ github.ref_name }} to BASE ${{ matrix.base }}",
    ]);
    expect(deployRules(broken("deploy.yml", [["jobs", "promote", "environment"], "staging"]))).toEqual([
      'job promote: expected environment ${{ github.ref_name }} (the deployed one) and an App token step with {"client-id":"${{ vars.DEPLOY_APP_CLIENT_ID }}","private-key":"${{ secrets.DEPLOY_APP_PRIVATE_KEY }}","repositories":"${{ github.event.repository.name }}","permission-contents":"read","permission-pull-requests":"write"}',
    ]);
    const wider = broken("deploy.yml", [["jobs", "promote", "steps", 0, "with", "permission-administration"], "write"]);
    expect(deployRules(wider)).toEqual([
      'job promote: expected environment ${{ github.ref_name }} (the deployed one) and an App token step with {"client-id":"${{ vars.DEPLOY_APP_CLIENT_ID }}","private-key":"${{ secrets.DEPLOY_APP_PRIVATE_KEY }}","repositories":"${{ github.event.repository.name }}","permission-contents":"read","permission-pull-requests":"write"}',
    ]);
    expect(auditWorkflow(raw("deploy.yml"))).toEqual([]);
    expect(workflow("deploy.yml").jobs?.promote?.steps?.some((s) => s.uses?.startsWith("actions/checkout@") || s.run !== undefined)).toBe(false);
  });

  it("opens the pull request with the App token, so that its preview starts by itself", () => {
    const script = workflow("deploy.yml").jobs?.promote?.steps?.find((s) => s.uses?.startsWith("actions/github-script@"));
    expect(script?.with?.["github-token"]).toBe("${{ steps.promoter.outputs.token }}");
    expect(auditWorkflow(raw("deploy.yml").replace("github-token: ${{ steps.promoter.outputs.token }}", "github-token: ${{ github.token }}"))).toEqual([]);
    // The token anywhere else is refused.
    const leaked = raw("deploy.yml").replace("          DEPLOYED_SHA: ${{ github.sha }}\n", "          DEPLOYED_SHA: ${{ github.sha }}\n          TOKEN: ${{ steps.promoter.outputs.token }}\n");
    expect(leaked).not.toBe(raw("deploy.yml"));
    expect(auditWorkflow(leaked)).toEqual([
      "job promote step 2 (Open or refresh the promotion pull request): the App token may only be the GITHUB_TOKEN of a step that runs pulumi, or the github-token of a github-script in a job that runs no code",
    ]);
  });
});
