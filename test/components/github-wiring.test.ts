import { afterEach, describe, expect, it } from "vitest";
import * as aws from "@pulumi/aws";
import * as path from "node:path";
import { findResource, isUnknown, loadStackConfig, resourcesOfType, runProgram } from "../../tools/engine";
import { GithubWiring, ciVariableNames, type GithubWiringArgs } from "../../components/github/github-wiring";
import { createGithubProvider } from "../../components/github/github-provider";
import { STAGING_RULESET_INPUTS } from "../support/rulesets";
import { STACKS } from "../support/stacks";

const root = path.resolve(__dirname, "..", "..");
const RULESET = "github:index/repositoryRuleset:RepositoryRuleset";
const VARIABLE = "github:index/actionsVariable:ActionsVariable";
const ACTIONS_SETTINGS = "github:index/workflowRepositoryPermissions:WorkflowRepositoryPermissions";

type Overrides = Partial<Omit<GithubWiringArgs, "githubProvider">>;

function wiring(overrides: Overrides = {}, stack = "staging") {
  return runProgram({
    stack,
    config: {},
    program: () => {
      const githubProvider = createGithubProvider("github", { owner: "acme-corp" });
      new GithubWiring("github", {
        environment: stack,
        configRepo: "acme-corp/gitops-platform",
        branch: stack,
        awsRegion: "eu-west-1",
        githubProvider,
        ...overrides,
      });
    },
  });
}

const apps = [
  { name: "orders", repository: "acme-corp/orders", ciRoleArn: "arn:aws:iam::111111111111:role/orders-ci", ecrRepositoryUrl: "111111111111.dkr.ecr.eu-west-1.amazonaws.com/orders" },
  { name: "payments", repository: "acme-corp/payments", ciRoleArn: "arn:aws:iam::111111111111:role/payments-ci", ecrRepositoryUrl: "111111111111.dkr.ecr.eu-west-1.amazonaws.com/payments" },
];

describe("GithubWiring", () => {
  it("uses the correct default values", async () => {
    const result = await wiring();
    const ruleset = findResource(result, RULESET, "github-branch-ruleset");
    expect(ruleset.inputs).toEqual(STAGING_RULESET_INPUTS);
    expect(ruleset.inputs.bypassActors).toBeUndefined();
    expect(ruleset.provider).toMatch(/::pulumi:providers:github::github::/);
    expect(resourcesOfType(result, VARIABLE)).toEqual([]);
  });

  it("requires approving reviews where configured (prod), and fresh ones after a push", async () => {
    const result = await wiring({ requiredReviews: 1, requiredChecks: ["preview", "policy"] }, "prod");
    const ruleset = findResource(result, RULESET, "github-branch-ruleset");
    expect(ruleset.inputs.name).toBe("prod environment branch");
    expect(ruleset.inputs.conditions).toEqual({ refName: { includes: ["refs/heads/prod"], excludes: [] } });
    expect(ruleset.inputs.rules).toMatchObject({
      pullRequest: { requiredApprovingReviewCount: 1, dismissStaleReviewsOnPush: true, requireLastPushApproval: true, allowedMergeMethods: ["merge"] },
      requiredStatusChecks: {
        requiredChecks: [
          { context: "preview", integrationId: 15368 },
          { context: "policy", integrationId: 15368 },
        ],
        strictRequiredStatusChecksPolicy: false,
      },
    });
    expect(ruleset.inputs.bypassActors).toBeUndefined();
  });

  it("declares no bypass actor in either stack's ruleset: image automation reaches staging by pull request", async () => {
    for (const stack of STACKS) {
      const loaded = loadStackConfig(root, stack);
      const result = await runProgram({ stack, config: loaded.config, secretKeys: loaded.secretKeys, program: path.join(root, "index.ts") });
      const rulesets = resourcesOfType(result, RULESET);
      expect(rulesets.map((r) => r.inputs.conditions)).toEqual([{ refName: { includes: [`refs/heads/${stack}`], excludes: [] } }]);
      expect(rulesets.map((r) => r.inputs.bypassActors)).toEqual([undefined]);
    }
  });

  it("declares the config repository's Actions settings: a read-only default token, and Actions never approve pull requests", async () => {
    const result = await wiring();
    const settings = findResource(result, ACTIONS_SETTINGS, "github-actions-settings");
    expect(settings.inputs).toEqual({ repository: "gitops-platform", defaultWorkflowPermissions: "read", canApprovePullRequestReviews: false });
    expect(settings.provider).toMatch(/::pulumi:providers:github::github::/);
    // Another stack of the same repository declares them: this one leaves them alone.
    expect(resourcesOfType(await wiring({ actionsSettings: false }), ACTIONS_SETTINGS)).toEqual([]);
  });

  it("guards nothing when branch protection is switched off", async () => {
    const result = await wiring({ protectBranch: false, apps });
    expect(resourcesOfType(result, RULESET)).toEqual([]);
    expect(resourcesOfType(result, VARIABLE)).toHaveLength(6);
  });

  it("hands each app repository's CI its role, ECR repository and region", async () => {
    const result = await wiring({ apps });
    expect(resourcesOfType(result, VARIABLE).map((r) => [r.name, r.inputs])).toEqual([
      ["github-orders-role-arn", { repository: "orders", variableName: "AWS_ROLE_ARN_STAGING", value: "arn:aws:iam::111111111111:role/orders-ci" }],
      ["github-orders-ecr-url", { repository: "orders", variableName: "ECR_REPOSITORY_URL_STAGING", value: "111111111111.dkr.ecr.eu-west-1.amazonaws.com/orders" }],
      ["github-orders-region", { repository: "orders", variableName: "AWS_REGION_STAGING", value: "eu-west-1" }],
      ["github-payments-role-arn", { repository: "payments", variableName: "AWS_ROLE_ARN_STAGING", value: "arn:aws:iam::111111111111:role/payments-ci" }],
      ["github-payments-ecr-url", { repository: "payments", variableName: "ECR_REPOSITORY_URL_STAGING", value: "111111111111.dkr.ecr.eu-west-1.amazonaws.com/payments" }],
      ["github-payments-region", { repository: "payments", variableName: "AWS_REGION_STAGING", value: "eu-west-1" }],
    ]);
  });

  it("names the variables per environment: staging and prod write into the same app repositories", async () => {
    const staging = await wiring({ apps }, "staging");
    const prod = await wiring({ apps }, "prod");
    const names = (result: typeof staging) => resourcesOfType(result, VARIABLE).map((r) => `${String(r.inputs.repository)}/${String(r.inputs.variableName)}`);
    expect(names(prod)).toContain("orders/ECR_REPOSITORY_URL_PROD");
    expect(names(staging).filter((name) => names(prod).includes(name))).toEqual([]);
    expect(ciVariableNames("eu-staging")).toEqual({
      roleArn: "AWS_ROLE_ARN_EU_STAGING",
      ecrRepositoryUrl: "ECR_REPOSITORY_URL_EU_STAGING",
      region: "AWS_REGION_EU_STAGING",
    });
  });

  it("takes the role ARN and repository URL from the AWS resources that make them", async () => {
    const result = await runProgram({
      stack: "staging",
      config: { "aws:region": "eu-west-1" },
      program: () => {
        const githubProvider = createGithubProvider("github", { owner: "acme-corp" });
        const role = new aws.iam.Role("orders-ci", { assumeRolePolicy: "{}" });
        const repository = new aws.ecr.Repository("orders", {});
        new GithubWiring("github", {
          environment: "staging",
          configRepo: "acme-corp/gitops-platform",
          branch: "staging",
          awsRegion: "eu-west-1",
          githubProvider,
          apps: [{ name: "orders", repository: "acme-corp/orders", ciRoleArn: role.arn, ecrRepositoryUrl: repository.repositoryUrl }],
        });
      },
    });
    const roleArn = findResource(result, VARIABLE, "github-orders-role-arn");
    expect(isUnknown(roleArn.inputs.value)).toBe(true);
    expect(roleArn.propertyDependencies.value).toEqual([findResource(result, "aws:iam/role:Role", "orders-ci").urn]);
    const url = findResource(result, VARIABLE, "github-orders-ecr-url");
    expect(url.propertyDependencies.value).toEqual([findResource(result, "aws:ecr/repository:Repository", "orders").urn]);
  });

  it("refuses bad arguments with every problem named", async () => {
    await expect(wiring({ configRepo: "gitops-platform", requiredReviews: 7 })).rejects.toThrow(
      'GithubWiring github: configRepo: expected owner/name, got "gitops-platform"; requiredReviews: expected 0 to 6, got 7',
    );
    await expect(wiring({ requiredChecks: [] })).rejects.toThrow("GithubWiring github: requiredChecks: expected at least one check (the preview job)");
    await expect(wiring({ apps: [apps[0]!, { ...apps[0]!, repository: "orders" }] })).rejects.toThrow(
      'GithubWiring github: apps[1].repository: expected owner/name, got "orders"; apps[1].name: orders appears twice',
    );
  });
});

describe("createGithubProvider", () => {
  const ambient = process.env.GITHUB_TOKEN;
  afterEach(() => {
    if (ambient === undefined) delete process.env.GITHUB_TOKEN;
    else process.env.GITHUB_TOKEN = ambient;
  });

  const provider = () =>
    runProgram({
      stack: "staging",
      config: {},
      program: () => {
        createGithubProvider("github", { owner: "acme-corp" });
      },
    }).then((result) => findResource(result, "pulumi:providers:github", "github"));

  it("takes no token: the provider plugin reads GITHUB_TOKEN from the pulumi process, the program never copies it into inputs", async () => {
    process.env.GITHUB_TOKEN = "ghp_ambient_token";
    const recorded = await provider();
    // token empty (a secret undefined); baseUrl is the SDK's own default.
    expect(recorded.inputs).toEqual({ baseUrl: "https://api.github.com/", owner: "acme-corp", token: null });
    expect(JSON.stringify(recorded)).not.toContain("ghp_ambient_token");
  });
});
