/**
 * ImageReflectorRole: the IAM role Flux's image-reflector-controller assumes through IRSA to list
 * ECR tags. Trust is pinned to exactly that ServiceAccount and to the `sts.amazonaws.com` audience
 * of the cluster's OIDC issuer.
 *
 * The role is declared before the Registry (whose repository policies let it pull) and its ECR read
 * permissions are attached by the Reconciler once the repositories exist; that split keeps the
 * dependency graph acyclic.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { webIdentityTrustPolicy } from "./web-identity";
import { DEFAULT_PARTITION } from "./partition";

/** Type token of {@link ImageReflectorRole}. */
export const IMAGE_REFLECTOR_ROLE_TYPE = "gitops-platform:aws:ImageReflectorRole";

/** The ServiceAccount of Flux's image-reflector-controller. */
export const IMAGE_REFLECTOR_SERVICE_ACCOUNT = "image-reflector-controller";

export interface ImageReflectorRoleArgs {
  /** The cluster's OIDC issuer URL, e.g. `https://oidc.eks.eu-west-1.amazonaws.com/id/ABC`. */
  readonly oidcIssuerUrl: pulumi.Input<string>;
  /** AWS account of the cluster's OIDC provider. */
  readonly accountId: string;
  /** Namespace of the controller. */
  readonly namespace: string;
  /** AWS partition of the account. @default {@link DEFAULT_PARTITION} */
  readonly partition?: string;
  /** ServiceAccount allowed to assume the role. @default image-reflector-controller */
  readonly serviceAccount?: string;
  /** Maximum session duration in seconds. @default 3600 */
  readonly maxSessionDuration?: number;
}

/** The trust policy of an IRSA role for one ServiceAccount. */
export function irsaTrustPolicy(issuerUrl: string, accountId: string, partition: string, namespace: string, serviceAccount: string): string {
  const issuer = issuerUrl.replace(/^https:\/\//, "");
  return webIdentityTrustPolicy(`arn:${partition}:iam::${accountId}:oidc-provider/${issuer}`, issuer, `system:serviceaccount:${namespace}:${serviceAccount}`);
}

export class ImageReflectorRole extends pulumi.ComponentResource {
  /** The role. */
  public readonly role: aws.iam.Role;
  /** ARN of the role: the ServiceAccount annotation and the ECR repository policies' pull principal. */
  public readonly arn: pulumi.Output<string>;
  /** Name of the role, for attaching its permissions. */
  public readonly roleName: pulumi.Output<string>;

  constructor(name: string, args: ImageReflectorRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super(IMAGE_REFLECTOR_ROLE_TYPE, name, {}, opts);
    const partition = args.partition ?? DEFAULT_PARTITION;
    const serviceAccount = args.serviceAccount ?? IMAGE_REFLECTOR_SERVICE_ACCOUNT;
    const maxSessionDuration = args.maxSessionDuration ?? 3600;

    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        description: `Flux ${serviceAccount} in ${args.namespace}: reads this stack's ECR repositories (IRSA)`,
        assumeRolePolicy: pulumi
          .output(args.oidcIssuerUrl)
          .apply((issuer) => irsaTrustPolicy(issuer, args.accountId, partition, args.namespace, serviceAccount)),
        maxSessionDuration,
      },
      { parent: this },
    );
    this.arn = this.role.arn;
    this.roleName = this.role.name;

    this.registerOutputs({ arn: this.arn, roleName: this.roleName });
  }
}
