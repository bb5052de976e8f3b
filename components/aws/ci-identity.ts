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
import {
  bucketConfigReadPolicy,
  controlPlaneReadPolicy,
  dataReadGuardPolicy,
  deployPolicy,
  GITHUB_OIDC_HOST,
  githubTrustPolicy,
  previewStatePolicy,
  pushPolicy,
} from "./ci-policies";
import { STS_AUDIENCE } from "../../policies/vocabulary";
import { DEFAULT_PARTITION } from "./partition";

/** Type token of {@link CiIdentity}. */
export const CI_IDENTITY_TYPE = "gitops-platform:aws:CiIdentity";

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
  /** The app's ECR repository, the only one its role may push to. */
  readonly repositoryArn: pulumi.Input<string>;
}

/** Defaults of the optional {@link CiIdentityArgs}; the stack contract's `ci` section defaults to them too. */
export const CI_IDENTITY_DEFAULTS = { createOidcProvider: true } as const;

export interface CiIdentityArgs {
  /** The AWS account the roles live in. */
  readonly accountId: string;
  /** The AWS region of the stack's resources, for ARNs the read policy is scoped to. */
  readonly region: string;
  /**
   * The AWS partition, for ARNs built here.
   * @default {@link DEFAULT_PARTITION}
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
    const partition = args.partition ?? DEFAULT_PARTITION;
    const createOidcProvider = args.createOidcProvider ?? CI_IDENTITY_DEFAULTS.createOidcProvider;

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
      // One exact subject: release jobs in the app repo's `release` environment, whose deployment
      // rules admit only version tags (a tag's own subject would need a wildcard). Not the app's
      // branch: a role that pushes images is never assumable from a branch this stack does not
      // protect (the pack's iam-github-oidc-trust).
      const role = trustedRole(
        `app-${app.name}`,
        `repo:${app.repo}:environment:${APP_RELEASE_ENVIRONMENT}`,
        `CI of ${app.repo} (${APP_RELEASE_ENVIRONMENT} environment) pushes ${app.name} images`,
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
