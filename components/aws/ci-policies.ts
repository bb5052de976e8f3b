/**
 * The IAM policy documents of the CI identity (components/aws/ci-identity.ts): the GitHub trust
 * policy, an app's push policy, the preview and drift roles' control-plane reads with their
 * explicit data-read denials, and the deploy role's permissions: pure functions of names and ARNs.
 */
import { RESOURCE_WILDCARD_ACTIONS } from "../../policies/aws-iam";
import { PUSH_ACTIONS } from "./registry";
import { webIdentityTrustPolicy } from "./web-identity";

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
    { Sid: "DescribeNetworkAndAliases", Effect: "Allow", Action: RESOURCE_WILDCARD_ACTIONS.filter((a) => a !== "ecr:GetAuthorizationToken"), Resource: "*" },
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
      { Sid: "RegistryLogin", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
      { Sid: "PushOwnRepository", Effect: "Allow", Action: PUSH_ACTIONS, Resource: repositoryArn },
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
