/**
 * FluxNetworkPolicies: ingress to the Flux namespace only where needed. Everything is denied by
 * default; pods of the namespace may talk to each other (controllers fetch artifacts from
 * source-controller and post events to notification-controller); the webhook receiver (and its
 * health port, for the load balancer's checks) is open to any source because the load balancer's
 * addresses are not known in advance and the receiver is token-guarded; metrics only from the
 * monitoring namespace.
 *
 * Flux's own `allow-scraping` (metrics from every namespace) and `allow-webhooks` (every port of
 * notification-controller from every namespace) are broader; the FluxInstance drops them
 * ({@link REPLACED_FLUX_POLICIES}) and these take their place.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** Type token of {@link FluxNetworkPolicies}. */
export const FLUX_NETWORK_POLICIES_TYPE = "gitops-platform:k8s:FluxNetworkPolicies";

/** Flux's NetworkPolicies that these replace. */
export const REPLACED_FLUX_POLICIES = ["allow-scraping", "allow-webhooks"] as const;

/** Port every Flux controller and the operator serve metrics on. */
export const METRICS_PORT = 8080;

export interface FluxNetworkPoliciesArgs {
  /** Namespace of Flux (the FluxNamespace's name output). */
  readonly namespace: pulumi.Input<string>;
  /** Namespace whose pods may scrape metrics. */
  readonly metricsNamespace: string;
  /** Ports of the webhook receiver open to any source. @default none (no receiver) */
  readonly receiverPorts?: readonly number[];
}

export class FluxNetworkPolicies extends pulumi.ComponentResource {
  /** Names of the NetworkPolicies declared. */
  public readonly policyNames: readonly string[];

  constructor(name: string, args: FluxNetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super(FLUX_NETWORK_POLICIES_TYPE, name, {}, opts);
    const receiverPorts = args.receiverPorts ?? [];
    const labels = { "app.kubernetes.io/part-of": "gitops-platform" };
    const names: string[] = [];

    const policy = (role: string, policyName: string, spec: k8s.types.input.networking.v1.NetworkPolicySpec) => {
      names.push(policyName);
      return new k8s.networking.v1.NetworkPolicy(
        `${name}-${role}`,
        {
          apiVersion: "networking.k8s.io/v1",
          kind: "NetworkPolicy",
          metadata: { name: policyName, namespace: args.namespace, labels },
          spec,
        },
        { parent: this },
      );
    };

    policy("default-deny", "default-deny-ingress", { podSelector: {}, policyTypes: ["Ingress"] });
    policy("intra-namespace", "allow-intra-namespace", {
      podSelector: {},
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ podSelector: {} }] }],
    });
    policy("metrics", "allow-metrics", {
      podSelector: {},
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": args.metricsNamespace } } }],
          ports: [{ protocol: "TCP", port: METRICS_PORT }],
        },
      ],
    });
    if (receiverPorts.length > 0) {
      policy("webhook-receiver", "allow-webhook-receiver", {
        podSelector: { matchLabels: { app: "notification-controller" } },
        policyTypes: ["Ingress"],
        // No `from`: any source, limited to these ports.
        ingress: [{ ports: receiverPorts.map((port) => ({ protocol: "TCP", port })) }],
      });
    }
    this.policyNames = names;

    this.registerOutputs({});
  }
}
