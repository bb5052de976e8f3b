/**
 * FluxNamespace: the namespace of the Flux Operator and Flux, under the `restricted` Pod Security
 * Standard. Its own component so that the deploy-key Secrets can live in it before the Reconciler
 * that reads them is declared.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** Type token of {@link FluxNamespace}. */
export const FLUX_NAMESPACE_TYPE = "gitops-platform:k8s:FluxNamespace";

/** The Pod Security Standard level enforced, audited and warned about in the namespace. */
export const POD_SECURITY_LEVEL = "restricted";

export interface FluxNamespaceArgs {
  /** Name of the namespace (an RFC 1123 label). */
  readonly name: string;
  /** Extra labels on the namespace. @default none */
  readonly labels?: Readonly<Record<string, string>>;
}

export class FluxNamespace extends pulumi.ComponentResource {
  /** The namespace's name, as an output of the Namespace: objects placed in it depend on it. */
  public readonly name: pulumi.Output<string>;
  /** The Namespace object. */
  public readonly namespace: k8s.core.v1.Namespace;

  constructor(name: string, args: FluxNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
    super(FLUX_NAMESPACE_TYPE, name, {}, opts);
    const labels = args.labels ?? {};
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(args.name)) {
      throw new Error(`${FLUX_NAMESPACE_TYPE} ${name}: namespace ${JSON.stringify(args.name)} is not an RFC 1123 label`);
    }

    this.namespace = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: {
          name: args.name,
          labels: {
            ...labels,
            "app.kubernetes.io/name": "flux-operator",
            "pod-security.kubernetes.io/enforce": POD_SECURITY_LEVEL,
            "pod-security.kubernetes.io/audit": POD_SECURITY_LEVEL,
            "pod-security.kubernetes.io/warn": POD_SECURITY_LEVEL,
          },
        },
      },
      { parent: this },
    );
    this.name = this.namespace.metadata.name;

    this.registerOutputs({ name: this.name });
  }
}
