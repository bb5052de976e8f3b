/**
 * WebhookReceiver: makes a push reconcile in seconds instead of at the next poll. A Flux Receiver
 * (notification.toolkit.fluxcd.io/v1, type `github`) guarded by a generated token, exposed through
 * an AWS Application Load Balancer (an Ingress for the AWS Load Balancer Controller) that carries
 * the Firewall's security groups and optional WAF web ACL, and a GitHub repository webhook on every
 * repository the reconciler pulls.
 *
 * Why an ALB Ingress rather than a LoadBalancer Service: the Firewall's WAFv2 web ACL can only be
 * attached to an ALB, TLS ends at the load balancer with an ACM certificate, and only this
 * Receiver's own path is routed (`Exact`): not the rest of notification-controller, and not the
 * `/hook/...` path of a Receiver anyone else creates in the cluster.
 *
 * The webhook path is computed the way notification-controller does (api/v1 `GetWebhookPath`):
 * `/hook/` + hex(sha256(token + receiver name + receiver namespace)).
 */
import * as crypto from "node:crypto";
import * as github from "@pulumi/github";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/** Type token of {@link WebhookReceiver}. */
export const WEBHOOK_RECEIVER_TYPE = "gitops-platform:k8s:WebhookReceiver";

/** notification-controller's receiver port (container port `http-webhook`). */
export const RECEIVER_PORT = 9292;
/** notification-controller's health port (container port `healthz`), probed by the load balancer. */
export const RECEIVER_HEALTH_PORT = 9440;
/** The path prefix the Ingress routes to the receiver; the Firewall's WAF exempts it from the body size limit. */
export const RECEIVER_PATH_PREFIX = "/hook/";
/** The Service Flux creates in front of the receiver port. */
export const RECEIVER_SERVICE = "webhook-receiver";

/** The Receiver's name unless told otherwise. */
export const DEFAULT_RECEIVER_NAME = "github";

/** Name of the Secret holding a Receiver's token. */
export function receiverTokenSecretName(receiverName: string = DEFAULT_RECEIVER_NAME): string {
  return `${receiverName}-receiver-token`;
}

/** The path notification-controller serves a Receiver on. */
export function receiverWebhookPath(token: string, name: string, namespace: string): string {
  return `/hook/${crypto.createHash("sha256").update(token + name + namespace).digest("hex")}`;
}

/** Defaults of the optional {@link WebhookReceiverArgs}; the stack contract's `reconciler.webhook` defaults to them too. */
export const WEBHOOK_RECEIVER_DEFAULTS = { ingressClassName: "alb", sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06" } as const;

export interface WebhookReceiverArgs {
  /** Namespace of Flux (the FluxNamespace's name output). */
  readonly namespace: pulumi.Input<string>;
  /** GitRepositories in the namespace a push reconciles (the cluster sync's and every app's). */
  readonly gitRepositories: readonly pulumi.Input<string>[];
  /** GitHub repositories, `owner/name`, that get the webhook; the GitHub provider acts for their owner. */
  readonly repositories: readonly string[];
  /** Public host name of the receiver. */
  readonly host: string;
  /** ACM certificate ARN for the host. */
  readonly certificateArn: string;
  /** Security groups of the load balancer (the Firewall's). */
  readonly securityGroupIds: pulumi.Input<pulumi.Input<string>[]>;
  /** WAFv2 web ACL on the load balancer. @default none */
  readonly wafAclArn?: pulumi.Input<string>;
  /** IngressClass of the AWS Load Balancer Controller. @default alb */
  readonly ingressClassName?: string;
  /** TLS policy of the HTTPS listener. @default ELBSecurityPolicy-TLS13-1-2-2021-06 */
  readonly sslPolicy?: string;
  /** Name of the Receiver. @default github */
  readonly receiverName?: string;
  /** Length of the generated token. @default 40 */
  readonly tokenLength?: number;
}

export class WebhookReceiver extends pulumi.ComponentResource {
  /** The receiver's path, `/hook/<sha256>` (secret: it is derived from the token). */
  public readonly webhookPath: pulumi.Output<string>;
  /** The URL GitHub posts to (secret). */
  public readonly webhookUrl: pulumi.Output<string>;
  /** DNS name of the load balancer; point the host's record at it. */
  public readonly loadBalancerHostname: pulumi.Output<string>;
  /** The Receiver object. */
  public readonly receiver: k8s.apiextensions.CustomResource;

  constructor(name: string, args: WebhookReceiverArgs, opts?: pulumi.ComponentResourceOptions) {
    super(WEBHOOK_RECEIVER_TYPE, name, {}, opts);
    const ingressClassName = args.ingressClassName ?? WEBHOOK_RECEIVER_DEFAULTS.ingressClassName;
    const sslPolicy = args.sslPolicy ?? WEBHOOK_RECEIVER_DEFAULTS.sslPolicy;
    const receiverName = args.receiverName ?? DEFAULT_RECEIVER_NAME;
    const tokenLength = args.tokenLength ?? 40;
    const labels = { "app.kubernetes.io/part-of": "gitops-platform" };

    const password = new random.RandomPassword(
      `${name}-token`,
      { length: tokenLength, special: false },
      { parent: this, additionalSecretOutputs: ["result"] },
    );
    const token = pulumi.secret(password.result);

    const secret = new k8s.core.v1.Secret(
      `${name}-token-secret`,
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: receiverTokenSecretName(receiverName), namespace: args.namespace, labels },
        type: "Opaque",
        stringData: { token },
      },
      { parent: this },
    );

    this.receiver = new k8s.apiextensions.CustomResource(
      `${name}-receiver`,
      {
        apiVersion: "notification.toolkit.fluxcd.io/v1",
        kind: "Receiver",
        metadata: { name: receiverName, namespace: args.namespace, labels },
        spec: {
          type: "github",
          events: ["ping", "push"],
          secretRef: { name: secret.metadata.name },
          resources: args.gitRepositories.map((repository) => ({ apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", name: repository })),
        },
      },
      { parent: this },
    );

    this.webhookPath = pulumi.secret(
      pulumi.all([token, args.namespace]).apply(([t, ns]) => receiverWebhookPath(t, receiverName, ns)),
    );
    this.webhookUrl = pulumi.secret(pulumi.interpolate`https://${args.host}${this.webhookPath}`);

    const annotations: Record<string, pulumi.Input<string>> = {
      "alb.ingress.kubernetes.io/scheme": "internet-facing",
      "alb.ingress.kubernetes.io/target-type": "ip",
      "alb.ingress.kubernetes.io/listen-ports": JSON.stringify([{ HTTPS: 443 }]),
      "alb.ingress.kubernetes.io/certificate-arn": args.certificateArn,
      "alb.ingress.kubernetes.io/ssl-policy": sslPolicy,
      // The Firewall's groups replace the controller's own, world-open one.
      "alb.ingress.kubernetes.io/security-groups": pulumi.output(args.securityGroupIds).apply((ids) => ids.join(",")),
      "alb.ingress.kubernetes.io/manage-backend-security-group-rules": "true",
      "alb.ingress.kubernetes.io/healthcheck-port": String(RECEIVER_HEALTH_PORT),
      "alb.ingress.kubernetes.io/healthcheck-path": "/readyz",
    };
    if (args.wafAclArn !== undefined) annotations["alb.ingress.kubernetes.io/wafv2-acl-arn"] = args.wafAclArn;

    const ingress = new k8s.networking.v1.Ingress(
      `${name}-ingress`,
      {
        apiVersion: "networking.k8s.io/v1",
        kind: "Ingress",
        metadata: { name: RECEIVER_SERVICE, namespace: args.namespace, labels, annotations },
        spec: {
          ingressClassName,
          rules: [
            {
              host: args.host,
              http: {
                paths: [{ path: this.webhookPath, pathType: "Exact", backend: { service: { name: RECEIVER_SERVICE, port: { number: 80 } } } }],
              },
            },
          ],
        },
      },
      { parent: this, dependsOn: [this.receiver] },
    );
    this.loadBalancerHostname = ingress.status.apply((status) => status?.loadBalancer?.ingress?.[0]?.hostname ?? "");

    for (const repository of args.repositories) {
      const repoName = repository.split("/")[1] ?? repository;
      new github.RepositoryWebhook(
        `${name}-hook-${repoName}`,
        {
          repository: repoName,
          active: true,
          events: ["push"],
          configuration: { url: this.webhookUrl, contentType: "json", insecureSsl: false, secret: token },
        },
        { parent: this, dependsOn: [ingress] },
      );
    }

    this.registerOutputs({
      webhookPath: this.webhookPath,
      webhookUrl: this.webhookUrl,
      loadBalancerHostname: this.loadBalancerHostname,
    });
  }
}
