/**
 * CI identity: the account's GitHub OIDC provider and the short-lived roles GitHub Actions assume
 * through it — one per application (push to its own ECR repository), one for previews of the config
 * repository's pull requests, one for the scheduled drift check, one for `pulumi up` of this
 * environment. No static keys.
 *
 * What pull-request code can reach is the preview role, and it reads only the control plane of what
 * this stack manages plus the stack's state: no S3 object outside the state bucket, no secret value
 * (Secrets Manager, SSM parameters), no KMS decryption but the state's key, no Kubernetes Secret.
 * Those data reads are denied explicitly as well, so a managed policy attached later cannot
 * quietly widen the role. The drift role reads the same, and is trusted only by workflow runs of
 * the default branch, never by a pull request.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ECR_LOGIN_ACTION, ECR_PUSH_ACTIONS, RESOURCE_WILDCARD_ACTIONS, STS_AUDIENCE } from "../policies/vocabulary";
import { webIdentityTrustPolicy } from "./web-identity";

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

/**
 * The GitHub environment of an app repository whose jobs may push release images: the app CI
 * template's release job runs in it on version tags (the environment's deployment rules admit only
 * those tags), which gives its OIDC token the exact subject `repo:<app repo>:environment:release`.
 */
export const APP_RELEASE_ENVIRONMENT = "release";

/** Kubernetes group of the drift role's access entry; the DriftReader's RBAC binds it to what the stack manages. */
export const DRIFT_READER_GROUP = "gitops-platform:drift-reader";

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
  /** The AWS region of the stack's resources, for ARNs the read policy is scoped to. */
  readonly region: string;
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
   * dispatched previews) may assume the preview role as well, and the only ones that may assume
   * the drift role.
   * @default none: only pull requests assume the preview role, and there is no drift role
   */
  readonly defaultBranch?: string;
  /**
   * S3 buckets the stack manages, whose configuration (never objects) the preview and drift roles read.
   * @default none
   */
  readonly managedBucketArns?: readonly pulumi.Input<string>[];
}

/** The scope of what a stack manages in its account, for the read policy. */
export interface ReadScope {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
  /** The environment: its ECR repositories are `<environment>/<app>`. */
  readonly environment: string;
  /** The EKS cluster the stack looks up and grants access entries on. */
  readonly clusterName?: string;
}

/** Configuration reads of an S3 bucket, as a refresh of its resources needs them; none reads an object. */
export const BUCKET_CONFIG_READ_ACTIONS = [
  "s3:ListBucket",
  "s3:GetBucketLocation",
  "s3:GetBucketPolicy",
  "s3:GetBucketAcl",
  "s3:GetBucketCORS",
  "s3:GetBucketWebsite",
  "s3:GetBucketVersioning",
  "s3:GetAccelerateConfiguration",
  "s3:GetBucketRequestPayment",
  "s3:GetBucketLogging",
  "s3:GetLifecycleConfiguration",
  "s3:GetReplicationConfiguration",
  "s3:GetEncryptionConfiguration",
  "s3:GetBucketObjectLockConfiguration",
  "s3:GetBucketTagging",
  "s3:GetBucketPublicAccessBlock",
  "s3:GetBucketOwnershipControls",
];

/** Reads of data rather than configuration: denied to the preview and drift roles whatever else they get. */
export const DATA_READ_ACTIONS = {
  objects: ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"],
  secrets: [
    "secretsmanager:GetSecretValue",
    "secretsmanager:BatchGetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
    "ssm:GetParameterHistory",
  ],
  decrypt: ["kms:Decrypt", "kms:ReEncryptFrom"],
} as const;

/**
 * Read access to the control plane of what a stack manages, as `pulumi preview --refresh` reads it:
 * its security group and rules, web ACL, bucket configuration, KMS keys' metadata and aliases, ECR
 * repositories of the environment and their policies, the account's IAM roles, policies and OIDC
 * providers, and the cluster with its access entries. Scoped to the account, region and names where
 * the action allows it; the few actions without resource-level permissions use Resource "*".
 * Action names as the AWS Service Authorization Reference spells them.
 */
export function controlPlaneReadPolicy(scope: ReadScope): string {
  const { partition, region, accountId } = scope;
  const iam = `arn:${partition}:iam::${accountId}`;
  const statements: Record<string, unknown>[] = [
    // No resource-level permissions: describe calls of EC2 and the alias listing of KMS.
    { Sid: "DescribeNetworkAndAliases", Effect: "Allow", Action: RESOURCE_WILDCARD_ACTIONS.filter((a) => a !== ECR_LOGIN_ACTION), Resource: "*" },
    {
      Sid: "ReadWebAcls",
      Effect: "Allow",
      Action: ["wafv2:GetWebACL", "wafv2:ListTagsForResource"],
      Resource: `arn:${partition}:wafv2:${region}:${accountId}:regional/webacl/*`,
    },
    {
      Sid: "ReadKeyMetadata",
      Effect: "Allow",
      Action: ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"],
      Resource: `arn:${partition}:kms:${region}:${accountId}:key/*`,
    },
    {
      Sid: "ReadRepositories",
      Effect: "Allow",
      Action: ["ecr:DescribeRepositories", "ecr:GetRepositoryPolicy", "ecr:GetLifecyclePolicy", "ecr:ListTagsForResource"],
      Resource: `arn:${partition}:ecr:${region}:${accountId}:repository/${scope.environment}/*`,
    },
    {
      Sid: "ReadIdentities",
      Effect: "Allow",
      Action: [
        "iam:GetRole",
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
        "iam:GetOpenIDConnectProvider",
      ],
      Resource: [`${iam}:role/*`, `${iam}:policy/*`, `${iam}:oidc-provider/*`],
    },
  ];
  if (scope.clusterName !== undefined) {
    const eks = `arn:${partition}:eks:${region}:${accountId}`;
    statements.push({
      Sid: "ReadCluster",
      Effect: "Allow",
      Action: ["eks:DescribeCluster", "eks:DescribeAccessEntry", "eks:ListAssociatedAccessPolicies"],
      Resource: [`${eks}:cluster/${scope.clusterName}`, `${eks}:access-entry/${scope.clusterName}/*`],
    });
  }
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

/** Configuration reads of the stack's own buckets (a separate document: bucket names are known only once auto-named). */
export function bucketConfigReadPolicy(bucketArns: readonly string[]): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Sid: "ReadBucketConfiguration", Effect: "Allow", Action: BUCKET_CONFIG_READ_ACTIONS, Resource: [...bucketArns] }],
  });
}

/**
 * Explicit denies of every data read: objects outside the state bucket, secret values, KMS
 * decryption with any key but the state's. An explicit deny wins over any allow, so these hold even
 * if someone attaches a broad managed policy (ReadOnlyAccess) to the role later.
 */
export function dataReadGuardPolicy(partition: string, stateBucket: string, secretsKeyArn: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Sid: "NoObjectsOutsideState", Effect: "Deny", Action: [...DATA_READ_ACTIONS.objects], NotResource: `arn:${partition}:s3:::${stateBucket}/*` },
      { Sid: "NoSecretValues", Effect: "Deny", Action: [...DATA_READ_ACTIONS.secrets], Resource: "*" },
      { Sid: "NoDecryptionButState", Effect: "Deny", Action: [...DATA_READ_ACTIONS.decrypt], NotResource: secretsKeyArn },
    ],
  });
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
      { Sid: "RegistryLogin", Effect: "Allow", Action: ECR_LOGIN_ACTION, Resource: "*" },
      { Sid: "PushOwnRepository", Effect: "Allow", Action: ECR_PUSH_ACTIONS, Resource: repositoryArn },
    ],
  });
}

/**
 * The preview and drift roles' access to the state backend: read the state and decrypt its secrets,
 * nothing else. `pulumi preview` (with or without `--refresh`) takes no stack lock on a self-managed
 * backend (pulumi/pulumi pkg/backend/diy/backend.go: `Preview` applies as a dry run without
 * `b.Lock`, unlike `Update`, `Refresh`, `Import` and `Destroy`), so neither role writes anything.
 * The bootstrap encrypts the state bucket with the same KMS key, so reading an object needs
 * `kms:Decrypt` on it too.
 */
export function previewStatePolicy(partition: string, stateBucket: string, secretsKeyArn: string): string {
  const bucketArn = `arn:${partition}:s3:::${stateBucket}`;
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Sid: "ListState", Effect: "Allow", Action: "s3:ListBucket", Resource: bucketArn },
      { Sid: "ReadState", Effect: "Allow", Action: "s3:GetObject", Resource: `${bucketArn}/*` },
      { Sid: "UseStateKey", Effect: "Allow", Action: "kms:Decrypt", Resource: secretsKeyArn },
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
  /** The role the scheduled drift check assumes (default branch only), when `defaultBranch` is set. */
  public readonly driftRoleArn: pulumi.Output<string> | undefined;

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
      // Exact subjects only: the branch, and release jobs in the app repo's `release` environment,
      // which runs on version tags (a tag's own subject would need a wildcard).
      const role = trustedRole(
        `app-${app.name}`,
        [`repo:${app.repo}:ref:refs/heads/${app.branch}`, `repo:${app.repo}:environment:${APP_RELEASE_ENVIRONMENT}`],
        `CI of ${app.repo} (${app.branch}, ${APP_RELEASE_ENVIRONMENT} environment) pushes ${app.name} images`,
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

    // What the preview and drift roles read: the control plane of this stack, and its state.
    const readPolicy = controlPlaneReadPolicy({
      partition,
      region: args.region,
      accountId: args.accountId,
      environment: args.environment,
      ...(args.clusterName !== undefined ? { clusterName: args.clusterName } : {}),
    });
    const bucketArns = args.managedBucketArns ?? [];
    const bucketPolicy = pulumi.all(bucketArns.map((arn) => pulumi.output(arn))).apply(bucketConfigReadPolicy);
    const readOnly = (role: string, subjects: readonly string[], description: string) => {
      const created = trustedRole(role, subjects.length === 1 ? (subjects[0] ?? "") : subjects, description);
      new aws.iam.RolePolicy(`${name}-${role}-read`, { role: created.name, policy: readPolicy }, { parent: this });
      if (bucketArns.length > 0) new aws.iam.RolePolicy(`${name}-${role}-read-buckets`, { role: created.name, policy: bucketPolicy }, { parent: this });
      new aws.iam.RolePolicy(
        `${name}-${role}-state`,
        { role: created.name, policy: previewStatePolicy(partition, args.stateBucket, args.secretsKeyArn) },
        { parent: this },
      );
      new aws.iam.RolePolicy(
        `${name}-${role}-no-data`,
        { role: created.name, policy: dataReadGuardPolicy(partition, args.stateBucket, args.secretsKeyArn) },
        { parent: this },
      );
      return created;
    };

    // Pull requests (GitHub issues no OIDC token to runs of pull requests from forks), and previews
    // dispatched by hand on the default branch, which run reviewed code.
    const previewSubjects = [`repo:${args.configRepo}:pull_request`];
    if (args.defaultBranch !== undefined) previewSubjects.push(`repo:${args.configRepo}:ref:refs/heads/${args.defaultBranch}`);
    const preview = readOnly("preview", previewSubjects, `pulumi preview of ${args.configRepo} pull requests (control-plane reads and the state)`);
    this.previewRoleArn = pulumi.interpolate`arn:${partition}:iam::${args.accountId}:role/${preview.name}`;

    // Only workflow runs of the default branch (schedule, dispatch): no pull request's token has
    // this subject, whatever its branch is called.
    const drift =
      args.defaultBranch !== undefined
        ? readOnly(
            "drift",
            [`repo:${args.configRepo}:ref:refs/heads/${args.defaultBranch}`],
            `drift check of the ${args.environment} stack from ${args.configRepo}'s ${args.defaultBranch} branch (control-plane reads and the state)`,
          )
        : undefined;
    this.driftRoleArn = drift ? pulumi.interpolate`arn:${partition}:iam::${args.accountId}:role/${drift.name}` : undefined;

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
      // `up` installs CRDs and cluster roles; preview only reads, and the view policy has no Secrets.
      grant("deploy", deploy.arn, "AmazonEKSClusterAdminPolicy");
      grant("preview", preview.arn, "AmazonEKSViewPolicy");
      // A refresh reads every object the stack manages, Secrets and CRDs included, which no EKS
      // access policy covers without also covering every other Secret: the drift role gets a group
      // instead, and the DriftReader's RBAC gives that group exactly the managed kinds and Secrets.
      if (drift !== undefined) {
        new aws.eks.AccessEntry(
          `${name}-drift-cluster-access`,
          { clusterName, principalArn: drift.arn, type: "STANDARD", kubernetesGroups: [DRIFT_READER_GROUP] },
          { parent: this },
        );
      }
    }

    this.registerOutputs({
      oidcProviderArn: this.oidcProviderArn,
      appRoleArns: this.appRoleArns,
      previewRoleArn: this.previewRoleArn,
      deployRoleArn: this.deployRoleArn,
      driftRoleArn: this.driftRoleArn,
    });
  }
}
