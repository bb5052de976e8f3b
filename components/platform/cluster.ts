/**
 * What the Platform derives from the cluster, the region and the account: the partition of ARNs it
 * builds, the kubeconfig of its Kubernetes provider, and the fixed names of the ECR repositories.
 */

import { DEFAULT_PARTITION } from "../aws/partition";

/** The AWS partition a region belongs to (`aws`, `aws-cn`, `aws-us-gov`), for ARNs built from config. */
export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return DEFAULT_PARTITION;
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
