/**
 * The schema of the stack contract: one strict zod object per config section, every default written
 * once, on the field it belongs to (objects default with `prefault({})`, so their fields fill in).
 * A default a component also has (usable on its own) is read from that component.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { APP_SECRETS_DEFAULTS } from "../aws/app-secrets";
import { CI_IDENTITY_DEFAULTS } from "../aws/ci-identity";
import { DEPLOY_KEY_DEFAULTS } from "../github/deploy-key";
import { FLUX_OPERATOR_DEFAULTS, VENDORED_OPERATOR_VERSION } from "../k8s/flux-operator";
import { GITHUB_WIRING_DEFAULTS } from "../github/github-wiring";
import { NOTIFICATIONS_DEFAULTS } from "../k8s/notifications";
import { REGISTRY_DEFAULTS } from "../aws/registry";
import { STORAGE_DEFAULTS } from "../aws/storage";
import { WEBHOOK_RECEIVER_DEFAULTS } from "../k8s/webhook-receiver";
import {
  bucketName,
  cidr,
  dnsLabel,
  exactVersion,
  fluxDuration,
  gitBranch,
  githubOwner,
  githubRepo,
  hostName,
  iamPrincipalArn,
  imageRef,
  kmsKeyArn,
  knownHostsLine,
  quantity,
  repoPath,
  semverRange,
} from "./formats";
import { FLUX_NAMESPACE, FLUX_OPERATOR_IMAGE_REPOSITORY } from "../../policies/vocabulary";
import { firewallSection } from "./schema-firewall";
import { promotionSection } from "./environments";

const awsSection = z.strictObject({
  /** The 12-digit AWS account the stack may touch; the provider refuses any other. */
  accountId: z.string().regex(/^\d{12}$/, "expected a 12-digit AWS account id as a string"),
  /** Name of the existing EKS cluster. */
  clusterName: z
    .string()
    .regex(/^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/, "expected an EKS cluster name (letters, digits, '-', '_', at most 100)"),
  /** Tags applied to every AWS resource (provider default tags). */
  tags: z
    .record(
      // AWS reserves the aws: prefix and refuses such tags only when the first resource is created.
      z.string().min(1).max(128).refine((key) => !key.toLowerCase().startsWith("aws:"), "tag keys may not start with aws: (reserved by AWS)"),
      z.string().max(256),
    )
    .default({}),
});

const deployKeySection = z.strictObject({
  /** Bump to rotate the key: the new key is created and wired before the old one is deleted. */
  generation: z
    .number()
    .refine((value) => Number.isSafeInteger(value) && value >= 0, "expected a non-negative integer")
    .default(DEPLOY_KEY_DEFAULTS.generation),
  /** Key algorithm; RSA is refused. */
  algorithm: z.enum(["ED25519", "ECDSA"], { error: "expected ED25519 or ECDSA (RSA keys are refused)" }).default(DEPLOY_KEY_DEFAULTS.algorithm),
  /** Write access, only for a repository that image automation commits to. */
  readWrite: z.boolean().default(DEPLOY_KEY_DEFAULTS.readWrite),
});

const configRepoSection = z.strictObject({
  /** Repository, `owner/name`, holding this program and `clusters/<env>`. */
  repo: githubRepo,
  /** The environment branch the reconciler syncs; must equal the environment name. */
  branch: gitBranch,
  /** Path the reconciler applies, relative to the repository root. @default clusters/<environment> ({@link withDerivedDefaults}) */
  path: repoPath.optional(),
  deployKey: deployKeySection.prefault({}),
  /**
   * Declare the repository's GitHub Actions settings (read-only workflow token by default, Actions may
   * not approve pull requests); exactly one stack per config repository (./environments.ts refuses
   * two and none).
   */
  actionsSettings: z.boolean().default(GITHUB_WIRING_DEFAULTS.actionsSettings),
});

const branchProtectionSection = z.strictObject({
  /** Protect the environment branch (changes only by PR, no force pushes). */
  enabled: z.boolean().default(GITHUB_WIRING_DEFAULTS.protectBranch),
  /** Approving reviews a PR needs before merging. */
  requiredReviews: z.number().int().min(0, "expected 0 to 6 reviews").max(6, "expected 0 to 6 reviews").default(GITHUB_WIRING_DEFAULTS.requiredReviews),
  /** Status checks that must pass (the preview job). */
  requiredChecks: z
    .array(z.string().regex(/^\S(.*\S)?$/, "expected a check name (the job name, no leading or trailing spaces)"))
    .min(1, "expected at least one check (the preview job)")
    .default(() => [...GITHUB_WIRING_DEFAULTS.requiredChecks]),
});

const githubSection = z.strictObject({
  /** The GitHub owner (organisation or user) the provider acts on. */
  owner: githubOwner,
  configRepo: configRepoSection,
  branchProtection: branchProtectionSection.prefault({}),
  /**
   * `known_hosts` lines for github.com, pinned; never scanned on first use.
   */
  knownHosts: z
    .array(knownHostsLine)
    .min(1, "expected at least one line; omit the key to use GitHub's published host keys")
    .default(() => [...DEPLOY_KEY_DEFAULTS.knownHosts]),
  /** CIDRs GitHub sends webhooks from (GitHub's `hooks` meta ranges), allowed to reach the receiver. */
  hookCidrs: z.array(cidr).default([]),
});

const imagePolicySection = z.union(
  [
    z.strictObject({
      /** Semver range of the tags to consider, as Flux reads it (Masterminds/semver v3): `>=1.0.0 <2.0.0`, `~1.2`, `^2`, `1.2.x`. */
      semver: semverRange,
    }),
    z.strictObject({
      /** Regex the tags must match (RE2), with a named group such as `(?P<ts>[0-9]+)` for ordering. */
      pattern: z.string().min(1),
      /** What to order by: a named group of the pattern, e.g. `$ts`. */
      extract: z.string().min(1),
      /** `asc` takes the highest value as the newest, `desc` the lowest. */
      order: z.enum(["asc", "desc"]).default("asc"),
      /** Compare the extracted values as numbers or as text. */
      sort: z.enum(["numerical", "alphabetical"], { error: "expected numerical or alphabetical" }).default("numerical"),
    }),
  ],
  { error: "expected { semver: <range> } or { pattern, extract, order, sort }" },
);

export type ImagePolicy = z.output<typeof imagePolicySection>;

const imageAutomationSection = z.strictObject({
  /** How to choose the newest image tag. */
  policy: imagePolicySection,
  /** How often to scan the registry. */
  interval: fluxDuration.default("5m"),
  /**
   * Branch of the config repo automation pushes to: its own branch, never the environment branch,
   * so every bump reaches the environment through a pull request.
   * @default image-updates/<environment> ({@link withDerivedDefaults})
   */
  pushBranch: gitBranch.optional(),
});

const appSection = z.strictObject({
  /** Application name: names its ECR repository and Kubernetes objects. */
  name: dnsLabel,
  /** The application's repository, `owner/name`. */
  repo: githubRepo,
  /** Branch whose CI may push images and whose manifests the reconciler applies. */
  branch: gitBranch.default("main"),
  /** Path of the deploy manifests in the app repository. @default deploy/<environment> ({@link withDerivedDefaults}) */
  path: repoPath.optional(),
  /** Reconcile interval. */
  interval: fluxDuration.default("5m"),
  deployKey: deployKeySection.prefault({}),
  /** Image automation for this app: bumps the tag in the config repo. */
  imageAutomation: imageAutomationSection.optional(),
});

const storageSection = z.strictObject({
  /** Days a noncurrent object version is kept. */
  noncurrentVersionExpirationDays: z.number().int().min(1, "expected at least 1 day").max(3650).default(STORAGE_DEFAULTS.noncurrentVersionExpirationDays),
  /** Days before an incomplete multipart upload is aborted. */
  abortIncompleteUploadDays: z.number().int().min(1, "expected at least 1 day").max(365).default(STORAGE_DEFAULTS.abortIncompleteUploadDays),
  /** Waiting period before the KMS key is deleted. */
  kmsDeletionWindowDays: z.number().int().min(7, "expected 7 to 30 days").max(30, "expected 7 to 30 days").default(STORAGE_DEFAULTS.kmsDeletionWindowDays),
  /** Protect the bucket and its key from deletion and retain them when removed from the program. */
  protect: z.boolean().default(STORAGE_DEFAULTS.protect),
});

const registrySection = z.strictObject({
  /** Tagged images kept per repository. */
  keepLastImages: z.number().int().min(1, "expected at least 1 image").max(10_000).default(REGISTRY_DEFAULTS.keepLastImages),
  /** Days an untagged image is kept. */
  untaggedExpiryDays: z.number().int().min(1, "expected at least 1 day").max(3650).default(REGISTRY_DEFAULTS.untaggedExpiryDays),
});

const ciSection = z.strictObject({
  /** The S3 bucket holding Pulumi state (`pulumi login s3://<bucket>`), created once by an administrator. */
  stateBucket: bucketName,
  /** The KMS key of the stack's secrets provider (`awskms://<key id>`), created once by an administrator. */
  secretsKeyArn: kmsKeyArn,
  /**
   * Create the account's GitHub OIDC provider. It is one per account: when both stacks share an
   * account, exactly one of them creates it and the other sets this to false and uses it.
   */
  createOidcProvider: z.boolean().default(CI_IDENTITY_DEFAULTS.createOidcProvider),
  /**
   * The config repository's default branch, where scheduled drift checks and dispatched previews
   * run; its workflow runs may assume the (read-only) preview role too, and only they may assume
   * the drift role.
   * @default none: only pull requests may assume the preview role, and there is no drift role
   */
  defaultBranch: gitBranch.optional(),
});

const appSecretsSection = z.strictObject({
  /** Waiting period before the SOPS key is deleted. */
  deletionWindowDays: z.number().int().min(7, "expected 7 to 30 days").max(30, "expected 7 to 30 days").default(APP_SECRETS_DEFAULTS.deletionWindowInDays),
  /** Let each app's CI role encrypt secrets with the key. */
  ciRolesEncrypt: z.boolean().default(true),
  /** More IAM roles or users (people, e.g. an SSO role) that may encrypt; none may decrypt. */
  encrypters: z.array(iamPrincipalArn).default([]),
  /** IAM roles or users that administer the key besides the deploy role (no decryption). */
  administrators: z.array(iamPrincipalArn).default([]),
});

/** CPU and memory, each defaulting on its own, so `{cpu: 100m}` keeps the default memory. */
const computeResources = (defaults: { readonly cpu: string; readonly memory: string }) =>
  z.strictObject({ cpu: quantity.default(defaults.cpu), memory: quantity.default(defaults.memory) }).prefault({});

/**
 * The Flux release both environments run unless their stack files say otherwise. Exact: a range
 * such as `2.x` resolves when the operator reconciles, so staging could test one Flux and prod run
 * another.
 */
export const FLUX_VERSION = "2.7.3";

/** The branch image automation pushes to when the app's config names none. */
export function defaultPushBranch(environment: string): string {
  return `image-updates/${environment}`;
}

const webhookSection = z.strictObject({
  /** Public host name GitHub sends webhooks to; point its DNS record at the receiver's load balancer. */
  host: hostName,
  /** ACM certificate for the host, served by the load balancer (HTTPS only). */
  certificateArn: z
    .string()
    .regex(
      /^arn:aws(-cn|-us-gov)?:acm:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:certificate\/[0-9a-f-]{36}$/,
      "expected an ACM certificate ARN such as arn:aws:acm:eu-west-1:111111111111:certificate/<uuid>",
    ),
  /** IngressClass of the AWS Load Balancer Controller. */
  ingressClassName: dnsLabel.default(WEBHOOK_RECEIVER_DEFAULTS.ingressClassName),
  /** TLS policy of the HTTPS listener. */
  sslPolicy: z
    .string()
    .regex(/^ELBSecurityPolicy-[A-Za-z0-9-]+$/, "expected an ELB security policy name such as ELBSecurityPolicy-TLS13-1-2-2021-06")
    .default(WEBHOOK_RECEIVER_DEFAULTS.sslPolicy),
});

const reconcilerSection = z.strictObject({
  /** Namespace of the operator and Flux. */
  namespace: dnsLabel.default(FLUX_NAMESPACE),
  // Every field defaults on its own (prefault), so a partly written operator keeps the rest.
  operator: z
    .strictObject({
      /** Flux Operator release; must be the vendored one, whose CRDs are installed. */
      version: z
        .string()
        .regex(exactVersion, "expected an exact release such as v0.58.1")
        .superRefine((value, ctx) => {
          // Its CRDs are installed from the repo, never downloaded: only the vendored release can run.
          if (value !== VENDORED_OPERATOR_VERSION && exactVersion.test(value)) {
            ctx.addIssue({
              code: "custom",
              message: `${value} is not the vendored release ${VENDORED_OPERATOR_VERSION} (vendor/flux-operator); vendor its CRDs with \`npm run vendor:flux-operator -- ${value}\` or set ${VENDORED_OPERATOR_VERSION}`,
            });
          }
        })
        .default(VENDORED_OPERATOR_VERSION),
      /** Operator image; production needs it pinned by digest. @default ghcr.io/controlplaneio-fluxcd/flux-operator:<version> */
      image: imageRef.optional(),
      /** Operator replicas (leader election keeps one active). */
      replicas: z.number().int("expected 1 to 3 replicas").min(1, "expected 1 to 3 replicas").max(3, "expected 1 to 3 replicas").default(FLUX_OPERATOR_DEFAULTS.replicas),
      /** Requests and limits of the operator container. */
      resources: z
        .strictObject({ requests: computeResources(FLUX_OPERATOR_DEFAULTS.resources.requests), limits: computeResources(FLUX_OPERATOR_DEFAULTS.resources.limits) })
        .prefault({}),
    })
    .transform(({ image, ...operator }) => ({ ...operator, image: image ?? `${FLUX_OPERATOR_IMAGE_REPOSITORY}:${operator.version}` }))
    .prefault({}),
  flux: z
    .strictObject({
      /** Flux distribution version, exact, the same in every stack. */
      version: z
        .string()
        .regex(exactVersion, "expected an exact Flux version such as 2.7.3; a range such as 2.x could resolve to another Flux than the other environment runs")
        .default(FLUX_VERSION),
      /** Registry the Flux controller images come from. */
      registry: z
        .string()
        .regex(/^[a-z0-9]+([.-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/, "expected a registry such as ghcr.io/fluxcd")
        .default("ghcr.io/fluxcd"),
    })
    .prefault({}),
  /** How often the environment branch is fetched (the webhook makes it immediate). */
  interval: fluxDuration.default("1m"),
  /** Namespace allowed to scrape the controllers' metrics (port 8080). */
  metricsNamespace: dnsLabel.default("monitoring"),
  /** Author of image automation commits. */
  commitAuthor: z
    .strictObject({
      name: z.string().min(1, "expected a commit author name").max(100).default("fluxcdbot"),
      email: z.email("expected an e-mail address").default("fluxcdbot@users.noreply.github.com"),
    })
    .prefault({}),
  /** The GitHub webhook receiver, exposed through the AWS load balancer behind the Firewall. @default none (Flux polls) */
  webhook: webhookSection.optional(),
});

// ---------------------------------------------------------------------------------------------
// Notifications: commit statuses and alerts (components/k8s/notifications.ts)
// ---------------------------------------------------------------------------------------------

/** Alert destinations: chat (Slack, Microsoft Teams) or a generic webhook whose requests are signed (HMAC). */
export const ALERT_TYPES = ["slack", "msteams", "generic-hmac"] as const;

/** Top-level keys holding notification secrets; each must be stored with `pulumi config set --secret`. */
export const NOTIFICATION_SECRET_KEYS = ["notificationsAppPrivateKey", "notificationsAlertAddress", "notificationsAlertHmacKey"] as const;

const githubAppNumber = (what: string) =>
  z.number({ error: `expected the GitHub App's ${what} (a positive integer)` }).refine((value) => Number.isSafeInteger(value) && value > 0, `expected the GitHub App's ${what} (a positive integer)`);

export const notificationsSection = z.strictObject({
  /** Commit statuses on GitHub, written by a GitHub App (its private key: `notificationsAppPrivateKey`). */
  commitStatus: z.strictObject({
    githubApp: z.strictObject({
      /** The App's id (its settings page, "App ID"). */
      appId: githubAppNumber("id"),
      /** The id of the App's installation on the owner that holds the repositories. */
      installationId: githubAppNumber("installation id"),
    }),
  }),
  /** Where failures and corrected drift are sent (its address: `notificationsAlertAddress`). @default none: commit statuses only */
  alerts: z
    .strictObject({
      type: z.enum(ALERT_TYPES, { error: "expected slack, msteams or generic-hmac" }),
      /** Also send the changes the reconciler applied (info events), which include every corrected drift. */
      drift: z.boolean().default(NOTIFICATIONS_DEFAULTS.drift),
    })
    .optional(),
});

/** Every key of the project's namespace. Strict: an unknown key is an error. */
export const configSchema = z.strictObject({
  /** Environment name; must equal the stack name. */
  environment: dnsLabel,
  /** Production rules: exact versions, digests, protected storage, reviews, automation by PR. */
  production: z.boolean().default(false),
  /** Place in the order of promotion, checked across all stacks by ./environments.ts. @default {} */
  promotion: promotionSection.prefault({}),
  aws: awsSection,
  github: githubSection,
  apps: z.array(appSection).default([]),
  firewall: firewallSection,
  storage: storageSection.prefault({}),
  registry: registrySection.prefault({}),
  /** Identities of the delivery workflows and the state backend they use. */
  ci: ciSection,
  /** The SOPS key of the app secrets: who may encrypt, who administers it. */
  appSecrets: appSecretsSection.prefault({}),
  reconciler: reconcilerSection.prefault({}),
  /** Commit statuses and alerts from the reconciler. @default none */
  notifications: notificationsSection.optional(),
  /** The GitHub App's private key (PEM), secret. Read as a secret, never as plain text. */
  notificationsAppPrivateKey: z.string().transform((value) => pulumi.secret(value)).optional(),
  /** The alert destination's https:// URL, secret (chat webhook URLs carry their credential). */
  notificationsAlertAddress: z.string().transform((value) => pulumi.secret(value)).optional(),
  /** The key generic-hmac alerts are signed with, secret. */
  notificationsAlertHmacKey: z.string().transform((value) => pulumi.secret(value)).optional(),
});

/** The `reconciler` section as an omitted one parses: the rules fall back to it when the section is invalid. */
export const RECONCILER_DEFAULTS = configSchema.shape.reconciler.parse(undefined);

/**
 * The config with the defaults that derive from other keys filled in, each written here once: the
 * config repo's path and each app's deploy path from the environment, and image automation's push
 * branch from the environment branch. Everything past the contract sees resolved values.
 */
export function withDerivedDefaults(config: z.output<typeof configSchema>) {
  const env = config.environment;
  const { configRepo } = config.github;
  return {
    ...config,
    github: { ...config.github, configRepo: { ...configRepo, path: configRepo.path ?? `clusters/${env}` } },
    apps: config.apps.map((app) => ({
      ...app,
      path: app.path ?? `deploy/${env}`,
      imageAutomation: app.imageAutomation && { ...app.imageAutomation, pushBranch: app.imageAutomation.pushBranch ?? defaultPushBranch(configRepo.branch) },
    })),
  };
}
