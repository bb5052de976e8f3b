import { describe, expect, it } from "vitest";
import { CiIdentity, DRIFT_READER_GROUP, type CiIdentityArgs } from "../../components/aws/ci-identity";
import { BUCKET_CONFIG_READ_ACTIONS, DATA_READ_ACTIONS, IAM_MANAGEMENT_ACTIONS } from "../../components/aws/ci-policies";
import { ECR_PUSH_ACTIONS, RESOURCE_WILDCARD_ACTIONS } from "../../policies/vocabulary";
import { findResource, resourcesOfType, runProgram, type PlanResult, type RecordedResource } from "../../tools/engine";

const OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider";
const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";

const PROVIDER_ARN = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com";
const KEY_ARN = "arn:aws:kms:eu-west-1:111111111111:key/0b7c2a52-6a7e-4f0e-9d8a-3c1f5e2b7a10";
const ORDERS_REPO = "arn:aws:ecr:eu-west-1:111111111111:repository/staging/orders";

const base: CiIdentityArgs = {
  accountId: "111111111111",
  region: "eu-west-1",
  environment: "staging",
  configRepo: "acme-corp/gitops-platform",
  apps: [
    { name: "orders", repo: "acme-corp/orders", repositoryArn: ORDERS_REPO },
    { name: "payments", repo: "acme-corp/payments", repositoryArn: "arn:aws:ecr:eu-west-1:111111111111:repository/staging/payments" },
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

  it("pins each app role's trust to its repository's release environment exactly, never a branch", async () => {
    const result = await run();
    expect(json(findResource(result, ROLE, "ci-app-orders"), "assumeRolePolicy")).toEqual(trust("repo:acme-corp/orders:environment:release"));
    expect(json(findResource(result, ROLE, "ci-app-payments"), "assumeRolePolicy")).toEqual(trust("repo:acme-corp/payments:environment:release"));
    expect(findResource(result, ROLE, "ci-app-orders").inputs.description).toBe("CI of acme-corp/orders (release environment) pushes orders images");
  });

  it("lets an app role push only to its own repository", async () => {
    const result = await run();
    const policy = findResource(result, ROLE_POLICY, "ci-app-orders-push");
    expect(policy.propertyDependencies.role).toEqual([findResource(result, ROLE, "ci-app-orders").urn]);
    expect(json(policy, "policy")).toEqual({
      Version: "2012-10-17",
      Statement: [
        { Sid: "RegistryLogin", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
        { Sid: "PushOwnRepository", Effect: "Allow", Action: ECR_PUSH_ACTIONS, Resource: ORDERS_REPO },
      ],
    });
  });

  const STATE_POLICY = {
    Version: "2012-10-17",
    Statement: [
      { Sid: "ListState", Effect: "Allow", Action: "s3:ListBucket", Resource: "arn:aws:s3:::acme-pulumi-state" },
      { Sid: "ReadState", Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::acme-pulumi-state/*" },
      { Sid: "UseStateKey", Effect: "Allow", Action: "kms:Decrypt", Resource: KEY_ARN },
    ],
  };
  const NO_DATA_POLICY = {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "NoObjectsOutsideState",
        Effect: "Deny",
        Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"],
        NotResource: "arn:aws:s3:::acme-pulumi-state/*",
      },
      {
        Sid: "NoSecretValues",
        Effect: "Deny",
        Action: [
          "secretsmanager:GetSecretValue",
          "secretsmanager:BatchGetSecretValue",
          "ssm:GetParameter",
          "ssm:GetParameters",
          "ssm:GetParametersByPath",
          "ssm:GetParameterHistory",
        ],
        Resource: "*",
      },
      { Sid: "NoDecryptionButState", Effect: "Deny", Action: ["kms:Decrypt", "kms:ReEncryptFrom"], NotResource: KEY_ARN },
    ],
  };
  const BUCKET = "arn:aws:s3:::staging-storage-0a1b2c3d";
  const READ_POLICY = {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DescribeNetworkAndAliases",
        Effect: "Allow",
        Action: ["ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules", "kms:ListAliases"],
        Resource: "*",
      },
      { Sid: "ReadWebAcls", Effect: "Allow", Action: ["wafv2:GetWebACL", "wafv2:ListTagsForResource"], Resource: "arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/*" },
      {
        Sid: "ReadKeyMetadata",
        Effect: "Allow",
        Action: ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"],
        Resource: "arn:aws:kms:eu-west-1:111111111111:key/*",
      },
      {
        Sid: "ReadRepositories",
        Effect: "Allow",
        Action: ["ecr:DescribeRepositories", "ecr:GetRepositoryPolicy", "ecr:GetLifecyclePolicy", "ecr:ListTagsForResource"],
        Resource: "arn:aws:ecr:eu-west-1:111111111111:repository/staging/*",
      },
      {
        Sid: "ReadIdentities",
        Effect: "Allow",
        Action: ["iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetOpenIDConnectProvider"],
        Resource: ["arn:aws:iam::111111111111:role/*", "arn:aws:iam::111111111111:policy/*", "arn:aws:iam::111111111111:oidc-provider/*"],
      },
      {
        Sid: "ReadCluster",
        Effect: "Allow",
        Action: ["eks:DescribeCluster", "eks:DescribeAccessEntry", "eks:ListAssociatedAccessPolicies"],
        Resource: ["arn:aws:eks:eu-west-1:111111111111:cluster/platform-staging", "arn:aws:eks:eu-west-1:111111111111:access-entry/platform-staging/*"],
      },
    ],
  };

  it("trusts the preview role only for the config repository's pull requests, with control-plane reads and the state backend", async () => {
    const result = await run({ clusterName: "platform-staging", managedBucketArns: [BUCKET] });
    expect(json(findResource(result, ROLE, "ci-preview"), "assumeRolePolicy")).toEqual(trust("repo:acme-corp/gitops-platform:pull_request"));
    // No managed policy at all: ReadOnlyAccess read every S3 object and secret value of the account.
    expect(resourcesOfType(result, ATTACHMENT).map((a) => a.name)).toEqual(["ci-deploy-power-user"]);
    expect(resourcesOfType(result, ROLE_POLICY).filter((p) => p.name.startsWith("ci-preview-")).map((p) => p.name).sort()).toEqual([
      "ci-preview-no-data",
      "ci-preview-read",
      "ci-preview-read-buckets",
      "ci-preview-state",
    ]);
    expect(json(findResource(result, ROLE_POLICY, "ci-preview-read"), "policy")).toEqual(READ_POLICY);
    expect(json(findResource(result, ROLE_POLICY, "ci-preview-read-buckets"), "policy")).toEqual({
      Version: "2012-10-17",
      Statement: [{ Sid: "ReadBucketConfiguration", Effect: "Allow", Action: BUCKET_CONFIG_READ_ACTIONS, Resource: [BUCKET] }],
    });
    expect(json(findResource(result, ROLE_POLICY, "ci-preview-state"), "policy")).toEqual(STATE_POLICY);
    expect(json(findResource(result, ROLE_POLICY, "ci-preview-no-data"), "policy")).toEqual(NO_DATA_POLICY);
  });

  it("reads no object, secret value or other key's plaintext through any allow of the preview role", async () => {
    const result = await run({ clusterName: "platform-staging", managedBucketArns: [BUCKET], defaultBranch: "staging" });
    for (const role of ["preview", "drift"]) {
      const allows = ["read", "read-buckets", "state"].flatMap(
        (policy) => (json(findResource(result, ROLE_POLICY, `ci-${role}-${policy}`), "policy") as { Statement: { Effect: string; Action: string | string[]; Resource: string | string[] }[] }).Statement,
      );
      const granted = (action: string) => allows.filter((s) => ([] as string[]).concat(s.Action).includes(action)).flatMap((s) => ([] as string[]).concat(s.Resource));
      // Objects: only the state bucket's. Secrets: nothing. Decryption: only the state key.
      expect(DATA_READ_ACTIONS.objects.flatMap(granted)).toEqual(["arn:aws:s3:::acme-pulumi-state/*"]);
      expect(DATA_READ_ACTIONS.secrets.flatMap(granted)).toEqual([]);
      expect(DATA_READ_ACTIONS.decrypt.flatMap(granted)).toEqual([KEY_ARN]);
      expect(allows.flatMap((s) => ([] as string[]).concat(s.Action)).filter((a) => /^(s3:GetObject|secretsmanager:|ssm:Get|kms:Decrypt)/.test(a))).toEqual([
        "s3:GetObject",
        "kms:Decrypt",
      ]);
      expect(json(findResource(result, ROLE_POLICY, `ci-${role}-no-data`), "policy")).toEqual(NO_DATA_POLICY);
    }
  });

  it("declares no bucket read without buckets", async () => {
    const names = resourcesOfType(await run(), ROLE_POLICY).map((p) => p.name);
    expect(names.filter((n) => n.endsWith("-read-buckets"))).toEqual([]);
    expect(names).toContain("ci-preview-read");
  });

  it("declares a drift role only for the default branch's runs, reading what the preview role reads", async () => {
    expect(resourcesOfType(await run(), ROLE).map((r) => r.name)).not.toContain("ci-drift");
    const result = await run({ defaultBranch: "staging", clusterName: "platform-staging", managedBucketArns: [BUCKET] });
    expect(json(findResource(result, ROLE, "ci-drift"), "assumeRolePolicy")).toEqual(trust("repo:acme-corp/gitops-platform:ref:refs/heads/staging"));
    expect(json(findResource(result, ROLE_POLICY, "ci-drift-read"), "policy")).toEqual(READ_POLICY);
    expect(json(findResource(result, ROLE_POLICY, "ci-drift-read-buckets"), "policy")).toEqual(json(findResource(result, ROLE_POLICY, "ci-preview-read-buckets"), "policy"));
    expect(json(findResource(result, ROLE_POLICY, "ci-drift-state"), "policy")).toEqual(STATE_POLICY);
    expect(findResource(result, ROLE, "ci-drift").inputs.description).toBe(
      "drift check of the staging stack from acme-corp/gitops-platform's staging branch (control-plane reads and the state)",
    );
  });

  it("puts the drift role in the drift reader group of the cluster, with no EKS access policy", async () => {
    const result = await run({ defaultBranch: "staging", clusterName: "platform-staging" });
    const entry = findResource(result, "aws:eks/accessEntry:AccessEntry", "ci-drift-cluster-access");
    expect({ ...entry.inputs, principalArn: "<role>" }).toEqual({
      clusterName: "platform-staging",
      principalArn: "<role>",
      type: "STANDARD",
      kubernetesGroups: [DRIFT_READER_GROUP],
    });
    expect(DRIFT_READER_GROUP).toBe("gitops-platform:drift-reader");
    expect(entry.propertyDependencies.principalArn).toEqual([findResource(result, ROLE, "ci-drift").urn]);
    expect(resourcesOfType(result, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation").map((a) => a.name).sort()).toEqual([
      "ci-deploy-cluster-policy",
      "ci-preview-cluster-policy",
    ]);
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

  it("allows no wildcard action, and Resource * only for actions without resource-level permissions", async () => {
    const result = await run({ defaultBranch: "staging", clusterName: "platform-staging", managedBucketArns: [BUCKET] });
    const documents = [
      ...resourcesOfType(result, ROLE_POLICY).map((r) => json(r, "policy")),
      ...resourcesOfType(result, ROLE).map((r) => json(r, "assumeRolePolicy")),
    ] as { Statement: { Action: string | string[]; Resource?: string | string[]; Condition?: unknown }[] }[];
    // Two app roles with their push policies; preview and drift with read, bucket reads, state and no-data; deploy with its IAM policy.
    expect(documents).toHaveLength(16);
    const statements = documents.flatMap((d) => d.Statement) as { Effect?: string; Action: string | string[]; Resource?: string | string[] }[];
    for (const statement of statements) {
      const actions = ([] as string[]).concat(statement.Action);
      expect(actions.filter((a) => a === "*" || a.endsWith(":*"))).toEqual([]);
      if (statement.Resource === "*" && statement.Effect === "Allow") expect(RESOURCE_WILDCARD_ACTIONS).toEqual(expect.arrayContaining(actions));
    }
    expect(RESOURCE_WILDCARD_ACTIONS).toEqual(["ecr:GetAuthorizationToken", "ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules", "kms:ListAliases"]);
    expect(JSON.stringify(documents)).not.toMatch(/githubusercontent\.com:sub":"[^"]*\*/);
  });

  it("names roles by fixed names within IAM's 64 characters, so ARNs built from them are known at preview", async () => {
    const result = await run({
      apps: [{ name: "a-rather-long-application-name", repo: "acme-corp/long", repositoryArn: ORDERS_REPO }],
    });
    expect(findResource(result, ROLE, "ci-preview").inputs.name).toBe("ci-preview");
    expect(findResource(result, ROLE, "ci-preview").inputs.namePrefix).toBeUndefined();
    expect(findResource(result, ROLE, "ci-app-a-rather-long-application-name").inputs.name).toBe("ci-app-a-rather-long-application-name");
    const longest = "a".repeat(63);
    const longer = await runProgram({
      stack: "test",
      config: { "aws:region": "eu-west-1" },
      program: () => {
        new CiIdentity("staging-ci", { ...base, apps: [{ name: longest, repo: "acme-corp/long", repositoryArn: ORDERS_REPO }] });
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
    expect(resourcesOfType(await run({ apps: [], defaultBranch: "staging" }), ROLE).map((r) => r.name)).toEqual(["ci-preview", "ci-drift", "ci-deploy"]);
  });
});
