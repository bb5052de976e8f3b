import { describe, expect, it } from "vitest";
import { iamGithubOidcTrust, iamIrsaTrust, iamNoWildcards } from "../../policies/aws-iam";
import { messages, res, stackUnknownNote, UNKNOWN, unknownNote, violations, withInputs } from "./harness";

const GH = "token.actions.githubusercontent.com";
const EKS = "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF";
const doc = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
const trust = (host: string, conditions: object) => ({
  Effect: "Allow",
  Principal: { Federated: `arn:aws:iam::111111111111:oidc-provider/${host}` },
  Action: "sts:AssumeRoleWithWebIdentity",
  Condition: conditions,
});
const githubTrust = trust(GH, { StringEquals: { [`${GH}:aud`]: "sts.amazonaws.com", [`${GH}:sub`]: "repo:acme-corp/orders:ref:refs/heads/main" } });
const irsaTrust = trust(EKS, { StringEquals: { [`${EKS}:aud`]: "sts.amazonaws.com", [`${EKS}:sub`]: "system:serviceaccount:flux-system:image-reflector-controller" } });

const push = { Sid: "Push", Effect: "Allow", Action: ["ecr:PutImage", "ecr:UploadLayerPart"], Resource: "arn:aws:ecr:eu-west-1:111111111111:repository/orders" };
const LIST = "ecr:GetAuthorizationToken, ec2:DescribeSecurityGroups, ec2:DescribeSecurityGroupRules, kms:ListAliases";
const login = { Sid: "Login", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" };
const ciRole = res("aws:iam/role:Role", "ci-orders", { assumeRolePolicy: doc(githubTrust), inlinePolicies: [{ name: "push", policy: doc(push, login) }] });
const reconcilerRole = res("aws:iam/role:Role", "reconciler", { assumeRolePolicy: doc(irsaTrust) });

describe("iam-no-wildcards", () => {
  it("passes listed actions and Resource * only for ecr:GetAuthorizationToken", async () => {
    expect(await messages(iamNoWildcards, [ciRole, reconcilerRole])).toEqual([]);
  });

  it("fails Action *", async () => {
    const policy = res("aws:iam/policy:Policy", "admin", { policy: doc({ Effect: "Allow", Action: "*", Resource: "arn:aws:s3:::x" }) });
    expect(await messages(iamNoWildcards, [policy])).toEqual(['policy statement #0 allows "*"; list the actions it needs']);
  });

  it("fails service:* in a role's inline policy", async () => {
    const role = withInputs(ciRole, { inlinePolicies: [{ name: "push", policy: doc({ ...push, Action: "ecr:*" }) }] });
    expect(await messages(iamNoWildcards, [role])).toEqual(['inlinePolicies[0] (push) statement "Push" allows "ecr:*"; list the actions it needs']);
  });

  it("fails Resource * for other actions, in an aws.iam.RolePolicy", async () => {
    const policy = res("aws:iam/rolePolicy:RolePolicy", "read", { role: "r", policy: doc({ Effect: "Allow", Action: ["s3:GetObject", "ecr:GetAuthorizationToken"], Resource: "*" }) });
    expect(await messages(iamNoWildcards, [policy])).toEqual(['policy statement #0 allows "s3:GetObject" on every resource; only ecr:GetAuthorizationToken, ec2:DescribeSecurityGroups, ec2:DescribeSecurityGroupRules, kms:ListAliases may use Resource "*"']);
  });

  it("passes Resource * for the metadata reads that have no resource-level permissions, and no other read", async () => {
    const describe = res("aws:iam/rolePolicy:RolePolicy", "describe", {
      role: "r",
      policy: doc({ Effect: "Allow", Action: ["ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules", "kms:ListAliases"], Resource: "*" }),
    });
    expect(await messages(iamNoWildcards, [describe])).toEqual([]);
    const instances = res("aws:iam/rolePolicy:RolePolicy", "instances", {
      role: "r",
      policy: doc({ Effect: "Allow", Action: ["ec2:DescribeSecurityGroups", "ec2:DescribeInstances"], Resource: "*" }),
    });
    expect(await messages(iamNoWildcards, [instances])).toEqual([
      `policy statement #0 allows "ec2:DescribeInstances" on every resource; only ${LIST} may use Resource "*"`,
    ]);
  });

  it("fails NotAction with Allow", async () => {
    const policy = res("aws:iam/policy:Policy", "most", { policy: doc({ Effect: "Allow", NotAction: "iam:*", Resource: "arn:aws:s3:::x" }) });
    expect(await messages(iamNoWildcards, [policy])).toEqual(["policy statement #0 uses NotAction with Allow; list the actions it needs"]);
  });

  it("fails the AWS managed AdministratorAccess policy, attached or in a role's managedPolicyArns", async () => {
    const admin = "arn:aws:iam::aws:policy/AdministratorAccess";
    const attachment = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "admin", { role: "ci-orders", policyArn: admin });
    const role = withInputs(reconcilerRole, { managedPolicyArns: ["arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly", admin] });
    expect(await messages(iamNoWildcards, [attachment, role])).toEqual([
      'managedPolicyArns[1] attaches AdministratorAccess, which allows "*" on every resource; attach a policy that lists the actions it needs',
      'policyArn attaches AdministratorAccess, which allows "*" on every resource; attach a policy that lists the actions it needs',
    ]);
  });

  it("fails service-wide actions however the wildcard is written", async () => {
    const policy = res("aws:iam/policy:Policy", "wide", {
      policy: doc({ Effect: "Allow", Action: ["iam:*?", "*:Get*", "KMS:*", "s3:GetObject"], Resource: "arn:aws:s3:::x/*" }),
    });
    expect(await messages(iamNoWildcards, [policy])).toEqual([
      'policy statement #0 allows "*:Get*"; list the actions it needs',
      'policy statement #0 allows "KMS:*"; list the actions it needs',
      'policy statement #0 allows "iam:*?"; list the actions it needs',
    ]);
  });

  it("counts a resource pattern that names every resource of a service as Resource *", async () => {
    const policy = res("aws:iam/policy:Policy", "buckets", {
      policy: doc(
        { Sid: "Buckets", Effect: "Allow", Action: "s3:GetObject", Resource: ["arn:aws:s3:::*", "arn:aws:s3:::*/*"] },
        { Sid: "Keys", Effect: "Allow", Action: "kms:Decrypt", Resource: "arn:aws:kms:*:*:*" },
        { Sid: "Any", Effect: "Allow", Action: "sqs:SendMessage", Resource: "arn:*" },
      ),
    });
    expect(await messages(iamNoWildcards, [policy])).toEqual([
      'policy statement "Any" allows "sqs:SendMessage" on every resource ("arn:*" counts as "*"); only ecr:GetAuthorizationToken, ec2:DescribeSecurityGroups, ec2:DescribeSecurityGroupRules, kms:ListAliases may use Resource "*"',
      'policy statement "Buckets" allows "s3:GetObject" on every resource ("arn:aws:s3:::*", "arn:aws:s3:::*/*" counts as "*"); only ecr:GetAuthorizationToken, ec2:DescribeSecurityGroups, ec2:DescribeSecurityGroupRules, kms:ListAliases may use Resource "*"',
      'policy statement "Keys" allows "kms:Decrypt" on every resource ("arn:aws:kms:*:*:*" counts as "*"); only ecr:GetAuthorizationToken, ec2:DescribeSecurityGroups, ec2:DescribeSecurityGroupRules, kms:ListAliases may use Resource "*"',
    ]);
  });

  it("passes resource patterns that name one bucket, one bucket's objects or one repository", async () => {
    const policy = res("aws:iam/policy:Policy", "narrow", {
      policy: doc({ Effect: "Allow", Action: ["s3:GetObject", "ecr:BatchGetImage"], Resource: ["arn:aws:s3:::state-bucket/*", "arn:aws:ecr:eu-west-1:111111111111:repository/orders"] }),
    });
    expect(await messages(iamNoWildcards, [policy])).toEqual([]);
  });

  it("fails every AWS managed policy that amounts to admin or privilege escalation, however it is attached", async () => {
    const arn = (name: string) => `arn:aws:iam::aws:policy/${name}`;
    const role = withInputs(reconcilerRole, { managedPolicyArns: [arn("AmazonEC2ContainerRegistryReadOnly"), arn("IAMFullAccess")] });
    const exclusive = res("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", "exclusive", {
      roleName: "ci",
      policyArns: [arn("AdministratorAccess-Amplify"), arn("AWSOrganizationsFullAccess"), arn("AdministratorAccess-AWSElasticBeanstalk")],
    });
    const govCloud = res("aws:iam/groupPolicyAttachment:GroupPolicyAttachment", "gov", { group: "ops", policyArn: "arn:aws-us-gov:iam::aws:policy/AdministratorAccess" });
    const lambda = res("aws:iam/userPolicyAttachment:UserPolicyAttachment", "lambda", { user: "dev", policyArn: arn("AWSLambda_FullAccess") });
    expect(await messages(iamNoWildcards, [role, exclusive, govCloud, lambda])).toEqual([
      'policyArn attaches AdministratorAccess, which allows "*" on every resource; attach a policy that lists the actions it needs',
      'managedPolicyArns[1] attaches IAMFullAccess, which allows "iam:*" on every resource, so the holder can grant itself anything; attach a policy that lists the actions it needs',
      "policyArns[0] attaches AdministratorAccess-Amplify, which grants account administrative permissions, IAM role and policy changes included; attach a policy that lists the actions it needs",
      'policyArns[1] attaches AWSOrganizationsFullAccess, which allows "organizations:*", including control over every account of the organization; attach a policy that lists the actions it needs',
      "policyArns[2] attaches AdministratorAccess-AWSElasticBeanstalk, which grants account administrative permissions, IAM role and policy changes included; attach a policy that lists the actions it needs",
      'policyArn attaches AWSLambda_FullAccess, which allows "lambda:*" and passing any role to Lambda, so the holder can run code as any role Lambda may assume; attach a policy that lists the actions it needs',
    ]);
  });

  it("passes PowerUserAccess, which excludes IAM and Organizations management", async () => {
    const power = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "deploy", { role: "deploy", policyArn: "arn:aws:iam::aws:policy/PowerUserAccess" });
    expect(await messages(iamNoWildcards, [power])).toEqual([]);
  });

  it("notes an attached policy ARN unknown during preview", async () => {
    const attachment = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "later", { role: "ci-orders", policyArn: UNKNOWN });
    const found = await violations(iamNoWildcards, [attachment]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([["advisory", unknownNote("iam-no-wildcards", "policyArn")]]);
  });

  it("fails a trust policy that lets Principal * assume the role", async () => {
    const role = withInputs(reconcilerRole, { assumeRolePolicy: doc({ Sid: "Anyone", Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" }) });
    expect(await messages(iamNoWildcards, [role])).toEqual(['assumeRolePolicy statement "Anyone" lets every AWS principal assume the role; name the principals that may assume it']);
  });

  it("ignores Deny statements", async () => {
    const policy = res("aws:iam/policy:Policy", "guard", { policy: doc({ Effect: "Deny", Action: "*", Resource: "*" }) });
    expect(await messages(iamNoWildcards, [policy])).toEqual([]);
  });

  it("checks the documents it can read and notes the unknown one", async () => {
    const role = withInputs(ciRole, { inlinePolicies: [{ name: "push", policy: UNKNOWN }, { name: "all", policy: doc({ Effect: "Allow", Action: "*", Resource: "*" }) }] });
    const found = await violations(iamNoWildcards, [role]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([
      ["mandatory", 'inlinePolicies[1] (all) statement #0 allows "*" on every resource; only ecr:GetAuthorizationToken, ec2:DescribeSecurityGroups, ec2:DescribeSecurityGroupRules, kms:ListAliases may use Resource "*"'],
      ["mandatory", 'inlinePolicies[1] (all) statement #0 allows "*"; list the actions it needs'],
      ["advisory", unknownNote("iam-no-wildcards", "inlinePolicies.0.policy")],
    ]);
  });
});

const withTrust = (role: typeof ciRole, statement: object) => withInputs(role, { assumeRolePolicy: doc(statement) });

describe("iam-github-oidc-trust", () => {
  // The subject's form; which subjects a writing role may trust is test/policies/aws-iam-trust.test.ts's.
  const FORM = { config: { protectedBranches: ["main"] } };

  it("passes a pinned audience and one repository's branch", async () => {
    expect(await messages(iamGithubOidcTrust, [ciRole], FORM)).toEqual([]);
  });

  it("passes an environment and the repository's pull requests", async () => {
    const env = trust(GH, { StringEquals: { [`${GH}:aud`]: "sts.amazonaws.com", [`${GH}:sub`]: "repo:acme-corp/orders:environment:prod" } });
    const prs = trust(GH, { StringEquals: { [`${GH}:aud`]: "sts.amazonaws.com", [`${GH}:sub`]: "repo:acme-corp/gitops-platform:pull_request" } });
    expect(await messages(iamGithubOidcTrust, [withTrust(ciRole, env), withTrust(reconcilerRole, prs)], FORM)).toEqual([]);
  });

  it("fails a missing audience", async () => {
    const statement = trust(GH, { StringEquals: { [`${GH}:sub`]: "repo:acme-corp/orders:ref:refs/heads/main" } });
    expect(await messages(iamGithubOidcTrust, [withTrust(ciRole, statement)], FORM)).toEqual([`GitHub OIDC trust (statement #0) must pin ${GH}:aud to "sts.amazonaws.com" with StringEquals`]);
  });

  it("fails a wildcard subject", async () => {
    const statement = trust(GH, { StringEquals: { [`${GH}:aud`]: "sts.amazonaws.com" }, StringLike: { [`${GH}:sub`]: "repo:acme-corp/*" } });
    expect(await messages(iamGithubOidcTrust, [withTrust(ciRole, statement)], FORM)).toEqual([
      `GitHub OIDC trust (statement #0) matches ${GH}:sub "repo:acme-corp/*" with a wildcard; name one repository and its branch or environment exactly`,
    ]);
  });

  it("fails a missing subject", async () => {
    const statement = trust(GH, { StringEquals: { [`${GH}:aud`]: "sts.amazonaws.com" } });
    expect(await messages(iamGithubOidcTrust, [withTrust(ciRole, statement)], FORM)).toEqual([
      `GitHub OIDC trust (statement #0) must pin ${GH}:sub with StringEquals to repo:<owner>/<repo>:ref:refs/heads/<branch>, repo:<owner>/<repo>:environment:<name> or repo:<owner>/<repo>:pull_request`,
    ]);
  });

  it("fails a subject that names no ref or environment", async () => {
    const statement = trust(GH, { StringEquals: { [`${GH}:aud`]: "sts.amazonaws.com", [`${GH}:sub`]: "repo:acme-corp/orders" } });
    expect(await messages(iamGithubOidcTrust, [withTrust(ciRole, statement)], FORM)).toEqual([
      `GitHub OIDC trust (statement #0) pins ${GH}:sub to "repo:acme-corp/orders"; expected repo:<owner>/<repo>:ref:refs/heads/<branch>, repo:<owner>/<repo>:environment:<name> or repo:<owner>/<repo>:pull_request`,
    ]);
  });

  it("notes a trust policy built from the GitHub OIDC provider that is unknown during preview", async () => {
    const provider = res("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "github", { url: `https://${GH}`, clientIdLists: ["sts.amazonaws.com"] });
    const role = res("aws:iam/role:Role", "ci", { assumeRolePolicy: UNKNOWN }, { deps: { assumeRolePolicy: [provider] } });
    const found = await violations(iamGithubOidcTrust, [provider, role, withInputs(reconcilerRole, { assumeRolePolicy: UNKNOWN })]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([["advisory", stackUnknownNote("iam-github-oidc-trust", 'aws:iam/role:Role "ci": string value at .assumeRolePolicy')]]);
  });
});

describe("iam-irsa-trust", () => {
  it("passes one service account and a pinned audience", async () => {
    expect(await messages(iamIrsaTrust, [reconcilerRole, ciRole])).toEqual([]);
  });

  it("fails a wildcard service account", async () => {
    const statement = trust(EKS, { StringEquals: { [`${EKS}:aud`]: "sts.amazonaws.com" }, StringLike: { [`${EKS}:sub`]: "system:serviceaccount:flux-system:*" } });
    expect(await messages(iamIrsaTrust, [withTrust(reconcilerRole, statement)])).toEqual([
      `IRSA trust (statement #0) matches ${EKS}:sub "system:serviceaccount:flux-system:*" with a wildcard; name one namespace and service account exactly`,
    ]);
  });

  it("fails a subject that is not a service account", async () => {
    const statement = trust(EKS, { StringEquals: { [`${EKS}:aud`]: "sts.amazonaws.com", [`${EKS}:sub`]: "system:serviceaccount:flux-system" } });
    expect(await messages(iamIrsaTrust, [withTrust(reconcilerRole, statement)])).toEqual([
      `IRSA trust (statement #0) pins ${EKS}:sub to "system:serviceaccount:flux-system"; expected system:serviceaccount:<namespace>:<service account>`,
    ]);
  });

  it("fails an audience that is not STS", async () => {
    const statement = trust(EKS, { StringEquals: { [`${EKS}:aud`]: "sts", [`${EKS}:sub`]: "system:serviceaccount:flux-system:source-controller" } });
    expect(await messages(iamIrsaTrust, [withTrust(reconcilerRole, statement)])).toEqual([`IRSA trust (statement #0) must pin ${EKS}:aud to "sts.amazonaws.com" with StringEquals`]);
  });
});
