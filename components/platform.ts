/**
 * Platform: everything one environment needs around its existing EKS cluster. The only thing
 * index.ts builds.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CiIdentity } from "./ci-identity";
import type { PlatformConfig } from "./config";
import { Firewall } from "./firewall";
import { FluxNamespace } from "./flux-namespace";
import { ImageReflectorRole } from "./image-reflector-role";
import { Registry } from "./registry";
import { Storage } from "./storage";

/** Type token of {@link Platform}. */
export const PLATFORM_TYPE = "gitops-platform:platform:Platform";

export interface PlatformArgs {
  /** The validated stack config (components/config.ts). */
  readonly config: PlatformConfig;
}

/** The AWS partition a region belongs to (`aws`, `aws-cn`, `aws-us-gov`), for ARNs built from config. */
export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}

/**
 * A kubeconfig for the cluster that authenticates through `aws eks get-token`, so it holds no
 * credential of its own; it is still handled as a secret because it names the private endpoint.
 */
export function clusterKubeconfig(clusterName: string, region: string, endpoint: string, certificateAuthority: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: clusterName, cluster: { server: endpoint, "certificate-authority-data": certificateAuthority } }],
    contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
    "current-context": clusterName,
    users: [
      {
        name: clusterName,
        user: {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: "aws",
            args: ["eks", "get-token", "--cluster-name", clusterName, "--region", region, "--output", "json"],
            interactiveMode: "Never",
          },
        },
      },
    ],
  });
}

/** An app's ECR repository name: fixed, so manifests can name its URL; per environment, so stacks sharing an account don't collide. */
export function repositoryName(environment: string, app: string): string {
  return `${environment}/${app}`;
}

export class Platform extends pulumi.ComponentResource {
  /** The explicit AWS provider every AWS resource of the platform uses. */
  public readonly awsProvider: aws.Provider;
  /** The Kubernetes provider for the cluster, built from its endpoint and CA. */
  public readonly k8sProvider: k8s.Provider;
  /** The cluster's VPC. */
  public readonly vpcId: pulumi.Output<string>;
  /** The cluster's OIDC issuer URL (for IRSA roles). */
  public readonly clusterOidcIssuer: pulumi.Output<string>;
  /** The kubeconfig the Kubernetes provider uses (secret). */
  public readonly kubeconfig: pulumi.Output<string>;
  /** The entry point's firewall. */
  public readonly firewall: Firewall;
  /** The environment's bucket and its key. */
  public readonly storage: Storage;
  /** The GitHub OIDC provider and the roles of CI, preview and deploy. */
  public readonly ciIdentity: CiIdentity;
  /** Per application name, its ECR repository. */
  public readonly registries: Record<string, Registry>;
  /**
   * Per application name, its ECR repository's ARN. Known before any resource exists (the names
   * are fixed), so roles that reference repositories can be declared before the repositories.
   */
  public readonly repositoryArns: Record<string, string>;
  /** Per application name, its ECR repository's URL. */
  public readonly repositoryUrls: Record<string, pulumi.Output<string>>;
  /** Per application name, the role its CI assumes to push images. */
  public readonly ciRoleArns: Record<string, pulumi.Output<string>>;
  /** The role `pulumi preview` assumes on pull requests. */
  public readonly previewRoleArn: pulumi.Output<string>;
  /** The role `pulumi up` assumes for this environment. */
  public readonly deployRoleArn: pulumi.Output<string>;
  /** The entry point's security group. */
  public readonly securityGroupId: pulumi.Output<string>;
  /** The WAFv2 web ACL's ARN, when the WAF is enabled. */
  public readonly webAclArn: pulumi.Output<string> | undefined;
  /** The bucket's name. */
  public readonly bucketName: pulumi.Output<string>;
  /** The bucket key's ARN. */
  public readonly storageKeyArn: pulumi.Output<string>;
  /** The namespace of the Flux Operator and Flux (restricted pod security); deploy-key Secrets live in it. */
  public readonly fluxNamespace: FluxNamespace;
  /** The image reflector's IRSA role, when an app uses image automation. */
  public readonly imageReflectorRole: ImageReflectorRole | undefined;

  constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super(PLATFORM_TYPE, name, {}, opts);
    const config = args.config;

    this.awsProvider = new aws.Provider(
      `${name}-aws`,
      {
        region: config.region as aws.Region,
        allowedAccountIds: [config.aws.accountId],
        defaultTags: { tags: config.aws.tags },
      },
      { parent: this },
    );

    const cluster = aws.eks.getClusterOutput({ name: config.aws.clusterName }, { provider: this.awsProvider, parent: this });
    this.vpcId = cluster.vpcConfig.vpcId;
    this.clusterOidcIssuer = cluster.identities.apply((ids) => ids[0]?.oidcs[0]?.issuer ?? "");

    this.kubeconfig = pulumi.secret(
      pulumi
        .all([cluster.endpoint, cluster.certificateAuthorities])
        .apply(([endpoint, cas]) => clusterKubeconfig(config.aws.clusterName, config.region, endpoint, cas[0]?.data ?? "")),
    );
    this.k8sProvider = new k8s.Provider(`${name}-k8s`, { kubeconfig: this.kubeconfig }, { parent: this });

    const partition = partitionOf(config.region);
    const onAws = { parent: this, providers: [this.awsProvider] };

    this.firewall = new Firewall(`${name}-firewall`, { vpcId: this.vpcId, rules: config.firewall }, onAws);
    this.storage = new Storage(`${name}-storage`, config.storage, onAws);

    this.repositoryArns = Object.fromEntries(
      config.apps.map((app) => [
        app.name,
        `arn:${partition}:ecr:${config.region}:${config.aws.accountId}:repository/${repositoryName(config.environment, app.name)}`,
      ]),
    );
    this.ciIdentity = new CiIdentity(
      `${name}-ci`,
      {
        accountId: config.aws.accountId,
        partition,
        environment: config.environment,
        configRepo: config.github.configRepo.repo,
        apps: config.apps.map((app) => ({ name: app.name, repo: app.repo, branch: app.branch, repositoryArn: this.repositoryArns[app.name] ?? "" })),
        stateBucket: config.ci.stateBucket,
        secretsKeyArn: config.ci.secretsKeyArn,
        createOidcProvider: config.ci.createOidcProvider,
      },
      onAws,
    );

    // The image reflector's IRSA role is the repositories' only puller, so it comes first; its ECR
    // read permissions are attached by the Reconciler once the repositories exist.
    const automated = config.apps.some((app) => app.imageAutomation !== undefined);
    this.imageReflectorRole = automated
      ? new ImageReflectorRole(
          `${name}-image-reflector`,
          { oidcIssuerUrl: this.clusterOidcIssuer, accountId: config.aws.accountId, partition, namespace: config.reconciler.namespace },
          onAws,
        )
      : undefined;
    const imageReflectorRoleArn = this.imageReflectorRole?.arn;

    this.registries = {};
    for (const app of config.apps) {
      this.registries[app.name] = new Registry(
        `${name}-registry-${app.name}`,
        {
          repositoryName: repositoryName(config.environment, app.name),
          pushRoleArn: this.ciIdentity.appRoleArns[app.name] ?? "",
          pullRoleArn: imageReflectorRoleArn,
          keepLastImages: config.registry.keepLastImages,
          untaggedExpiryDays: config.registry.untaggedExpiryDays,
        },
        onAws,
      );
    }

    this.fluxNamespace = new FluxNamespace(`${name}-flux-namespace`, { name: config.reconciler.namespace }, { parent: this, providers: [this.k8sProvider] });

    // Seam: GitHub deploy keys (components/deploy-key.ts), one per repository, their Secrets in
    // namespace this.fluxNamespace.name.

    // Seam: the in-cluster reconciler, once the deploy keys and the GitHub provider are here:
    //   new Reconciler(`${name}-reconciler`, reconcilerArgsFromConfig(config, {
    //     namespace: this.fluxNamespace.name,
    //     configRepoSecretName: <config repo DeployKey>.secretName,
    //     appSecretNames: { <app>: <app DeployKey>.secretName },
    //     repositories: { <app>: { url: this.registries[app].repositoryUrl, arn: this.repositoryArns[app] } },
    //     bucketName: this.storage.bucketName,
    //     imageReflectorRole: this.imageReflectorRole && { arn: this.imageReflectorRole.arn, name: this.imageReflectorRole.roleName },
    //     webhookExposure: { securityGroupIds: [this.firewall.securityGroupId], wafAclArn: this.firewall.webAclArn },
    //   }), { parent: this, providers: [this.k8sProvider, this.awsProvider, <github provider>] });

    this.repositoryUrls = Object.fromEntries(Object.entries(this.registries).map(([app, registry]) => [app, registry.repositoryUrl]));
    this.ciRoleArns = this.ciIdentity.appRoleArns;
    this.previewRoleArn = this.ciIdentity.previewRoleArn;
    this.deployRoleArn = this.ciIdentity.deployRoleArn;
    this.securityGroupId = this.firewall.securityGroupId;
    this.webAclArn = this.firewall.webAclArn;
    this.bucketName = this.storage.bucketName;
    this.storageKeyArn = this.storage.kmsKeyArn;

    this.registerOutputs({
      vpcId: this.vpcId,
      clusterOidcIssuer: this.clusterOidcIssuer,
      kubeconfig: this.kubeconfig,
      repositoryUrls: this.repositoryUrls,
      ciRoleArns: this.ciRoleArns,
      previewRoleArn: this.previewRoleArn,
      deployRoleArn: this.deployRoleArn,
      securityGroupId: this.securityGroupId,
      webAclArn: this.webAclArn,
      bucketName: this.bucketName,
      storageKeyArn: this.storageKeyArn,
    });
  }
}
