/**
 * Platform: everything one environment needs around its existing EKS cluster. The only thing
 * index.ts builds.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "./config";

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

    // AWS components (Firewall, Storage, CiIdentity, Registry per app) are composed here.

    // Seam: GitHub deploy keys (components/deploy-key.ts), one per repository.

    // Seam: the in-cluster reconciler (components/reconciler.ts), on this.k8sProvider.

    this.registerOutputs({
      vpcId: this.vpcId,
      clusterOidcIssuer: this.clusterOidcIssuer,
      kubeconfig: this.kubeconfig,
    });
  }
}
