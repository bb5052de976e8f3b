/**
 * CI identity: the account's GitHub OIDC provider and the short-lived roles GitHub Actions assume
 * through it — one per application (push to its own ECR repository), one for previews of the config
 * repository's pull requests (read-only), one for `pulumi up` of this environment. No static keys.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PUSH_ACTIONS } from "./registry";
import { STS_AUDIENCE, webIdentityTrustPolicy } from "./web-identity";

/** Type token of {@link CiIdentity}. */
export const CI_IDENTITY_TYPE = "gitops-platform:aws:CiIdentity";

/** GitHub Actions' OIDC issuer host; also the prefix of its claim keys in IAM conditions. */
export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";

/** IAM actions `pulumi up` needs for the IAM resources this program declares (roles, their policies, OIDC providers). */
export const IAM_MANAGEMENT_ACTIONS = [
  "iam:CreateRole",
  "iam:DeleteRole",
  "iam:GetRole",
  "iam:UpdateRole",
  "iam:UpdateRoleDescription",
  "iam:UpdateAssumeRolePolicy",
  "iam:TagRole",
  "iam:UntagRole",
  "iam:ListRoleTags",
  "iam:PutRolePolicy",
  "iam:GetRolePolicy",
  "iam:DeleteRolePolicy",
  "iam:ListRolePolicies",
  "iam:AttachRolePolicy",
  "iam:DetachRolePolicy",
  "iam:ListAttachedRolePolicies",
  "iam:ListInstanceProfilesForRole",
  "iam:CreatePolicy",
  "iam:DeletePolicy",
  "iam:GetPolicy",
  "iam:GetPolicyVersion",
  "iam:ListPolicyVersions",
  "iam:CreatePolicyVersion",
  "iam:DeletePolicyVersion",
  "iam:TagPolicy",
  "iam:UntagPolicy",
  "iam:CreateOpenIDConnectProvider",
  "iam:GetOpenIDConnectProvider",
  "iam:DeleteOpenIDConnectProvider",
  "iam:TagOpenIDConnectProvider",
  "iam:UntagOpenIDConnectProvider",
  "iam:ListOpenIDConnectProviderTags",
  "iam:UpdateOpenIDConnectProviderThumbprint",
  "iam:AddClientIDToOpenIDConnectProvider",
  "iam:RemoveClientIDFromOpenIDConnectProvider",
];

/** One application whose CI pushes images. */
export interface CiApp {
  /** Application name; keys {@link CiIdentity.appRoleArns}. */
  readonly name: string;
  /** The app's GitHub repository, `owner/name`, spelled as GitHub does (the `sub` claim is case-sensitive). */
  readonly repo: string;
  /** The only branch whose workflows may push. */
  readonly branch: string;
  /** The app's ECR repository, the only one its role may push to. */
  readonly repositoryArn: pulumi.Input<string>;
}

export interface CiIdentityArgs {
  /** The AWS account the roles live in. */
  readonly accountId: string;
  /**
   * The AWS partition, for ARNs built here.
   * @default "aws"
   */
  readonly partition?: string;
  /** The environment (= stack and branch name); the deploy role trusts only this GitHub environment. */
  readonly environment: string;
  /** The config repository, `owner/name`, whose workflows run preview and up. */
  readonly configRepo: string;
  /** Applications whose CI pushes images, each to its own repository. */
  readonly apps: readonly CiApp[];
  /** Bucket of the Pulumi state backend. */
  readonly stateBucket: string;
  /** KMS key of the stack's secrets provider. */
  readonly secretsKeyArn: string;
  /**
   * Create the account's GitHub OIDC provider; false to use the one another stack created.
   * @default true
   */
  readonly createOidcProvider?: boolean;
  /**
   * The EKS cluster `pulumi up` and `pulumi preview` reach through the Kubernetes provider: the
   * deploy role gets cluster-admin, the preview role view access (EKS access entries; the
   * cluster's authentication mode must include `API`).
   * @default none: no cluster access is granted
   */
  readonly clusterName?: string;
  /**
   * The config repository's default branch, whose workflow runs (scheduled drift checks,
   * dispatched previews) may assume the preview role as well.
   * @default none: only pull requests
   */
  readonly defaultBranch?: string;
}

/** Trust policy: only GitHub's OIDC tokens for `sts.amazonaws.com` with exactly this subject (or one of these). */
export function githubTrustPolicy(providerArn: string, subject: string | readonly string[]): string {
  return webIdentityTrustPolicy(providerArn, GITHUB_OIDC_HOST, subject);
}

/** An app CI role's permissions: push to its own repository; the registry login token has no resource. */
export function pushPolicy(repositoryArn: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Sid: "RegistryLogin", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
      { Sid: "PushOwnRepository", Effect: "Allow", Action: PUSH_ACTIONS, Resource: repositoryArn },
    ],
  });
}

/**
 * The preview role's access to the state backend: read state, take and release the stack lock,
 * decrypt secrets. The bootstrap encrypts the state bucket with the same KMS key, so writing a lock
 * object also needs a data key from it.
 */
export function previewStatePolicy(partition: string, stateBucket: string, secretsKeyArn: string): string {
  const bucketArn = `arn:${partition}:s3:::${stateBucket}`;
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Sid: "ListState", Effect: "Allow", Action: "s3:ListBucket", Resource: bucketArn },
      { Sid: "ReadState", Effect: "Allow", Action: "s3:GetObject", Resource: `${bucketArn}/*` },
      { Sid: "LockStack", Effect: "Allow", Action: ["s3:PutObject", "s3:DeleteObject"], Resource: `${bucketArn}/.pulumi/locks/*` },
      { Sid: "UseStateKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: secretsKeyArn },
    ],
  });
}

/**
 * The deploy role's IAM rights (the managed PowerUserAccess covers every other service but no IAM),
 * limited to this account, and the guard rails no deploy may cross: no IAM users or access keys,
 * no deleting the state backend or its key.
 */
export function deployPolicy(partition: string, accountId: string, stateBucket: string, secretsKeyArn: string): string {
  const iam = `arn:${partition}:iam::${accountId}`;
  const bucketArn = `arn:${partition}:s3:::${stateBucket}`;
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ManageProgramIdentities",
        Effect: "Allow",
        Action: IAM_MANAGEMENT_ACTIONS,
        Resource: [`${iam}:role/*`, `${iam}:policy/*`, `${iam}:oidc-provider/*`],
      },
      {
        Sid: "NoStaticCredentials",
        Effect: "Deny",
        Action: ["iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile"],
        Resource: `${iam}:user/*`,
      },
      {
        Sid: "KeepStateBackend",
        Effect: "Deny",
        Action: ["s3:DeleteBucket", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketVersioning", "s3:PutLifecycleConfiguration"],
        Resource: bucketArn,
      },
      {
        Sid: "KeepSecretsKey",
        Effect: "Deny",
        Action: ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy"],
        Resource: secretsKeyArn,
      },
    ],
  });
}

export class CiIdentity extends pulumi.ComponentResource {
  /** The GitHub OIDC provider this stack created, if it created one. */
  public readonly oidcProvider: aws.iam.OpenIdConnectProvider | undefined;
  /** ARN of the GitHub OIDC provider the roles trust. */
  public readonly oidcProviderArn: pulumi.Output<string>;
  /** Per application name, the ARN of the role its CI assumes to push images. */
  public readonly appRoleArns: Record<string, pulumi.Output<string>>;
  /** The role `pulumi preview` assumes on the config repository's pull requests. */
  public readonly previewRoleArn: pulumi.Output<string>;
  /** The role `pulumi up` assumes in this environment's GitHub environment. */
  public readonly deployRoleArn: pulumi.Output<string>;

  constructor(name: string, args: CiIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    super(CI_IDENTITY_TYPE, name, {}, opts);
    const partition = args.partition ?? "aws";
    const createOidcProvider = args.createOidcProvider ?? true;

    // The provider is one per account and its ARN is fixed by its URL: trust policies name it
    // directly, so they are fully known at preview even before the provider exists.
    const oidcProviderArn = `arn:${partition}:iam::${args.accountId}:oidc-provider/${GITHUB_OIDC_HOST}`;
    // No thumbprints: AWS verifies GitHub's issuer through its own trusted CAs.
    this.oidcProvider = createOidcProvider
      ? new aws.iam.OpenIdConnectProvider(`${name}-github-oidc`, { url: `https://${GITHUB_OIDC_HOST}`, clientIdLists: [STS_AUDIENCE] }, { parent: this })
      : undefined;
    this.oidcProviderArn = this.oidcProvider ? this.oidcProvider.arn : pulumi.output(oidcProviderArn);
    const afterProvider = this.oidcProvider ? [this.oidcProvider] : [];

    const trustedRole = (role: string, subject: string | readonly string[], description: string) =>
      new aws.iam.Role(
        `${name}-${role}`,
        {
          // A fixed name (IAM allows 64 characters), not an auto-name: ARNs built from it are
          // known at preview, so the pack can judge the policies naming these roles (the SOPS key
          // policy, ECR repository policies) before the first `up`.
          name: `${name}-${role}`.slice(0, 64).replace(/-+$/, ""),
          description,
          assumeRolePolicy: githubTrustPolicy(oidcProviderArn, subject),
        },
        { parent: this, dependsOn: afterProvider },
      );

    this.appRoleArns = {};
    for (const app of args.apps) {
      const role = trustedRole(
        `app-${app.name}`,
        `repo:${app.repo}:ref:refs/heads/${app.branch}`,
        `CI of ${app.repo} (${app.branch}) pushes ${app.name} images`,
      );
      new aws.iam.RolePolicy(
        `${name}-app-${app.name}-push`,
        { role: role.name, policy: pulumi.output(app.repositoryArn).apply(pushPolicy) },
        { parent: this },
      );
      // From the name, which a real preview knows before the role exists, so the repository
      // policy naming this role can be checked at preview; the default path "/" is part of it.
      this.appRoleArns[app.name] = pulumi.interpolate`arn:${partition}:iam::${args.accountId}:role/${role.name}`;
    }

    const previewSubjects = [`repo:${args.configRepo}:pull_request`];
    if (args.defaultBranch !== undefined) previewSubjects.push(`repo:${args.configRepo}:ref:refs/heads/${args.defaultBranch}`);
    const preview = trustedRole(
      "preview",
      previewSubjects.length === 1 ? previewSubjects[0]! : previewSubjects,
      `pulumi preview of ${args.configRepo} pull requests and drift checks (read-only)`,
    );
    new aws.iam.RolePolicyAttachment(
      `${name}-preview-read-only`,
      { role: preview.name, policyArn: `arn:${partition}:iam::aws:policy/ReadOnlyAccess` },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-preview-state`,
      { role: preview.name, policy: previewStatePolicy(partition, args.stateBucket, args.secretsKeyArn) },
      { parent: this },
    );
    this.previewRoleArn = pulumi.interpolate`arn:${partition}:iam::${args.accountId}:role/${preview.name}`;

    const deploy = trustedRole(
      "deploy",
      `repo:${args.configRepo}:environment:${args.environment}`,
      `pulumi up of the ${args.environment} stack from the ${args.environment} GitHub environment`,
    );
    new aws.iam.RolePolicyAttachment(
      `${name}-deploy-power-user`,
      { role: deploy.name, policyArn: `arn:${partition}:iam::aws:policy/PowerUserAccess` },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-deploy-iam`,
      { role: deploy.name, policy: deployPolicy(partition, args.accountId, args.stateBucket, args.secretsKeyArn) },
      { parent: this },
    );
    this.deployRoleArn = pulumi.interpolate`arn:${partition}:iam::${args.accountId}:role/${deploy.name}`;

    if (args.clusterName !== undefined) {
      const clusterName = args.clusterName;
      const grant = (role: string, principalArn: pulumi.Output<string>, policy: string) => {
        const entry = new aws.eks.AccessEntry(`${name}-${role}-cluster-access`, { clusterName, principalArn, type: "STANDARD" }, { parent: this });
        new aws.eks.AccessPolicyAssociation(
          `${name}-${role}-cluster-policy`,
          {
            clusterName,
            principalArn,
            policyArn: `arn:${partition}:eks::aws:cluster-access-policy/${policy}`,
            accessScope: { type: "cluster" },
          },
          { parent: this, dependsOn: [entry] },
        );
      };
      // `up` installs CRDs and cluster roles; preview only reads.
      grant("deploy", deploy.arn, "AmazonEKSClusterAdminPolicy");
      grant("preview", preview.arn, "AmazonEKSViewPolicy");
    }

    this.registerOutputs({
      oidcProviderArn: this.oidcProviderArn,
      appRoleArns: this.appRoleArns,
      previewRoleArn: this.previewRoleArn,
      deployRoleArn: this.deployRoleArn,
    });
  }
}
