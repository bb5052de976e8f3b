/**
 * Notifications: what the reconciler tells people, through Flux's notification-controller
 * (notification.toolkit.fluxcd.io/v1beta3 Providers and Alerts).
 *
 * - **Commit statuses.** For every Kustomization the platform declares (the environment sync and
 *   each app's), a `github` Provider pointed at the repository that Kustomization's GitRepository
 *   pulls, and an Alert on that Kustomization. Each reconcile of a commit is reported on that commit
 *   as a status named `<environment>/kustomization/<name>`: success when it was applied, failure
 *   when it was not. A status lands on the repository the commit belongs to, so an app's
 *   Kustomization reports to the app's repository and the sync to the config repository.
 * - **Alerts** (optional). One Provider (Slack, Microsoft Teams or a generic webhook signed with
 *   HMAC) whose address sits in a Secret, an Alert for error events of every Flux object the
 *   platform declares, and an Alert for the changes the Kustomizations applied, which include every
 *   drift corrected in the cluster.
 *
 * ## The credential
 *
 * The `github` Provider authenticates as a GitHub App installation when its Secret holds
 * `githubAppID`, `githubAppInstallationID` and `githubAppPrivateKey` (notification-controller
 * v1.7.4 `internal/notifier/github_helpers.go`, keys from fluxcd/pkg `git/github` v0.37.0) and mints
 * short-lived installation tokens itself. An App limited to the "Commit statuses: write"
 * permission, installed only on the repositories listed in {@link Notifications.appRepositories},
 * is the narrowest credential that can write statuses: no contents, no other repositories, no
 * user. The program cannot create an App; its ids come from config and its private key from a
 * secret config value, which lives only in Pulumi state (secret) and in the Secret below.
 *
 * Rotation, as for deploy keys, never leaves a gap: GitHub lets an App hold several private keys,
 * so generate a new one, set it in config, `pulumi up` (the Secret is updated in place and the
 * controller's token cache is keyed by the private key, so the next event mints with the new key),
 * then delete the old key in the App's settings.
 *
 * ## Drift
 *
 * kustomize-controller (v1.7.2, `internal/controller/kustomization_controller.go`) emits an info
 * event only when server-side apply changed something, its message one line per changed object,
 * `<Kind>/<namespace>/<name> configured|created|deleted` (fluxcd/pkg `ssa` ChangeSetEntry). A
 * corrected drift is such an event; so is the first apply of a new commit: no reason or metadata
 * tells them apart (both carry the revision in `kustomize.toolkit.fluxcd.io/revision`; a change on
 * a revision already applied is a drift). The drift Alert matches exactly these lines, which leaves
 * out the "Reconciliation finished" and dependency messages.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { GITHUB_SSH_HOST } from "../../policies/vocabulary";
import { githubRepoProblem, RFC1123_LABEL } from "../names";

/** Type token of {@link Notifications}. */
export const NOTIFICATIONS_TYPE = "gitops-platform:k8s:Notifications";

/** API version of the Providers and Alerts (served by notification-controller v1.7.4 and later). */
export const NOTIFICATION_API_VERSION = "notification.toolkit.fluxcd.io/v1beta3";

/** Chat or webhook destinations an alert may go to. */
export type AlertType = "slack" | "msteams" | "generic-hmac";

/** Flux kinds whose events an Alert can select (the v1beta3 Alert CRD's eventSources enum, as used here). */
export type FluxEventKind = "GitRepository" | "Kustomization" | "ImageRepository" | "ImagePolicy" | "ImageUpdateAutomation";

/** Name of the Secret with the GitHub App's credentials. */
export const GITHUB_APP_SECRET = "commit-status-github-app";
/** Name of the Secret with the alert destination's address (and HMAC key). */
export const ALERT_SECRET = "alert-destination";
/** Name of the alert Provider; its Alerts are `<this>-errors` and `<this>-drift`. */
export const ALERT_PROVIDER = "alerts";

/** One line per object server-side apply changed, as kustomize-controller reports it (Go RE2 syntax). */
export const DRIFT_PATTERN = "(?m)^\\S+ (configured|created|deleted)$";

/** The Provider and Alert name of a Kustomization's commit status. */
export function commitStatusName(kustomization: string): string {
  return `commit-status-${kustomization}`;
}

/**
 * The CEL expression naming a commit status `<environment>/<kind>/<name>`, e.g.
 * `staging/kustomization/orders` (variables `event`, `alert`, `provider`; CEL string extensions
 * such as lowerAscii are on: fluxcd/pkg runtime v0.89.0 `runtime/cel/expression.go`).
 */
export function commitStatusExpr(environment: string): string {
  return `'${environment}/' + event.involvedObject.kind.lowerAscii() + '/' + event.involvedObject.name`;
}

/** A Kustomization and the repository whose commits it applies. */
export interface CommitStatusSource {
  /** Name of the Kustomization (in the Flux namespace). */
  readonly kustomization: string;
  /** The GitHub repository, `owner/name`, its GitRepository pulls. */
  readonly repo: string;
}

/** A Flux object whose errors are alerted. */
export interface WatchedObject {
  readonly kind: FluxEventKind;
  readonly name: string;
}

/** Defaults of the optional {@link NotificationsArgs}; the stack contract's `notifications.alerts` defaults to them too. */
export const NOTIFICATIONS_DEFAULTS = { drift: true } as const;

export interface NotificationsArgs {
  /** Environment name: names every commit status and is added to every alert's metadata. */
  readonly environment: string;
  /**
   * Namespace of Flux. Pass an output that resolves once Flux is installed (the Reconciler's
   * `fluxNamespace`): Providers and Alerts need its CRDs.
   */
  readonly namespace: pulumi.Input<string>;
  /** The GitHub App that writes commit statuses. */
  readonly githubApp: {
    readonly appId: number;
    readonly installationId: number;
    /** PEM private key (a secret). */
    readonly privateKey: pulumi.Input<string>;
  };
  /** The Kustomizations that report commit statuses, with their repositories. */
  readonly commitStatuses: readonly CommitStatusSource[];
  /** Flux objects whose error events are alerted (when `alerts` is set). */
  readonly watched: readonly WatchedObject[];
  /** Chat or webhook alerts. @default none: commit statuses only */
  readonly alerts?: {
    readonly type: AlertType;
    /** The destination's https:// URL (a secret). */
    readonly address: pulumi.Input<string>;
    /** Key requests are signed with; required for generic-hmac. @default none */
    readonly hmacKey?: pulumi.Input<string>;
    /** Also alert the changes applied to the cluster (corrected drift included). @default true */
    readonly drift?: boolean;
  };
}

export class Notifications extends pulumi.ComponentResource {
  /** Repositories (`owner/name`) the GitHub App must be installed on. */
  public readonly appRepositories: readonly string[];
  /** Commit status names (GitHub "context"), one per Kustomization. */
  public readonly statusNames: readonly string[];
  /** The alert Provider, when alerts are configured. */
  public readonly alertProvider: k8s.apiextensions.CustomResource | undefined;

  constructor(name: string, args: NotificationsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(NOTIFICATIONS_TYPE, name, {}, opts);
    const drift = args.alerts?.drift ?? NOTIFICATIONS_DEFAULTS.drift;

    const problems = argProblems(args);
    if (problems.length > 0) throw new Error(`${NOTIFICATIONS_TYPE} ${name}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);

    const labels = { "app.kubernetes.io/part-of": "gitops-platform", "app.kubernetes.io/component": "notifications" };
    const eventMetadata = { environment: args.environment };

    const appSecret = new k8s.core.v1.Secret(
      `${name}-github-app`,
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: GITHUB_APP_SECRET, namespace: args.namespace, labels },
        type: "Opaque",
        stringData: {
          githubAppID: String(args.githubApp.appId),
          githubAppInstallationID: String(args.githubApp.installationId),
          githubAppPrivateKey: pulumi.secret(args.githubApp.privateKey),
        },
      },
      { parent: this },
    );

    for (const source of args.commitStatuses) {
      const objectName = commitStatusName(source.kustomization);
      const provider = new k8s.apiextensions.CustomResource(
        `${name}-${source.kustomization}-status-provider`,
        {
          apiVersion: NOTIFICATION_API_VERSION,
          kind: "Provider",
          metadata: { name: objectName, namespace: args.namespace, labels },
          spec: {
            type: "github",
            address: `https://${GITHUB_SSH_HOST}/${source.repo}`,
            secretRef: { name: appSecret.metadata.name },
            commitStatusExpr: commitStatusExpr(args.environment),
          },
        },
        { parent: this },
      );
      new k8s.apiextensions.CustomResource(
        `${name}-${source.kustomization}-status-alert`,
        {
          apiVersion: NOTIFICATION_API_VERSION,
          kind: "Alert",
          metadata: { name: objectName, namespace: args.namespace, labels },
          spec: {
            providerRef: { name: provider.metadata.name },
            // Info as well as error: a success is what marks a commit applied.
            eventSeverity: "info",
            eventSources: [{ kind: "Kustomization", name: source.kustomization }],
            eventMetadata,
          },
        },
        { parent: this },
      );
    }

    if (args.alerts !== undefined) {
      const alertSecret = new k8s.core.v1.Secret(
        `${name}-alert-secret`,
        {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: ALERT_SECRET, namespace: args.namespace, labels },
          type: "Opaque",
          // Flux reads the address from the Secret (it overrides spec.address), and generic-hmac's key from `token`.
          stringData: {
            address: pulumi.secret(args.alerts.address),
            ...(args.alerts.hmacKey !== undefined ? { token: pulumi.secret(args.alerts.hmacKey) } : {}),
          },
        },
        { parent: this },
      );
      this.alertProvider = new k8s.apiextensions.CustomResource(
        `${name}-alert-provider`,
        {
          apiVersion: NOTIFICATION_API_VERSION,
          kind: "Provider",
          metadata: { name: ALERT_PROVIDER, namespace: args.namespace, labels },
          spec: { type: args.alerts.type, secretRef: { name: alertSecret.metadata.name } },
        },
        { parent: this },
      );
      new k8s.apiextensions.CustomResource(
        `${name}-alert-errors`,
        {
          apiVersion: NOTIFICATION_API_VERSION,
          kind: "Alert",
          metadata: { name: `${ALERT_PROVIDER}-errors`, namespace: args.namespace, labels },
          spec: {
            providerRef: { name: this.alertProvider.metadata.name },
            eventSeverity: "error",
            eventSources: args.watched.map((object) => ({ kind: object.kind, name: object.name })),
            eventMetadata,
          },
        },
        { parent: this },
      );
      if (drift) {
        new k8s.apiextensions.CustomResource(
          `${name}-alert-drift`,
          {
            apiVersion: NOTIFICATION_API_VERSION,
            kind: "Alert",
            metadata: { name: `${ALERT_PROVIDER}-drift`, namespace: args.namespace, labels },
            spec: {
              providerRef: { name: this.alertProvider.metadata.name },
              eventSeverity: "info",
              eventSources: args.commitStatuses.map((source) => ({ kind: "Kustomization", name: source.kustomization })),
              inclusionList: [DRIFT_PATTERN],
              eventMetadata,
            },
          },
          { parent: this },
        );
      }
    }

    this.appRepositories = [...new Set(args.commitStatuses.map((source) => source.repo))];
    this.statusNames = args.commitStatuses.map((source) => `${args.environment}/kustomization/${source.kustomization}`);
    this.registerOutputs({ appRepositories: this.appRepositories, statusNames: this.statusNames });
  }
}

function argProblems(args: NotificationsArgs): string[] {
  const problems: string[] = [];
  if (!RFC1123_LABEL.test(args.environment)) problems.push(`environment: expected a lowercase RFC 1123 label, got ${JSON.stringify(args.environment)}`);
  for (const [key, value] of [
    ["githubApp.appId", args.githubApp.appId],
    ["githubApp.installationId", args.githubApp.installationId],
  ] as const) {
    if (!Number.isSafeInteger(value) || value <= 0) problems.push(`${key}: expected a positive integer, got ${value}`);
  }
  if (args.commitStatuses.length === 0) problems.push("commitStatuses: expected at least one Kustomization (the environment sync)");
  const seen = new Set<string>();
  args.commitStatuses.forEach((source, i) => {
    if (!RFC1123_LABEL.test(source.kustomization)) problems.push(`commitStatuses[${i}].kustomization: expected a Kubernetes name, got ${JSON.stringify(source.kustomization)}`);
    else if (seen.has(source.kustomization)) problems.push(`commitStatuses[${i}].kustomization: ${source.kustomization} is listed twice`);
    seen.add(source.kustomization);
    if (githubRepoProblem(source.repo) !== undefined) problems.push(`commitStatuses[${i}].repo: expected owner/name, got ${JSON.stringify(source.repo)}`);
  });
  if (args.alerts !== undefined) {
    if (args.watched.length === 0) problems.push("watched: expected the Flux objects whose errors are alerted");
    if (args.alerts.type === "generic-hmac" && args.alerts.hmacKey === undefined) problems.push("alerts.hmacKey: required for generic-hmac (the key requests are signed with)");
    if (args.alerts.type !== "generic-hmac" && args.alerts.hmacKey !== undefined) problems.push(`alerts.hmacKey: only generic-hmac signs requests, not ${args.alerts.type}`);
  }
  return problems;
}
