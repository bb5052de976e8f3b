import { describe, expect, it } from "vitest";
import { CiIdentity, IAM_MANAGEMENT_ACTIONS, type CiIdentityArgs } from "../components/ci-identity";
import { PUSH_ACTIONS } from "../components/registry";
import { findResource, resourcesOfType, runProgram, type PlanResult, type RecordedResource } from "../tools/engine";

const OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider";
const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";

const PROVIDER_ARN = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com";
const KEY_ARN = "arn:aws:kms:eu-west-1:111111111111:key/0b7c2a52-6a7e-4f0e-9d8a-3c1f5e2b7a10";
const ORDERS_REPO = "arn:aws:ecr:eu-west-1:111111111111:repository/staging/orders";

const base: CiIdentityArgs = {
  accountId: "111111111111",
  environment: "staging",
  configRepo: "acme-corp/gitops-platform",
  apps: [
    { name: "orders", repo: "acme-corp/orders", branch: "main", repositoryArn: ORDERS_REPO },
    { name: "payments", repo: "acme-corp/payments", branch: "release", repositoryArn: "arn:aws:ecr:eu-west-1:111111111111:repository/staging/payments" },
  ],
  stateBucket: "acme-pulumi-state",
  secretsKeyArn: KEY_ARN,
};

function run(args: Partial<CiIdentityArgs> = {}): Promise<PlanResult> {
  return runProgram({
    stack: "test",
    config: { "aws:region": "eu-west-1" },
    program: () => {
      new CiIdentity("ci", { ...base, ...args });
    },
  });
}

const json = (resource: RecordedResource, key: string): unknown => JSON.parse(resource.inputs[key] as string);

/** The trust policy GitHub's OIDC tokens must satisfy: this audience and exactly this subject. */
function trust(subject: string | string[], providerArn = PROVIDER_ARN) {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: providerArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": subject,
          },
        },
      },
    ],
  };
}

describe("CiIdentity", () => {
  it("uses the correct default values", async () => {
    const result = await run();
    const provider = findResource(result, OIDC, "ci-github-oidc");
    expect(provider.inputs).toEqual({ url: "https://token.actions.githubusercontent.com", clientIdLists: ["sts.amazonaws.com"] });
    expect(json(findResource(result, ROLE, "ci-preview"), "assumeRolePolicy")).toEqual(trust("repo:acme-corp/gitops-platform:pull_request"));
  });

  it("creates the roles after the OIDC provider they trust", async () => {
    const result = await run();
    const provider = findResource(result, OIDC, "ci-github-oidc");
    for (const role of resourcesOfType(result, ROLE)) expect(role.dependencies).toContain(provider.urn);
  });

  it("uses the account's existing OIDC provider when told not to create one", async () => {
    const result = await runProgram({
      stack: "test",
      config: { "aws:region": "cn-north-1" },
      program: () => {
        const identity = new CiIdentity("ci", { ...base, createOidcProvider: false, partition: "aws-cn" });
        return { providerArn: identity.oidcProviderArn };
      },
    });
    expect(resourcesOfType(result, OIDC)).toEqual([]);
    const arn = "arn:aws-cn:iam::111111111111:oidc-provider/token.actions.githubusercontent.com";
    expect(result.outputs.providerArn).toBe(arn);
    expect(json(findResource(result, ROLE, "ci-deploy"), "assumeRolePolicy")).toEqual(trust("repo:acme-corp/gitops-platform:environment:staging", arn));
  });

  it("pins each app role's trust to its repository and branch exactly", async () => {
    const result = await run();
    expect(json(findResource(result, ROLE, "ci-app-orders"), "assumeRolePolicy")).toEqual(trust("repo:acme-corp/orders:ref:refs/heads/main"));
    expect(json(findResource(result, ROLE, "ci-app-payments"), "assumeRolePolicy")).toEqual(trust("repo:acme-corp/payments:ref:refs/heads/release"));
    expect(findResource(result, ROLE, "ci-app-orders").inputs.description).toBe("CI of acme-corp/orders (main) pushes orders images");
  });

  it("lets an app role push only to its own repository", async () => {
    const result = await run();
    const policy = findResource(result, ROLE_POLICY, "ci-app-orders-push");
    expect(policy.propertyDependencies.role).toEqual([findResource(result, ROLE, "ci-app-orders").urn]);
    expect(json(policy, "policy")).toEqual({
      Version: "2012-10-17",
      Statement: [
        { Sid: "RegistryLogin", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
        { Sid: "PushOwnRepository", Effect: "Allow", Action: PUSH_ACTIONS, Resource: ORDERS_REPO },
      ],
    });
  });

  it("trusts the preview role only for the config repository's pull requests, read-only plus the state backend", async () => {
    const result = await run();
    expect(json(findResource(result, ROLE, "ci-preview"), "assumeRolePolicy")).toEqual(trust("repo:acme-corp/gitops-platform:pull_request"));
    expect(findResource(result, ATTACHMENT, "ci-preview-read-only").inputs.policyArn).toBe("arn:aws:iam::aws:policy/ReadOnlyAccess");
    expect(json(findResource(result, ROLE_POLICY, "ci-preview-state"), "policy")).toEqual({
      Version: "2012-10-17",
      Statement: [
        { Sid: "ListState", Effect: "Allow", Action: "s3:ListBucket", Resource: "arn:aws:s3:::acme-pulumi-state" },
        { Sid: "ReadState", Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::acme-pulumi-state/*" },
        { Sid: "LockStack", Effect: "Allow", Action: ["s3:PutObject", "s3:DeleteObject"], Resource: "arn:aws:s3:::acme-pulumi-state/.pulumi/locks/*" },
        { Sid: "UseStateKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: KEY_ARN },
      ],
    });
  });

  it("also trusts the preview role for runs on the config repository's default branch, when given", async () => {
    const result = await run({ defaultBranch: "staging" });
    expect(json(findResource(result, ROLE, "ci-preview"), "assumeRolePolicy")).toEqual(
      trust(["repo:acme-corp/gitops-platform:pull_request", "repo:acme-corp/gitops-platform:ref:refs/heads/staging"]),
    );
    expect(json(findResource(result, ROLE, "ci-deploy"), "assumeRolePolicy")).toEqual(trust("repo:acme-corp/gitops-platform:environment:staging"));
  });

  it("trusts the deploy role only for this environment, with IAM limited to the account and guard rails", async () => {
    const result = await run({ environment: "prod" });
    expect(json(findResource(result, ROLE, "ci-deploy"), "assumeRolePolicy")).toEqual(trust("repo:acme-corp/gitops-platform:environment:prod"));
    expect(findResource(result, ATTACHMENT, "ci-deploy-power-user").inputs.policyArn).toBe("arn:aws:iam::aws:policy/PowerUserAccess");
    expect(json(findResource(result, ROLE_POLICY, "ci-deploy-iam"), "policy")).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "ManageProgramIdentities",
          Effect: "Allow",
          Action: IAM_MANAGEMENT_ACTIONS,
          Resource: ["arn:aws:iam::111111111111:role/*", "arn:aws:iam::111111111111:policy/*", "arn:aws:iam::111111111111:oidc-provider/*"],
        },
        {
          Sid: "NoStaticCredentials",
          Effect: "Deny",
          Action: ["iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile"],
          Resource: "arn:aws:iam::111111111111:user/*",
        },
        {
          Sid: "KeepStateBackend",
          Effect: "Deny",
          Action: ["s3:DeleteBucket", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketVersioning", "s3:PutLifecycleConfiguration"],
          Resource: "arn:aws:s3:::acme-pulumi-state",
        },
        { Sid: "KeepSecretsKey", Effect: "Deny", Action: ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy"], Resource: KEY_ARN },
      ],
    });
  });

  it("allows no wildcard action and no wildcard resource except the registry login", async () => {
    const result = await run();
    const documents = [
      ...resourcesOfType(result, ROLE_POLICY).map((r) => json(r, "policy")),
      ...resourcesOfType(result, ROLE).map((r) => json(r, "assumeRolePolicy")),
    ] as { Statement: { Action: string | string[]; Resource?: string | string[]; Condition?: unknown }[] }[];
    expect(documents).toHaveLength(8);
    for (const statement of documents.flatMap((d) => d.Statement)) {
      const actions = ([] as string[]).concat(statement.Action);
      expect(actions.filter((a) => a === "*" || a.endsWith(":*"))).toEqual([]);
      if (statement.Resource === "*") expect(actions).toEqual(["ecr:GetAuthorizationToken"]);
    }
    expect(JSON.stringify(documents)).not.toMatch(/githubusercontent\.com:sub":"[^"]*\*/);
  });

  it("names roles by fixed names within IAM's 64 characters, so ARNs built from them are known at preview", async () => {
    const result = await run({
      apps: [{ name: "a-rather-long-application-name", repo: "acme-corp/long", branch: "main", repositoryArn: ORDERS_REPO }],
    });
    expect(findResource(result, ROLE, "ci-preview").inputs.name).toBe("ci-preview");
    expect(findResource(result, ROLE, "ci-preview").inputs.namePrefix).toBeUndefined();
    expect(findResource(result, ROLE, "ci-app-a-rather-long-application-name").inputs.name).toBe("ci-app-a-rather-long-application-name");
    const longest = "a".repeat(63);
    const longer = await runProgram({
      stack: "test",
      config: { "aws:region": "eu-west-1" },
      program: () => {
        new CiIdentity("staging-ci", { ...base, apps: [{ name: longest, repo: "acme-corp/long", branch: "main", repositoryArn: ORDERS_REPO }] });
      },
    });
    const roleName = findResource(longer, ROLE, `staging-ci-app-${longest}`).inputs.name as string;
    expect(roleName).toBe(`staging-ci-app-${longest}`.slice(0, 64));
    expect(roleName).toHaveLength(64);
  });

  it("grants no cluster access unless given the cluster", async () => {
    const result = await run();
    expect(resourcesOfType(result, "aws:eks/accessEntry:AccessEntry")).toEqual([]);
    expect(resourcesOfType(result, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")).toEqual([]);
  });

  it("gives the deploy role cluster-admin and the preview role view access to the cluster", async () => {
    const result = await run({ clusterName: "platform-staging" });
    const entries = resourcesOfType(result, "aws:eks/accessEntry:AccessEntry");
    expect(entries.map((e) => [e.name, e.inputs.clusterName, e.inputs.type]).sort()).toEqual([
      ["ci-deploy-cluster-access", "platform-staging", "STANDARD"],
      ["ci-preview-cluster-access", "platform-staging", "STANDARD"],
    ]);
    expect(findResource(result, "aws:eks/accessEntry:AccessEntry", "ci-deploy-cluster-access").propertyDependencies.principalArn).toEqual([
      findResource(result, ROLE, "ci-deploy").urn,
    ]);
    const deploy = findResource(result, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "ci-deploy-cluster-policy");
    expect({ ...deploy.inputs, principalArn: "<role>" }).toEqual({
      clusterName: "platform-staging",
      principalArn: "<role>",
      policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
      accessScope: { type: "cluster" },
    });
    expect(deploy.dependencies).toContain(findResource(result, "aws:eks/accessEntry:AccessEntry", "ci-deploy-cluster-access").urn);
    const preview = findResource(result, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "ci-preview-cluster-policy");
    expect(preview.inputs.policyArn).toBe("arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy");
    expect(preview.propertyDependencies.principalArn).toEqual([findResource(result, ROLE, "ci-preview").urn]);
  });

  it("declares no role for apps it is not given", async () => {
    const result = await run({ apps: [] });
    expect(resourcesOfType(result, ROLE).map((r) => r.name)).toEqual(["ci-preview", "ci-deploy"]);
  });
});
