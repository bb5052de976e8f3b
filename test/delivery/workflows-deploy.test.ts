/**
 * deploy.yml, by what it does on each event (test/support/behaviour/deploy.ts): pulumi up per
 * environment branch with the deploy role and App token, then one promotion pull request per
 * downstream environment. Each check has a bent copy of the workflow it catches. (The promotion
 * job's script: scripts-promote.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { deployBehaviour } from "../support/behaviour/deploy";
import { commands, job, jobs, simulate } from "../support/workflow-sim";
import { broken, REMOVE, replaced, step, workflow } from "../support/workflows";

const UP = step("deploy.yml", "deploy", "pulumi up with the policy pack");
const APP = step("deploy.yml", "deploy", "Mint the GitHub App installation token");
const SETTINGS = step("deploy.yml", "deploy", "Resolve the stack's backend and deploy role");
const ROLE = step("deploy.yml", "deploy", "Assume the deploy role (OIDC)");

describe("deploy.yml", () => {
  it("deploys each environment branch and promotes it downstream, and nothing else starts it", () => {
    expect(deployBehaviour(workflow("deploy.yml"))).toEqual([]);
    const staging = simulate(workflow("deploy.yml"), { name: "push", branch: "staging" }, { outputs: { deploy: { "promotes-to": '["prod"]' } } });
    expect(commands(job(staging, "deploy")).filter((c) => c[0] === "pulumi")).toEqual([
      ["pulumi", "login", "⟨steps.stack.outputs.backend-url⟩"],
      [
        "pulumi", "up", "--yes", "--stack", "staging", "--non-interactive", "--diff", "--color", "never", "--suppress-progress",
        "--policy-pack", "policies", "--policy-pack-config", "⟨steps.stack.outputs.policy-config⟩",
        "--message", "acme-corp/gitops-platform@⟨github.sha⟩ (run ⟨github.run_id⟩)", "2", ">&", "1",
      ],
    ]);
    expect(jobs(staging, "promote").map((j) => [j.name, j.environment])).toEqual([["promote (prod)", "staging"]]);
  });

  it("catches other triggers, and an environment branch that no longer deploys", () => {
    expect(deployBehaviour(broken("deploy.yml", [["on", "workflow_dispatch"], null], [["on", "push", "branches"], ["staging"]]))).toEqual([
      "on: workflow_dispatch starts it too; only push may (what else starts it is not checked)",
      "dispatch on main: deploy must not start (only a push to an environment branch deploys)",
      "push to prod: deploy does not start",
    ]);
    expect(deployBehaviour(broken("deploy.yml", [["on", "push", "branches"], REMOVE]))).toEqual([
      "push to main: deploy must not start (only a push to an environment branch deploys)",
      "push to staging-hotfix: deploy must not start (only a push to an environment branch deploys)",
      // No filter at all also means every tag push.
      "push of tag v1.0.0: deploy must not start (only a push to an environment branch deploys)",
    ]);
  });

  it("catches a deploy in another environment, with more permissions or with the preview role", () => {
    const bad = broken(
      "deploy.yml",
      [["jobs", "deploy", "environment"], "staging"],
      [["jobs", "deploy", "permissions", "pull-requests"], "write"],
      [["jobs", "deploy", "steps", SETTINGS, "run"], replaced("--role deploy", "--role preview")],
    );
    expect(deployBehaviour(bad)).toEqual([
      "push to staging: the deploy job's token has {\"contents\":\"read\",\"id-token\":\"write\",\"pull-requests\":\"write\"}, expected exactly {\"contents\":\"read\",\"id-token\":\"write\"}",
      "push to staging: expected stack-settings --stack staging --role deploy, got node tools/ci/delivery/main.mts stack-settings --stack staging --role preview",
      "push to prod: pulumi up runs in GitHub environment staging, expected prod (its reviewers, deploy role and App key)",
      "push to prod: the deploy job's token has {\"contents\":\"read\",\"id-token\":\"write\",\"pull-requests\":\"write\"}, expected exactly {\"contents\":\"read\",\"id-token\":\"write\"}",
      "push to prod: expected stack-settings --stack prod --role deploy, got node tools/ci/delivery/main.mts stack-settings --stack prod --role preview",
    ]);
  });

  it("catches pulumi up of another stack, without the policy pack, or with credentials it did not ask for", () => {
    const bad = broken(
      "deploy.yml",
      [["jobs", "deploy", "steps", UP, "run"], (old: unknown) => String(old).replace('--stack "$STACK"', "--stack staging").replace("--policy-pack policies ", "")],
      [["jobs", "deploy", "steps", ROLE, "with", "role-to-assume"], "${{ vars.AWS_DEPLOY_ROLE_ARN }}"],
    );
    expect(deployBehaviour(bad).filter((p) => p.startsWith("push to prod"))).toEqual([
      expect.stringMatching(/^push to prod: pulumi up must update stack prod \(--stack prod --yes\), got pulumi up --yes --stack staging /),
      "push to prod: pulumi up must run the policy pack (--policy-pack policies) with the stack's policy config (stack-settings output policy-config)",
      "push to prod: before pulumi up, the job must assume exactly the role stack-settings --role deploy names (its output role-arn)",
    ]);
  });

  it("catches a failed pulumi up that would not fail the job, and other pulumi commands beside it", () => {
    const UP = step("deploy.yml", "deploy", "pulumi up with the policy pack");
    const swallowed = () => [
      "push to staging: a failed pulumi up must fail the deploy job (shell: bash for pipefail; no continue-on-error, set +e or ||): a failed deploy promotes nothing",
      "push to prod: a failed pulumi up must fail the deploy job (shell: bash for pipefail; no continue-on-error, set +e or ||): a failed deploy promotes nothing",
    ];
    expect(deployBehaviour(broken("deploy.yml", [["jobs", "deploy", "steps", UP, "continue-on-error"], true]))).toEqual(swallowed());
    // Without `shell: bash` the runner's bash has no pipefail: `pulumi up … | tee` succeeds with tee.
    expect(deployBehaviour(broken("deploy.yml", [["defaults"], REMOVE]))).toEqual(swallowed());
    expect(deployBehaviour(broken("deploy.yml", [["jobs", "deploy", "steps", UP, "run"], replaced("| tee", "| tee -a /dev/null || true; true | tee")]))).toEqual(swallowed());
    expect(deployBehaviour(broken("deploy.yml", [["jobs", "deploy", "steps", UP, "run"], (old: unknown) => `${String(old)}pulumi stack rm --stack "$STACK" --yes --force\n`]))).toEqual([
      'push to staging: the deploy job runs pulumi login and one pulumi up only, got also: pulumi stack rm --stack staging --yes --force',
      'push to prod: the deploy job runs pulumi login and one pulumi up only, got also: pulumi stack rm --stack prod --yes --force',
    ]);
    expect(deployBehaviour(broken("deploy.yml", [["on", "release"], null]))).toEqual(["on: release starts it too; only push may (what else starts it is not checked)"]);
    // A deploy job that may fail without failing the run: its dependants see a success and promote.
    expect(deployBehaviour(broken("deploy.yml", [["jobs", "deploy", "continue-on-error"], true]))).toEqual([
      "push to staging: a failed deploy must promote nothing",
    ]);
    const cached = broken("deploy.yml", [["jobs", "promote", "steps"], (steps: unknown[]) => [{ uses: "actions/cache@0400d5f644dc74513175e3cd8d07132dd4860809", with: { path: "tooling", key: "tools" } }, ...steps]]);
    expect(deployBehaviour(cached)).toEqual([
      "push to staging, promotion into prod: uses actions/cache; a job holding a write token uses actions/create-github-app-token, actions/checkout and actions/github-script only",
    ]);
  });

  it("catches a deploy App token that is wider, early, missing or handed to another step", () => {
    expect(deployBehaviour(broken("deploy.yml", [["jobs", "deploy", "steps", APP, "with", "repositories"], REMOVE])).filter((p) => p.startsWith("push to staging"))).toEqual([
      "push to staging: the deploy App token must be scoped to the stack's owner and repositories (stack-settings outputs github-owner, github-repositories)",
    ]);
    expect(deployBehaviour(broken("deploy.yml", [["jobs", "deploy", "steps", UP, "env", "GITHUB_TOKEN"], REMOVE])).filter((p) => p.startsWith("push to staging"))).toEqual([
      "push to staging: pulumi up must get the deploy App token as GITHUB_TOKEN",
      "push to staging: the deploy App token may reach pulumi up only, but reaches: nothing",
    ]);
    const leaked = broken("deploy.yml", [["jobs", "deploy", "steps", UP + 1, "env"], { TOKEN: "${{ steps.github-app.outputs.token }}" }]);
    expect(deployBehaviour(leaked).filter((p) => p.startsWith("push to staging"))).toEqual([
      "push to staging: the deploy App token may reach pulumi up only, but reaches: env GITHUB_TOKEN of step pulumi up with the policy pack; env TOKEN of step Summary",
    ]);
    const early = broken("deploy.yml", [["jobs", "deploy", "steps"], (steps: unknown[]) => [steps[APP], ...steps.filter((_, i) => i !== APP)]]);
    expect(deployBehaviour(early).filter((p) => p.startsWith("push to staging"))).toEqual([
      "push to staging: the deploy App token must be minted right before pulumi up (it lives an hour)",
    ]);
  });

  it("catches a deploy that a push could cancel, or that waits for another environment's", () => {
    expect(deployBehaviour(broken("deploy.yml", [["concurrency", "cancel-in-progress"], true]))).toEqual([
      "push to staging: a running pulumi up could be cancelled by the next push: expected a concurrency group with cancel-in-progress false",
      "push to prod: a running pulumi up could be cancelled by the next push: expected a concurrency group with cancel-in-progress false",
    ]);
    expect(deployBehaviour(broken("deploy.yml", [["concurrency", "group"], "pulumi"]))).toEqual([
      "push to prod: shares the concurrency group pulumi with staging: one environment's deploy would wait for the other's",
    ]);
  });
});

describe("deploy.yml: the promotion", () => {
  const PROMOTE_APP = step("deploy.yml", "promote", "Mint a token to open the promotion pull request");
  const SCRIPT = step("deploy.yml", "promote", "Open or refresh the promotion pull request");

  it("catches a hand-kept list of downstream environments, or a deploy that does not read them", () => {
    const fixed = broken("deploy.yml", [["jobs", "promote", "strategy", "matrix", "base"], ["prod"]]);
    expect(deployBehaviour(fixed)).toEqual([
      "push to staging: when the deploy job reads [other-a, other-b], expected a promotion into each of them, got [prod]",
      "push to prod: when the deploy job reads [other-a, other-b], expected a promotion into each of them, got [prod]",
    ]);
    const reader = step("deploy.yml", "deploy", "Read the environments this one promotes to");
    const literal = broken("deploy.yml", [["jobs", "deploy", "steps", reader, "run"], replaced('"$STACK"', "staging")]);
    expect(deployBehaviour(literal)).toEqual(["push to prod: the deploy job's output promotes-to must be what npm run environments -- --promotes-to prod prints"]);
  });

  it("catches a promotion after a failed deploy, from another branch or in another environment", () => {
    const bad = broken(
      "deploy.yml",
      [["jobs", "promote", "if"], "always()"],
      [["jobs", "promote", "steps", SCRIPT, "env", "HEAD"], "main"],
      [["jobs", "promote", "environment"], "prod"],
    );
    expect(deployBehaviour(bad)).toEqual([
      "push to staging, promotion into prod: the pull request must come from staging, got main",
      "push to staging, promotion into prod: must run in the deployed environment staging (its deploy App key), got prod",
      "push to staging: a failed deploy must promote nothing",
      "push to staging: a promotion pull request must come from staging, got main",
      // An environment that promotes nowhere gives the matrix no values: GitHub fails that job.
      "push to prod: jobs fail to start: job promote: Matrix vector 'base' does not contain any values",
      "push to prod: a promotion pull request must come from prod, got main",
    ]);
    expect(deployBehaviour(broken("deploy.yml", [["jobs", "promote", "if"], REMOVE]))).toEqual([
      "push to prod: jobs fail to start: job promote: Matrix vector 'base' does not contain any values",
    ]);
  });

  it("catches a promotion token wider than opening pull requests, the workflow token, or shell commands", () => {
    const bad = broken(
      "deploy.yml",
      [["jobs", "promote", "permissions", "pull-requests"], "write"],
      [["jobs", "promote", "steps", PROMOTE_APP, "with", "permission-administration"], "write"],
      [["jobs", "promote", "steps", SCRIPT, "with", "github-token"], "${{ github.token }}"],
      [["jobs", "promote", "steps"], (steps: unknown[]) => [...steps, { name: "Look around", run: "git log" }]],
      [["jobs", "promote", "steps", step("deploy.yml", "promote", "Check out the promotion script"), "with", "ref"], "${{ github.event.repository.default_branch }}"],
    );
    expect(deployBehaviour(bad)).toEqual([
      "push to staging, promotion into prod: the job token has {\"contents\":\"read\",\"pull-requests\":\"write\"}, expected exactly {\"contents\":\"read\"} (it writes with the App token)",
      "push to staging, promotion into prod: expected a deploy App token for this repository only, narrowed to {\"contents\":\"read\",\"pull-requests\":\"write\"}, got {\"contents\":\"read\",\"pull-requests\":\"write\",\"administration\":\"write\"}",
      "push to staging, promotion into prod: the pull request must be opened with the App token (a workflow token's pull request starts no preview)",
      "push to staging, promotion into prod: runs shell commands (git log); it holds a write token and runs none",
      "push to staging, promotion into prod: may check out the deployed commit only (⟨github.sha⟩), got main",
    ]);
  });

  it("catches promotions that would queue behind the deploy or replace each other", () => {
    expect(deployBehaviour(broken("deploy.yml", [["jobs", "promote", "concurrency"], { group: "pulumi-${{ github.ref_name }}", "cancel-in-progress": false }]))).toEqual([
      "push to staging, promotion into prod: needs its own concurrency group, never cancelled, apart from the deploy's",
    ]);
  });
});
