/**
 * How the Platform turns the stack contract into the components' own args: one {@link AppWiring} per
 * app, built once, and the args of the Reconciler and of Notifications from the config and what the
 * other components declared. Part of the composition root (index.ts and components/platform/), the
 * only code that sees the contract's types.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config";
import type { DeployKey } from "../github/deploy-key";
import { NOTIFICATIONS_TYPE, type NotificationsArgs } from "../k8s/notifications";
import type { ReconcilerApp, ReconcilerArgs } from "../k8s/reconciler";
import type { Registry } from "../aws/registry";

/** One application as the stack config declares it, every default resolved. */
export type AppConfig = PlatformConfig["apps"][number];

/** One application and everything the platform declared for it; built once per app by the Platform. */
export interface AppWiring {
  /** The app as the stack config declares it. */
  readonly app: AppConfig;
  /** Its ECR repository: the name and ARN are fixed (known at preview), the URL comes with the repository. */
  readonly repository: { readonly name: string; readonly arn: string; readonly url: pulumi.Output<string> };
  /** The repository itself. */
  readonly registry: Registry;
  /** The role the app's CI assumes to push images. */
  readonly ciRoleArn: pulumi.Output<string>;
  /** The reconciler's key to the app's repository. */
  readonly deployKey: DeployKey;
}

/** The Reconciler's view of one app: its config, its deploy key's Secret and its ECR repository. */
export function reconcilerApp(
  app: AppConfig,
  secretName: pulumi.Input<string>,
  repository: { readonly url: pulumi.Input<string>; readonly arn: pulumi.Input<string> },
): ReconcilerApp {
  return {
    name: app.name,
    repo: app.repo,
    branch: app.branch,
    path: app.path,
    interval: app.interval,
    secretName,
    repository,
    ...(app.imageAutomation ? { imageAutomation: app.imageAutomation } : {}),
  };
}

/** What the other components supply to the Reconciler. */
export interface ReconcilerParts {
  /** Namespace of Flux (the FluxNamespace's name output). */
  readonly namespace: pulumi.Input<string>;
  /** Secret name of the config repository's deploy key. */
  readonly configRepoSecretName: pulumi.Input<string>;
  /** Every app, as {@link reconcilerApp} makes it. */
  readonly apps: readonly ReconcilerApp[];
  /** The storage bucket's name. */
  readonly bucketName: pulumi.Input<string>;
  /** The image-reflector IRSA role, when an app uses image automation. */
  readonly imageReflectorRole?: { readonly arn: pulumi.Input<string>; readonly name: pulumi.Input<string> };
  /** The Firewall's protection of the receiver's load balancer, when the webhook is on. */
  readonly webhookExposure?: { readonly securityGroupIds: pulumi.Input<pulumi.Input<string>[]>; readonly wafAclArn?: pulumi.Input<string> };
  /** The SOPS decryption role of kustomize-controller, when app secrets are set up. */
  readonly appSecretsRoleArn?: pulumi.Input<string>;
}

/** Reconciler args from the validated stack config and the other components' outputs. */
export function reconcilerArgs(config: PlatformConfig, parts: ReconcilerParts): ReconcilerArgs {
  const { configRepo } = config.github;
  return {
    environment: config.environment,
    namespace: parts.namespace,
    settings: config.reconciler,
    configRepo: { repo: configRepo.repo, branch: configRepo.branch, path: configRepo.path, secretName: parts.configRepoSecretName },
    apps: parts.apps,
    aws: { region: config.region, accountId: config.aws.accountId, bucketName: parts.bucketName },
    ...(parts.imageReflectorRole ? { imageReflectorRole: parts.imageReflectorRole } : {}),
    ...(parts.webhookExposure ? { webhookExposure: parts.webhookExposure } : {}),
    ...(parts.appSecretsRoleArn !== undefined ? { appSecretsRoleArn: parts.appSecretsRoleArn } : {}),
  };
}

/** The image automation objects an automated app has, each named after the app (components/k8s/image-automation.ts). */
const IMAGE_KINDS = ["ImageRepository", "ImagePolicy", "ImageUpdateAutomation"] as const;

/**
 * Notifications args from the validated stack config, or undefined when the config has no
 * `notifications`. `syncName` is the environment sync's GitRepository and Kustomization (the
 * Reconciler's); each app's GitRepository and Kustomization are named after the app
 * (components/k8s/app-source.ts).
 */
export function notificationsArgs(
  config: PlatformConfig,
  reconciler: { readonly syncName: string; readonly fluxNamespace: pulumi.Input<string> },
): NotificationsArgs | undefined {
  const settings = config.notifications;
  if (settings === undefined) return undefined;
  // The config schema requires the key with the section; missing here is a bug, never a silent skip.
  if (config.notificationsAppPrivateKey === undefined) throw new Error(`${NOTIFICATIONS_TYPE}: notifications is set without notificationsAppPrivateKey`);
  const synced = [reconciler.syncName, ...config.apps.map((app) => app.name)];
  const alerts = settings.alerts;
  if (alerts !== undefined && config.notificationsAlertAddress === undefined) throw new Error(`${NOTIFICATIONS_TYPE}: notifications.alerts is set without notificationsAlertAddress`);
  return {
    environment: config.environment,
    namespace: reconciler.fluxNamespace,
    githubApp: { ...settings.commitStatus.githubApp, privateKey: config.notificationsAppPrivateKey },
    commitStatuses: [
      { kustomization: reconciler.syncName, repo: config.github.configRepo.repo },
      ...config.apps.map((app) => ({ kustomization: app.name, repo: app.repo })),
    ],
    watched: [
      ...synced.flatMap((objectName) => (["GitRepository", "Kustomization"] as const).map((kind) => ({ kind, name: objectName }))),
      ...config.apps.filter((app) => app.imageAutomation !== undefined).flatMap((app) => IMAGE_KINDS.map((kind) => ({ kind, name: app.name }))),
    ],
    ...(alerts !== undefined && config.notificationsAlertAddress !== undefined
      ? {
          alerts: {
            type: alerts.type,
            address: config.notificationsAlertAddress,
            ...(config.notificationsAlertHmacKey !== undefined ? { hmacKey: config.notificationsAlertHmacKey } : {}),
            drift: alerts.drift,
          },
        }
      : {}),
  };
}
