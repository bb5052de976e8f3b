// Who may assume a role that writes (iam-github-oidc-trust), and which AWS accounts a role's trust
// may name (iam-trust-own-account). A role's permissions are read from every resource that grants
// them: inline policies, RolePolicy, managed policy attachments of every kind.
import { describe, expect, it } from "vitest";
import type { RecordedResource } from "../../tools/engine";
import { iamGithubOidcTrust } from "../../policies/aws-iam";
import { iamTrustOwnAccount } from "../../policies/aws-iam-roles";
import { messages, res, stackUnknownNote, UNKNOWN, violations, withInputs } from "./harness";

const GH = "token.actions.githubusercontent.com";
const CONFIG = { protectedBranches: ["staging", "prod"], environments: ["staging", "prod", "release"] };
const doc = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
const githubTrust = (...subjects: string[]) =>
  doc({
    Effect: "Allow",
    Principal: { Federated: `arn:aws:iam::111111111111:oidc-provider/${GH}` },
    Action: "sts:AssumeRoleWithWebIdentity",
    Condition: { StringEquals: { [`${GH}:aud`]: "sts.amazonaws.com", [`${GH}:sub`]: subjects.length === 1 ? subjects[0] : subjects } },
  });
const role = (name: string, ...subjects: string[]) => res("aws:iam/role:Role", name, { name, assumeRolePolicy: githubTrust(...subjects) });
const rolePolicy = (name: string, target: RecordedResource, ...actions: string[]) =>
  res("aws:iam/rolePolicy:RolePolicy", name, { role: target.inputs.name, policy: doc({ Effect: "Allow", Action: actions, Resource: "arn:aws:s3:::b/*" }) }, { deps: { role: [target] } });
const attach = (target: RecordedResource, policyArn: string) =>
  res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", `${target.name}-attach`, { role: target.inputs.name, policyArn }, { deps: { role: [target] } });
const POWER_USER = "arn:aws:iam::aws:policy/PowerUserAccess";
const FIX = "let a writing role trust only a GitHub environment with deployment rules (environment:<name>) or a protected environment branch, or make the role read-only";
const PR = "repo:acme-corp/gitops-platform:pull_request";

describe("iam-github-oidc-trust: who may assume a role that writes", () => {
  it("passes the program's roles: read-only preview and drift roles on pull requests and the default branch, writing roles on environments", async () => {
    const preview = role("preview", PR, "repo:acme-corp/gitops-platform:ref:refs/heads/staging");
    const deploy = role("deploy", "repo:acme-corp/gitops-platform:environment:prod");
    const app = role("app-orders", "repo:acme-corp/orders:environment:release");
    const resources = [
      preview,
      rolePolicy("preview-read", preview, "ec2:DescribeSecurityGroups", "s3:GetObject", "s3:ListBucket", "kms:Decrypt"),
      res("aws:iam/rolePolicy:RolePolicy", "preview-no-data", { role: "preview", policy: doc({ Effect: "Deny", Action: "s3:*", Resource: "*" }) }),
      deploy,
      attach(deploy, POWER_USER),
      app,
      rolePolicy("app-push", app, "ecr:PutImage"),
    ];
    expect(await messages(iamGithubOidcTrust, resources, { config: CONFIG })).toEqual([]);
  });

  it("fails PowerUserAccess assumable by the config repository's pull requests", async () => {
    const power = role("pr-power", PR);
    expect(await messages(iamGithubOidcTrust, [power, attach(power, POWER_USER)], { config: CONFIG })).toEqual([
      `role "pr-power" can write (managed policy PowerUserAccess), yet its GitHub OIDC trust (statement #0) admits "${PR}", the subject of every pull request's workflow run, whatever code the pull request brings; ${FIX}`,
    ]);
  });

  it("fails a write assumable from a branch that is not a protected environment branch", async () => {
    const writer = role("branch-writer", "repo:acme-corp/gitops-platform:ref:refs/heads/any-feature-branch");
    expect(await messages(iamGithubOidcTrust, [writer, rolePolicy("put", writer, "s3:PutObject", "s3:GetObject")], { config: CONFIG })).toEqual([
      `role "branch-writer" can write ("s3:PutObject" (role policy put)), yet its GitHub OIDC trust (statement #0) admits "repo:acme-corp/gitops-platform:ref:refs/heads/any-feature-branch", the subject of any workflow run on branch "any-feature-branch", which is not a protected environment branch ("staging" and "prod"): anyone who can push that branch presents it; ${FIX}`,
    ]);
  });

  it("fails tags and environments the config does not know; leaves environments alone when it lists none", async () => {
    const tagged = withInputs(role("tagged", "repo:acme-corp/orders:ref:refs/tags/v1.0.0", "repo:acme-corp/orders:environment:anything"), {
      inlinePolicies: [{ name: "push", policy: doc({ Effect: "Allow", Action: "ecr:PutImage", Resource: "arn:aws:ecr:eu-west-1:111111111111:repository/orders" }) }],
    });
    expect(await messages(iamGithubOidcTrust, [tagged], { config: CONFIG })).toEqual([
      `role "tagged" can write ("ecr:PutImage" (inline policy push)), yet its GitHub OIDC trust (statement #0) admits "repo:acme-corp/orders:environment:anything", the subject of GitHub environment "anything", which is not a known environment ("staging", "prod" and "release"): a job naming an environment the repository lacks creates it without deployment rules; ${FIX}`,
      `role "tagged" can write ("ecr:PutImage" (inline policy push)), yet its GitHub OIDC trust (statement #0) admits "repo:acme-corp/orders:ref:refs/tags/v1.0.0", the subject of any workflow run on tag "v1.0.0", which anyone with write access can push; ${FIX}`,
    ]);
    expect(await messages(iamGithubOidcTrust, [withInputs(tagged, { assumeRolePolicy: githubTrust("repo:acme-corp/orders:environment:anything") })])).toEqual([]);
  });

  it("counts every way a role gets a writing grant: managedPolicyArns, exclusive and multi-role attachments, NotAction", async () => {
    const a = withInputs(role("a", PR), { managedPolicyArns: ["arn:aws:iam::aws:policy/AdministratorAccess"] });
    const b = role("b", PR);
    const c = role("c", PR);
    const d = withInputs(role("d", PR), { inlinePolicies: [{ name: "most", policy: doc({ Effect: "Allow", NotAction: "iam:*", Resource: "*" }) }] });
    const exclusive = res("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", "b-exclusive", { roleName: "b", policyArns: [POWER_USER] });
    const shared = res("aws:iam/policyAttachment:PolicyAttachment", "c-shared", { roles: ["c"], policyArn: "arn:aws:iam::111111111111:policy/external" });
    const found = await messages(iamGithubOidcTrust, [a, b, c, d, exclusive, shared], { config: CONFIG });
    expect(found.map((message) => /^role "(\w)" can write \(([^)]*)\)/.exec(message)?.slice(1).join(": "))).toEqual([
      "a: managed policy AdministratorAccess",
      "b: managed policy PowerUserAccess",
      "c: managed policy external",
      "d: NotAction (inline policy most",
    ]);
  });

  it("judges a managed policy of the stack by its document", async () => {
    const reader = role("reader", PR);
    const policy = res("aws:iam/policy:Policy", "read-only", { policy: doc({ Effect: "Allow", Action: ["ec2:DescribeInstances"], Resource: "*" }) });
    const attachment = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "reader-attach", { role: "reader", policyArn: UNKNOWN }, { deps: { role: [reader], policyArn: [policy] } });
    expect(await messages(iamGithubOidcTrust, [reader, policy, attachment], { config: CONFIG })).toEqual([]);
    const writer = withInputs(policy, { policy: doc({ Effect: "Allow", Action: ["ec2:RunInstances"], Resource: "*" }) });
    expect(await messages(iamGithubOidcTrust, [reader, writer, attachment], { config: CONFIG })).toHaveLength(1);
  });

  it("notes a role on an unguarded subject whose documents are unknown during preview, and reports the writes it can see", async () => {
    const preview = role("preview", PR);
    const later = res("aws:iam/rolePolicy:RolePolicy", "preview-buckets", { role: "preview", policy: UNKNOWN }, { deps: { role: [preview] } });
    const found = await violations(iamGithubOidcTrust, [preview, later], { config: CONFIG });
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([["advisory", stackUnknownNote("iam-github-oidc-trust", 'aws:iam/rolePolicy:RolePolicy "preview-buckets": string value at .policy')]]);
    const put = rolePolicy("preview-put", preview, "s3:PutObject");
    expect((await violations(iamGithubOidcTrust, [preview, later, put], { config: CONFIG })).map((v) => v.enforcementLevel)).toEqual(["mandatory", "advisory"]);
  });
});

const provider = res("pulumi:providers:aws", "aws", { region: "eu-west-1", allowedAccountIds: '["111111111111"]' });
const inAccount = (resource: RecordedResource): RecordedResource => ({ ...resource, provider: `${provider.urn}::provider-id` });
const trusting = (name: string, principal: object) => res("aws:iam/role:Role", name, { assumeRolePolicy: doc({ Effect: "Allow", Principal: principal, Action: "sts:AssumeRole" }) });
const NO_AWS = "The program's roles are assumed only through web identity (GitHub OIDC, IRSA); remove the principal or name one of account";

describe("iam-trust-own-account", () => {
  it("passes web identities and services of the own account, and principals of the own account", async () => {
    const resources = [
      provider,
      inAccount(role("ci", PR)),
      inAccount(trusting("service", { Service: "ec2.amazonaws.com" })),
      inAccount(trusting("own", { AWS: ["arn:aws:iam::111111111111:root", "111111111111", "arn:aws:iam::111111111111:role/admin"] })),
    ];
    expect(await messages(iamTrustOwnAccount, resources)).toEqual([]);
  });

  it("fails another account, its IAM principals and its identity providers", async () => {
    const other = inAccount(trusting("cross-account", { AWS: ["arn:aws:iam::999999999999:root", "999999999999", "AROAEXAMPLEUNIQUEID"] }));
    const federated = inAccount(trusting("federated", { Federated: `arn:aws:iam::999999999999:oidc-provider/${GH}` }));
    expect(await messages(iamTrustOwnAccount, [provider, other, federated])).toEqual([
      `role "cross-account": trust policy statement #0 names the AWS principal "999999999999", of account 999999999999, not this stack's account 111111111111: whoever administers that account could assume the role. ${NO_AWS} 111111111111`,
      `role "cross-account": trust policy statement #0 names the AWS principal "AROAEXAMPLEUNIQUEID", which names no account; only principals of this stack's account 111111111111 are accepted: whoever administers that account could assume the role. ${NO_AWS} 111111111111`,
      `role "cross-account": trust policy statement #0 names the AWS principal "arn:aws:iam::999999999999:root", of account 999999999999, not this stack's account 111111111111: whoever administers that account could assume the role. ${NO_AWS} 111111111111`,
      `role "federated": trust policy statement #0 names the Federated principal "arn:aws:iam::999999999999:oidc-provider/${GH}", of account 999999999999, not this stack's account 111111111111: whoever administers that account could assume the role. ${NO_AWS} 111111111111`,
    ]);
  });

  it("refuses every AWS account principal when the stack's own account cannot be told", async () => {
    expect(await messages(iamTrustOwnAccount, [trusting("own", { AWS: "arn:aws:iam::111111111111:root" })])).toEqual([
      `role "own": trust policy statement #0 names the AWS principal "arn:aws:iam::111111111111:root", the stack's own account cannot be told (its AWS provider names no single allowedAccountIds entry), so no AWS account principal is accepted: whoever administers that account could assume the role. ${NO_AWS} <this stack's account>`,
    ]);
  });
});
