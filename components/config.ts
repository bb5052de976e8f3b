/**
 * The project's configuration: one strict zod schema for every key of a stack's config, parsed once,
 * before any resource is declared. Components never read config or the environment; they get the
 * typed values produced here.
 *
 * A bad config raises a {@link ConfigError} listing every problem, each with its full key path
 * (`gitops-platform:firewall.ingress[1].cidrs[0]`) and what was expected.
 */
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { z } from "zod";
import { OPERATOR_RESOURCES, VENDORED_OPERATOR_VERSION } from "./flux-operator";
import { findPlaceholders } from "./placeholders";
import { OFFLINE_SECRET } from "./offline-secret";
import { knownHostsLineProblem } from "./known-hosts";
import { promotionSection } from "./environments";
import { ADMIN_PORTS, isIpv4Mapped, isWorldOpen, RISKY_PORTS } from "../policies/network-rules";

/** The Pulumi project name; config keys of this project are `gitops-platform:<key>`. */
export const PROJECT = "gitops-platform";

// ---------------------------------------------------------------------------------------------
// Reusable value schemas
// ---------------------------------------------------------------------------------------------

/** RFC 1123 label: Kubernetes namespace and object names, environment names. */
export const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "expected a lowercase RFC 1123 label (a-z, 0-9, '-', at most 63 characters)");

const githubName = /^[A-Za-z0-9_.-]{1,100}$/;

/** A GitHub owner (user or organisation) login. */
export const githubOwner = z
  .string()
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$/, "expected a GitHub owner login (letters, digits, single '-')");

/** A GitHub repository in `owner/name` form. */
export const githubRepo = z.string().superRefine((value, ctx) => {
  const parts = value.split("/");
  const wellFormed =
    parts.length === 2 &&
    /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$/.test(parts[0] ?? "") &&
    githubName.test(parts[1] ?? "") &&
    parts[1] !== "." &&
    parts[1] !== "..";
  if (!wellFormed) ctx.addIssue({ code: "custom", message: "expected a GitHub repository as owner/name" });
  // GitHub drops a trailing .git, so owner/x.git is owner/x under another spelling: it would slip
  // past the one-key-per-repository and config-repo checks, and break the ssh URL built from it.
  else if (/\.git$/i.test(value)) ctx.addIssue({ code: "custom", message: "expected owner/name without a trailing .git" });
});

/** One pinned `known_hosts` line for github.com (see components/known-hosts.ts). */
export const knownHostsLine = z.string().superRefine((value, ctx) => {
  const problem = knownHostsLineProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** A git branch name, per git-check-ref-format, without the `refs/heads/` prefix. */
export const gitBranch = z.string().refine(
  (value) =>
    value.length > 0 &&
    value.length <= 255 &&
    !value.startsWith("/") &&
    !value.endsWith("/") &&
    !value.endsWith(".") &&
    !value.startsWith("-") &&
    !value.startsWith("refs/") &&
    !value.includes("..") &&
    !value.includes("//") &&
    !value.includes("@{") &&
    // \p{Cf}: zero-width and bidi controls, which make two different names look alike.
    !/[\s~^:?*[\\\x00-\x1f\x7f\p{Cf}]/u.test(value) &&
    value.split("/").every((part) => part.length > 0 && !part.startsWith(".") && !part.endsWith(".lock")),
  "expected a git branch name (no spaces, '..', '~', '^', ':', '?', '*', '[', '\\', no leading '/', '-' or 'refs/')",
)
  // Valid ref syntax, but HEAD and @ name the checked-out commit, not a branch.
  .refine((value) => value !== "HEAD" && value !== "@", "expected a branch name; HEAD and @ name a commit, not a branch");

/** A relative path inside a repository: no traversal, not absolute. */
export const repoPath = z
  .string()
  .refine(
    (value) =>
      value.length > 0 &&
      value.length <= 512 &&
      !value.startsWith("/") &&
      !/^[A-Za-z]:/.test(value) &&
      !value.includes("\\") &&
      !/[\x00-\x1f\x7f]/.test(value) &&
      value.split("/").every((part) => part !== ".." && part !== ""),
    "expected a relative path inside the repository (no '..', no leading '/', no empty segments)",
  )
  .transform((value) => value.replace(/^\.\/+/, ""));

/** An IPv4 or IPv6 CIDR block in canonical form (host bits zero). */
export const cidr = z.string().superRefine((value, ctx) => {
  const problem = cidrProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** A Go/Flux duration such as `1m`, `30s`, `1h30m`. */
export const fluxDuration = z
  .string()
  .regex(/^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/, "expected a duration such as 30s, 5m or 1h")
  // A zero interval makes a Flux controller reconcile in a busy loop.
  .refine((value) => !/^(0+(\.0+)?(ms|s|m|h))+$/.test(value), "expected a duration greater than zero");

const port = z.number().int("expected an integer port").min(0, "expected a port from 0 to 65535").max(65535, "expected a port from 0 to 65535");

/** An exact semantic version such as `v2.7.3` or `2.7.3`. */
export const exactVersion = /^v?\d+\.\d+\.\d+$/;

// ---------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------

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
    .default(0),
  /** Key algorithm; RSA is refused. */
  algorithm: z.enum(["ED25519", "ECDSA"], { error: "expected ED25519 or ECDSA (RSA keys are refused)" }).default("ED25519"),
  /** Write access, only for a repository that image automation commits to. */
  readWrite: z.boolean().default(false),
});

const configRepoSection = z.strictObject({
  /** Repository, `owner/name`, holding this program and `clusters/<env>`. */
  repo: githubRepo,
  /** The environment branch the reconciler syncs; must equal the environment name. */
  branch: gitBranch,
  /** Path the reconciler applies, relative to the repository root. @default clusters/<environment> */
  path: repoPath.optional(),
  deployKey: deployKeySection.default({ generation: 0, algorithm: "ED25519", readWrite: false }),
});

const branchProtectionSection = z.strictObject({
  /** Protect the environment branch (changes only by PR, no force pushes). @default true */
  enabled: z.boolean().default(true),
  /** Approving reviews a PR needs before merging. @default 0 */
  requiredReviews: z.number().int().min(0, "expected 0 to 6 reviews").max(6, "expected 0 to 6 reviews").default(0),
  /** Status checks that must pass (the preview job). @default ["preview"] */
  requiredChecks: z
    .array(z.string().regex(/^\S(.*\S)?$/, "expected a check name (the job name, no leading or trailing spaces)"))
    .min(1, "expected at least one check (the preview job)")
    .default(["preview"]),
});

const githubSection = z.strictObject({
  /** The GitHub owner (organisation or user) the provider acts on. */
  owner: githubOwner,
  configRepo: configRepoSection,
  branchProtection: branchProtectionSection.default({ enabled: true, requiredReviews: 0, requiredChecks: ["preview"] }),
  /**
   * `known_hosts` lines for github.com, pinned; never scanned on first use.
   * @default GitHub's published SSH host keys
   */
  knownHosts: z
    .array(knownHostsLine)
    .min(1, "expected at least one line; omit the key to use GitHub's published host keys")
    .optional(),
  /** CIDRs GitHub sends webhooks from (GitHub's `hooks` meta ranges), allowed to reach the receiver. */
  hookCidrs: z.array(cidr).default([]),
});

const imagePolicySection = z.union(
  [
    z.strictObject({ semver: z.string().min(1, "expected a semver range such as >=1.0.0") }),
    z.strictObject({
      /** Regex the tags must match (RE2), with a named group such as `(?P<ts>[0-9]+)` for ordering. */
      pattern: z.string().min(1),
      /** What to order by: a named group of the pattern, e.g. `$ts`. */
      extract: z.string().min(1),
      /** `asc` takes the highest value as the newest, `desc` the lowest. @default asc */
      order: z.enum(["asc", "desc"]).default("asc"),
      /** Compare the extracted values as numbers or as text. @default numerical */
      sort: z.enum(["numerical", "alphabetical"], { error: "expected numerical or alphabetical" }).default("numerical"),
    }),
  ],
  { error: "expected { semver: <range> } or { pattern, extract, order, sort }" },
);

type ImagePolicy = z.output<typeof imagePolicySection>;

const imageAutomationSection = z.strictObject({
  /** How to choose the newest image tag. */
  policy: imagePolicySection,
  /** How often to scan the registry. @default 5m */
  interval: fluxDuration.default("5m"),
  /**
   * Branch of the config repo automation pushes to: its own branch, never the environment branch,
   * so every bump reaches the environment through a pull request.
   * @default image-updates/<environment>
   */
  pushBranch: gitBranch.optional(),
});

const appSection = z.strictObject({
  /** Application name: names its ECR repository and Kubernetes objects. */
  name: dnsLabel,
  /** The application's repository, `owner/name`. */
  repo: githubRepo,
  /** Branch whose CI may push images and whose manifests the reconciler applies. @default main */
  branch: gitBranch.default("main"),
  /** Path of the deploy manifests in the app repository. @default deploy/<environment> */
  path: repoPath.optional(),
  /** Reconcile interval. @default 5m */
  interval: fluxDuration.default("5m"),
  deployKey: deployKeySection.default({ generation: 0, algorithm: "ED25519", readWrite: false }),
  /** Image automation for this app: bumps the tag in the config repo. */
  imageAutomation: imageAutomationSection.optional(),
});

const firewallRuleSection = z.strictObject({
  /** Why the rule exists; shown on the rule in AWS. */
  description: z.string().min(1, "expected a description").max(255),
  protocol: z.enum(["tcp", "udp", "icmp", "-1"], { error: "expected tcp, udp, icmp or -1 (all)" }).default("tcp"),
  fromPort: port,
  toPort: port,
  cidrs: z.array(cidr).min(1, "expected at least one CIDR"),
});

type FirewallRule = z.output<typeof firewallRuleSection>;

/** Ports never open to the world from config: the policy pack's admin and risky ports together. */
export const WORLD_CLOSED_PORTS: readonly number[] = [...ADMIN_PORTS, ...RISKY_PORTS].sort((a, b) => a - b);

function portRangeIssues(rule: FirewallRule, ctx: z.RefinementCtx): void {
  if (rule.protocol !== "-1" && rule.protocol !== "icmp" && rule.fromPort > rule.toPort) {
    ctx.addIssue({ code: "custom", path: ["fromPort"], message: `must not exceed toPort (${rule.fromPort} > ${rule.toPort})` });
  }
}

// Checked on each rule, so a bad rule elsewhere in the config doesn't hide this one's problems.
const ingressRule = firewallRuleSection.superRefine((rule, ctx) => {
  portRangeIssues(rule, ctx);
  rule.cidrs.forEach((block, j) => {
    // An IPv4-mapped block is refused as such (cidrProblem); the world checks would only repeat it.
    if (!isWorldOpen(block) || isIpv4Mapped(block)) return;
    // AWS's own findings look for /0; a world split in halves would pass them.
    if (Number(block.split("/")[1]) !== 0 && cidrProblem(block) === undefined) {
      const world = block.includes(":") ? "::/0" : "0.0.0.0/0";
      ctx.addIssue({ code: "custom", path: ["cidrs", j], message: `${block} covers most of the internet; write ${world} if the world is meant, so every check sees it` });
    }
    if (rule.protocol === "-1") {
      ctx.addIssue({ code: "custom", path: ["cidrs", j], message: `${block} may not reach every port (protocol -1); allow-list the ports it needs` });
      return;
    }
    if (rule.protocol === "icmp") return;
    const reached = WORLD_CLOSED_PORTS.filter((p) => rule.fromPort <= p && p <= rule.toPort);
    if (reached.length === 0) return;
    const list = reached.length === 1 ? `port ${reached[0]}` : `ports ${reached.slice(0, -1).join(", ")} and ${reached[reached.length - 1]}`;
    ctx.addIssue({ code: "custom", path: ["cidrs", j], message: `${block} may not reach ${list}` });
  });
});
const egressRule = firewallRuleSection.superRefine(portRangeIssues);

const wafSection = z.strictObject({
  enabled: z.boolean().default(false),
  /** Requests per 5 minutes per source IP before blocking. @default 2000 */
  rateLimit: z.number().int().min(100, "expected a rate limit from 100 to 2000000000").max(2_000_000_000).default(2000),
  /** AWS managed rule groups (names under vendor AWS). */
  managedRuleGroups: z
    .array(z.string().regex(/^AWSManagedRules[A-Za-z0-9]+$/, "expected an AWS managed rule group name (AWSManagedRules...)"))
    .default(["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"]),
});

const firewallSection = z.strictObject({
  /** Ingress to the cluster's entry point, per port range, from allow-listed CIDRs. */
  ingress: z.array(ingressRule).min(1, "expected at least one ingress rule"),
  /** Egress from the entry point. @default none (no egress) */
  egress: z.array(egressRule).default([]),
  waf: wafSection.default({ enabled: false, rateLimit: 2000, managedRuleGroups: ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"] }),
});

const storageSection = z.strictObject({
  /** Days a noncurrent object version is kept. @default 30 */
  noncurrentVersionExpirationDays: z.number().int().min(1, "expected at least 1 day").max(3650).default(30),
  /** Days before an incomplete multipart upload is aborted. @default 7 */
  abortIncompleteUploadDays: z.number().int().min(1, "expected at least 1 day").max(365).default(7),
  /** Waiting period before the KMS key is deleted. @default 30 */
  kmsDeletionWindowDays: z.number().int().min(7, "expected 7 to 30 days").max(30, "expected 7 to 30 days").default(30),
  /** Protect the bucket and its key from deletion and retain them when removed from the program. @default false */
  protect: z.boolean().default(false),
});

const registrySection = z.strictObject({
  /** Tagged images kept per repository. @default 30 */
  keepLastImages: z.number().int().min(1, "expected at least 1 image").max(10_000).default(30),
  /** Days an untagged image is kept. @default 7 */
  untaggedExpiryDays: z.number().int().min(1, "expected at least 1 day").max(3650).default(7),
});

/** An S3 bucket name (general purpose buckets, as AWS's naming rules allow for new buckets). */
export const bucketName = z.string().refine(
  (value) =>
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value) &&
    !value.includes("..") &&
    !value.includes(".-") &&
    !value.includes("-.") &&
    !/^\d{1,3}(\.\d{1,3}){3}$/.test(value) &&
    !/^(xn--|sthree-|amzn-s3-demo-)/.test(value) &&
    !/(-s3alias|--ol-s3|--x-s3|--table-s3|\.mrap)$/.test(value),
  "expected an S3 bucket name (3-63 characters: a-z, 0-9, '.', '-'; starts and ends with a letter or digit; not an IP address)",
);

const kmsKeyArn = z
  .string()
  .regex(
    /^arn:aws(-cn|-us-gov)?:kms:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:key\/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/,
    "expected a KMS key ARN such as arn:aws:kms:eu-west-1:111111111111:key/<key id> (not an alias)",
  );

const ciSection = z.strictObject({
  /** The S3 bucket holding Pulumi state (`pulumi login s3://<bucket>`), created once by an administrator. */
  stateBucket: bucketName,
  /** The KMS key of the stack's secrets provider (`awskms://<key id>`), created once by an administrator. */
  secretsKeyArn: kmsKeyArn,
  /**
   * Create the account's GitHub OIDC provider. It is one per account: when both stacks share an
   * account, exactly one of them creates it and the other sets this to false and uses it.
   * @default true
   */
  createOidcProvider: z.boolean().default(true),
  /**
   * The config repository's default branch, where scheduled drift checks and dispatched previews
   * run; its workflow runs may assume the (read-only) preview role too, and only they may assume
   * the drift role.
   * @default none: only pull requests may assume the preview role, and there is no drift role
   */
  defaultBranch: gitBranch.optional(),
});

/** An IAM role or user ARN, exact (no wildcards, not an account root, which would mean every principal of the account). */
const iamPrincipalArn = z
  .string()
  .regex(
    /^arn:aws(-cn|-us-gov)?:iam::\d{12}:(role|user)\/[\w+=,.@/-]{1,512}$/,
    "expected an IAM role or user ARN such as arn:aws:iam::111111111111:role/app-team (no wildcards, not an account root)",
  );

const appSecretsSection = z.strictObject({
  /** Waiting period before the SOPS key is deleted. @default 30 */
  deletionWindowDays: z.number().int().min(7, "expected 7 to 30 days").max(30, "expected 7 to 30 days").default(30),
  /** Let each app's CI role encrypt secrets with the key. @default true */
  ciRolesEncrypt: z.boolean().default(true),
  /** More IAM roles or users (people, e.g. an SSO role) that may encrypt; none may decrypt. @default [] */
  encrypters: z.array(iamPrincipalArn).default([]),
  /** IAM roles or users that administer the key besides the deploy role (no decryption). @default [] */
  administrators: z.array(iamPrincipalArn).default([]),
});

const imageRef = z
  .string()
  .regex(
    /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/,
    "expected an image reference registry/name[:tag][@sha256:<digest>]",
  );

/** A Kubernetes resource quantity for CPU (`100m`, `1`) or memory (`64Mi`, `1Gi`). */
export const quantity = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/, "expected a Kubernetes quantity such as 100m, 1, 64Mi or 1Gi");

/** CPU and memory, each defaulting on its own, so `{cpu: 100m}` keeps the default memory. */
const computeResources = (defaults: { readonly cpu: string; readonly memory: string }) =>
  z.strictObject({ cpu: quantity.default(defaults.cpu), memory: quantity.default(defaults.memory) }).prefault({});

// The operator release is the vendored one (vendor/flux-operator); its requests and limits upstream's.
const OPERATOR_IMAGE_REPOSITORY = "ghcr.io/controlplaneio-fluxcd/flux-operator";

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

/** A DNS host name (lowercase, at least two labels), e.g. `flux-webhook.staging.example.com`. */
export const hostName = z
  .string()
  .refine(
    (value) =>
      value.length <= 253 &&
      value.split(".").length >= 2 &&
      value.split(".").every((label) => /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(label)),
    "expected a lowercase DNS host name such as flux-webhook.example.com",
  );

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
  /** IngressClass of the AWS Load Balancer Controller. @default alb */
  ingressClassName: dnsLabel.default("alb"),
  /** TLS policy of the HTTPS listener. @default ELBSecurityPolicy-TLS13-1-2-2021-06 */
  sslPolicy: z
    .string()
    .regex(/^ELBSecurityPolicy-[A-Za-z0-9-]+$/, "expected an ELB security policy name such as ELBSecurityPolicy-TLS13-1-2-2021-06")
    .default("ELBSecurityPolicy-TLS13-1-2-2021-06"),
});

const reconcilerSection = z.strictObject({
  /** Namespace of the operator and Flux. @default flux-system */
  namespace: dnsLabel.default("flux-system"),
  // Every field defaults on its own (prefault), so a partly written operator keeps the rest.
  operator: z
    .strictObject({
      /** Flux Operator release; must be the vendored one, whose CRDs are installed. @default the vendored release (v0.58.1) */
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
      /** Operator replicas (leader election keeps one active). @default 1 */
      replicas: z.number().int("expected 1 to 3 replicas").min(1, "expected 1 to 3 replicas").max(3, "expected 1 to 3 replicas").default(1),
      /** Requests and limits of the operator container. @default upstream's: requests 10m/64Mi, limits 2000m/1Gi */
      resources: z
        .strictObject({ requests: computeResources(OPERATOR_RESOURCES.requests), limits: computeResources(OPERATOR_RESOURCES.limits) })
        .prefault({}),
    })
    .transform(({ image, ...operator }) => ({ ...operator, image: image ?? `${OPERATOR_IMAGE_REPOSITORY}:${operator.version}` }))
    .prefault({}),
  flux: z
    .strictObject({
      /** Flux distribution version, exact, the same in every stack. @default 2.7.3 */
      version: z
        .string()
        .regex(exactVersion, "expected an exact Flux version such as 2.7.3; a range such as 2.x could resolve to another Flux than the other environment runs")
        .default(FLUX_VERSION),
      /** Registry the Flux controller images come from. @default ghcr.io/fluxcd */
      registry: z
        .string()
        .regex(/^[a-z0-9]+([.-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/, "expected a registry such as ghcr.io/fluxcd")
        .default("ghcr.io/fluxcd"),
    })
    .default({ version: FLUX_VERSION, registry: "ghcr.io/fluxcd" }),
  /** How often the environment branch is fetched (the webhook makes it immediate). @default 1m */
  interval: fluxDuration.default("1m"),
  /** Namespace allowed to scrape the controllers' metrics (port 8080). @default monitoring */
  metricsNamespace: dnsLabel.default("monitoring"),
  /** Author of image automation commits. @default fluxcdbot <fluxcdbot@users.noreply.github.com> */
  commitAuthor: z
    .strictObject({
      name: z.string().min(1, "expected a commit author name").max(100).default("fluxcdbot"),
      email: z.email("expected an e-mail address").default("fluxcdbot@users.noreply.github.com"),
    })
    .default({ name: "fluxcdbot", email: "fluxcdbot@users.noreply.github.com" }),
  /** The GitHub webhook receiver, exposed through the AWS load balancer behind the Firewall. @default none (Flux polls) */
  webhook: webhookSection.optional(),
});

// ---------------------------------------------------------------------------------------------
// Notifications: commit statuses and alerts (components/notifications.ts)
// ---------------------------------------------------------------------------------------------

/** Alert destinations: chat (Slack, Microsoft Teams) or a generic webhook whose requests are signed (HMAC). */
export const ALERT_TYPES = ["slack", "msteams", "generic-hmac"] as const;

/** Top-level keys holding notification secrets; each must be stored with `pulumi config set --secret`. */
export const NOTIFICATION_SECRET_KEYS = ["notificationsAppPrivateKey", "notificationsAlertAddress", "notificationsAlertHmacKey"] as const;

const githubAppNumber = (what: string) =>
  z.number({ error: `expected the GitHub App's ${what} (a positive integer)` }).refine((value) => Number.isSafeInteger(value) && value > 0, `expected the GitHub App's ${what} (a positive integer)`);

const notificationsSection = z.strictObject({
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
      /** Also send the changes the reconciler applied (info events), which include every corrected drift. @default true */
      drift: z.boolean().default(true),
    })
    .optional(),
});

/** The value the offline engine hands the program for a secure value it cannot decrypt: its content cannot be checked there. */
function unreadable(value: string): boolean {
  return value === OFFLINE_SECRET;
}

/** A problem with a notification secret's content, said without the value. */
export function notificationSecretProblem(name: (typeof NOTIFICATION_SECRET_KEYS)[number], value: string): string | undefined {
  if (unreadable(value)) return undefined;
  if (name === "notificationsAppPrivateKey") {
    try {
      const key = crypto.createPrivateKey(value);
      if (key.asymmetricKeyType !== "rsa") return `expected the GitHub App's RSA private key, got a key of type ${key.asymmetricKeyType ?? "unknown"}`;
    } catch {
      return "expected the GitHub App's private key in PEM form (an RSA private key block), as GitHub downloads it";
    }
    return undefined;
  }
  if (name === "notificationsAlertAddress") {
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (url === undefined || value !== value.trim() || url.hostname === "") return "expected an https:// URL (the value is not shown)";
    if (url.protocol !== "https:") return `expected an https:// URL, got a ${url.protocol.slice(0, -1)}:// one; plain HTTP and other schemes are refused`;
    if (url.username !== "" || url.password !== "") return "expected an https:// URL without user:password@; put credentials in the path or use the HMAC key";
    return undefined;
  }
  // HMAC-SHA256 (what Flux signs with) takes its full strength from a key of at least 32 bytes.
  if (Buffer.byteLength(value) < 32) return "expected an HMAC key of at least 32 characters";
  return undefined;
}

/** Notification rules: secrets stored as secrets, valid, and present whenever the section needs them. */
function notificationProblems(raw: RawConfig, section: unknown): string[] {
  const problems: string[] = [];
  const given = (name: string) => raw.values[`${PROJECT}:${name}`];
  for (const name of NOTIFICATION_SECRET_KEYS) {
    const key = `${PROJECT}:${name}`;
    const value = given(name);
    if (value === undefined) continue;
    if (!raw.secretKeys.includes(key)) {
      problems.push(`${key}: must be a secret; store it with \`pulumi config set --secret ${name}\``);
      continue;
    }
    if (structuredKind(value) !== undefined) continue; // refused as such by parseConfig
    const problem = notificationSecretProblem(name, value);
    if (problem) problems.push(`${key}: ${problem}`);
  }
  // A bad section is reported by the schema; which secrets it needs is then unknown.
  const parsed = notificationsSection.optional().safeParse(section);
  if (!parsed.success) return problems;
  const notifications = parsed.data;
  const needs = (name: string, why: string) => {
    if (given(name) === undefined) problems.push(`${keyPath([name])}: required ${why}; store it with \`pulumi config set --secret ${name}\``);
  };
  // A secret the section does not use is accepted (still checked above: stored as a secret, valid):
  // nothing reads it, and refusing it would fight a value a shared ESC environment supplies.
  if (notifications === undefined) return problems;
  needs("notificationsAppPrivateKey", "with notifications.commitStatus.githubApp (the App's private key)");
  if (notifications.alerts !== undefined) {
    needs("notificationsAlertAddress", "with notifications.alerts (the destination's https:// URL)");
    if (notifications.alerts.type === "generic-hmac") needs("notificationsAlertHmacKey", "with notifications.alerts.type generic-hmac (the key requests are signed with)");
  }
  return problems;
}

/** Every key of the project's namespace. Strict: an unknown key is an error. */
export const configSchema = z.strictObject({
  /** Environment name; must equal the stack name. */
  environment: dnsLabel,
  /** Production rules: exact versions, digests, protected storage, reviews, automation by PR. @default false */
  production: z.boolean().default(false),
  /** Place in the order of promotion, checked across all stacks by components/environments.ts. @default {} */
  promotion: promotionSection.prefault({}),
  aws: awsSection,
  github: githubSection,
  apps: z.array(appSection).default([]),
  firewall: firewallSection,
  storage: storageSection.default({ noncurrentVersionExpirationDays: 30, abortIncompleteUploadDays: 7, kmsDeletionWindowDays: 30, protect: false }),
  registry: registrySection.default({ keepLastImages: 30, untaggedExpiryDays: 7 }),
  /** Identities of the delivery workflows and the state backend they use. */
  ci: ciSection,
  /** The SOPS key of the app secrets: who may encrypt, who administers it. */
  appSecrets: appSecretsSection.default({ deletionWindowDays: 30, ciRolesEncrypt: true, encrypters: [], administrators: [] }),
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

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

type Schema = z.output<typeof configSchema>;

/** The validated config, plus the values read from other namespaces and the secrets. */
export interface PlatformConfig extends Schema {
  /** Stack name the config was validated against. */
  readonly stack: string;
  /** AWS region (`aws:region`). */
  readonly region: string;
}

/**
 * GitHub credentials the stack config may not hold, with why and what to do instead. The GitHub
 * provider takes its token only from `GITHUB_TOKEN` in the environment of the `pulumi` process: a
 * GitHub App installation token minted per run (it expires after an hour), never a long-lived
 * token stored in config (and from there in state).
 */
export const RETIRED_GITHUB_TOKEN_KEYS: Readonly<Record<string, string>> = {
  [`${PROJECT}:githubToken`]:
    "no longer read: the GitHub provider takes its token from GITHUB_TOKEN in the environment of the pulumi process (a GitHub App installation token minted per run); remove it with `pulumi config rm githubToken`",
  "github:token":
    "a GitHub token in stack config outlives every run; the GitHub provider takes its token from GITHUB_TOKEN in the environment of the pulumi process (a GitHub App installation token minted per run); remove it with `pulumi config rm github:token`",
};

/** Config problems, every one with its key path and expectation. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** What {@link parseConfig} reads: the raw string values Pulumi hands a program. */
export interface RawConfig {
  /** Stack name. */
  readonly stack: string;
  /** Every config value, keyed `<namespace>:<key>`; structured values JSON-encoded, as Pulumi passes them. */
  readonly values: Readonly<Record<string, string>>;
  /** Keys whose values were stored as secrets. */
  readonly secretKeys: readonly string[];
  /**
   * Refuse the example values of the shipped stack files (components/placeholders.ts): set for a
   * real preview or up, never under the offline engine, where the examples must keep running.
   * @default false
   */
  readonly refuseExamples?: boolean;
}

const STRING_KEYS = new Set<string>(["environment", ...NOTIFICATION_SECRET_KEYS]);

/** Renders a zod path as a config key path: `gitops-platform:firewall.ingress[1].cidrs[0]`. */
export function keyPath(path: readonly PropertyKey[]): string {
  let out = `${PROJECT}:`;
  path.forEach((segment, index) => {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += `${index === 0 ? "" : "."}${String(segment)}`;
  });
  return out;
}

const ARTICLES: Record<string, string> = { array: "an array", object: "an object", integer: "an integer", int: "an integer" };

/** A value as a message may quote it: JSON, cut short. Only non-secret keys are ever parsed. */
function quoteValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function describeIssue(issue: z.core.$ZodIssue, secret: boolean): string[] {
  const path = keyPath(issue.path);
  // A key stored as a secret is never quoted, not even cut short.
  const quote = secret ? () => "a secret value (not shown)" : quoteValue;
  if (issue.code === "invalid_key") {
    // A record key refused by its own schema (e.g. a reserved tag key): say why, not just "invalid".
    return issue.issues.map((inner) => `${path}: ${inner.message}`);
  }
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `${keyPath([...issue.path, key])}: unknown key (check for a typo)`);
  }
  if (issue.code === "invalid_type") {
    // A schema's own message (e.g. "expected an integer port") wins over zod's generic one.
    const custom = !issue.message.startsWith("Invalid input");
    const expected = custom ? issue.message : `expected ${ARTICLES[issue.expected] ?? `a ${issue.expected}`}`;
    if (issue.input === undefined) return [`${path}: required, ${expected}`];
    return [`${path}: ${expected}, got ${quote(issue.input)}`];
  }
  return [`${path}: ${issue.message.replace(/^Invalid input: /, "")}`];
}

/**
 * Validates a stack's config and returns it typed, or throws a {@link ConfigError} listing every
 * problem. Pure: reads nothing but its argument.
 */
export function parseConfig(raw: RawConfig): PlatformConfig {
  const problems: string[] = [];
  const prefix = `${PROJECT}:`;
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw.values)) {
    if (!key.startsWith(prefix)) continue;
    const name = key.slice(prefix.length);
    if (RETIRED_GITHUB_TOKEN_KEYS[key] !== undefined) continue;
    // A key read as text would take a mapping's JSON text for its value: the schema sees the mapping.
    input[name] = STRING_KEYS.has(name) && structuredKind(value) === undefined ? value : decodeValue(value);
  }

  // reportInput: a type error quotes what it got, and a missing key is told from a wrong one.
  const result = configSchema.safeParse(input, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(...describeIssue(issue, raw.secretKeys.includes(`${prefix}${String(issue.path[0])}`)));
  }

  for (const key of Object.keys(raw.values)) {
    const [namespace = "", ...rest] = key.split(":");
    if (namespace !== PROJECT && rest.length > 0 && editDistance(namespace, PROJECT) <= 2) {
      problems.push(`${key}: unknown namespace ${namespace} (check for a typo: ${PROJECT}:${rest.join(":")})`);
    }
  }

  const region = raw.values["aws:region"];
  if (region === undefined) problems.push("aws:region: required, expected an AWS region such as eu-west-1");
  else if (!/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(region)) problems.push(`aws:region: expected an AWS region such as eu-west-1, got ${JSON.stringify(region)}`);

  for (const [key, why] of Object.entries(RETIRED_GITHUB_TOKEN_KEYS)) {
    if (raw.values[key] !== undefined) problems.push(`${key}: ${why}`);
  }
  for (const key of PROVIDER_SECRET_KEYS) {
    const structured = raw.values[key] === undefined ? undefined : structuredKind(raw.values[key]);
    if (structured !== undefined) problems.push(`${key}: expected a string, got ${structured}; store the value itself with \`pulumi config set --secret ${key}\``);
    else if (raw.values[key] !== undefined && !raw.secretKeys.includes(key)) {
      problems.push(`${key}: must be a secret; store it with \`pulumi config set --secret ${key}\``);
    }
  }

  problems.push(...crossFieldProblems(result.success ? result.data : parseSections(input), raw.stack));
  problems.push(...notificationProblems(raw, input.notifications));
  if (raw.refuseExamples === true) {
    problems.push(...findPlaceholders(input).map((found) => `${keyPath(found.path)}: ${found.message}`));
  }
  if (problems.length > 0) throw new ConfigError(problems.map((problem) => redact(problem, secretFragments(raw))));
  const data = result.data as Schema;
  return { ...data, stack: raw.stack, region: region as string };
}

/**
 * "a mapping" or "a list" when a config value is structured (the CLI hands those over as JSON text),
 * else undefined. Scalars reach a program as text whatever the stack file's YAML type, and a secure
 * value is always a string, so a structured value is the one non-string a secret key can receive.
 */
function structuredKind(value: string): string | undefined {
  if (!/^\s*[[{]/.test(value)) return undefined;
  const decoded = decodeValue(value);
  if (Array.isArray(decoded)) return "a list";
  return decoded !== null && typeof decoded === "object" ? "a mapping" : undefined;
}

/** Credentials of the providers' own namespaces that must never sit in the stack file in plaintext. */
export const PROVIDER_SECRET_KEYS = ["aws:secretKey", "aws:token"] as const;

/**
 * The strings of every secret config value, as a message could quote them (raw, and JSON-escaped).
 * Short ones are left out: masking "on" or "443" would garble messages and hide nothing.
 */
function secretFragments(raw: RawConfig): string[] {
  const fragments = new Set<string>();
  const add = (value: unknown): void => {
    if (typeof value === "string") {
      for (const text of [value, JSON.stringify(value).slice(1, -1)]) if (text.length >= 4) fragments.add(text);
    } else if (value !== null && typeof value === "object") Object.values(value).forEach(add);
  };
  for (const key of raw.secretKeys) {
    const value = raw.values[key];
    if (value === undefined) continue;
    add(value);
    add(decodeValue(value));
  }
  return [...fragments].sort((a, b) => b.length - a.length);
}

/** A problem with every secret value in its text (not its key path) replaced by `[secret]`. */
function redact(problem: string, fragments: readonly string[]): string {
  const cut = problem.indexOf(": ") + 2;
  const text = fragments.reduce((rest, fragment) => rest.split(fragment).join("[secret]"), problem.slice(cut));
  return problem.slice(0, cut) + text;
}

/** Levenshtein distance, to tell a typo of the project's namespace from another provider's. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The top-level sections that parsed on their own; cross-key rules use what is there. */
type Sections = Partial<Schema>;

function parseSections(input: Record<string, unknown>): Sections {
  const sections: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(configSchema.shape)) {
    const result = schema.safeParse(input[key]);
    if (result.success) sections[key] = result.data;
  }
  return sections;
}

/**
 * Rules that span several keys; each message still names the key to change. Each rule runs when
 * the sections it reads are valid, so one bad section doesn't hide the problems of the others.
 */
function crossFieldProblems(config: Sections, stack: string): string[] {
  const problems: string[] = [];
  const { environment: env, github, apps, production, reconciler, storage } = config;
  if (env !== undefined && env !== stack) {
    problems.push(`${keyPath(["environment"])}: must equal the stack name ${JSON.stringify(stack)}, got ${JSON.stringify(env)}`);
  }
  if (env !== undefined && github && github.configRepo.branch !== env) {
    problems.push(`${keyPath(["github", "configRepo", "branch"])}: must equal the environment ${JSON.stringify(env)}, got ${JSON.stringify(github.configRepo.branch)}`);
  }

  if (github) {
    // The provider acts on one owner and addresses repositories by name, so every repo is the owner's.
    const owner = github.owner;
    const ownerProblem = (repo: string, path: (string | number)[]) => {
      const repoOwner = repo.split("/")[0] ?? "";
      if (repoOwner.toLowerCase() !== owner.toLowerCase()) {
        problems.push(`${keyPath(path)}: owner ${repoOwner} differs from github.owner ${owner}; the GitHub provider manages one owner's repositories`);
      }
    };
    ownerProblem(github.configRepo.repo, ["github", "configRepo", "repo"]);
    apps?.forEach((app, i) => ownerProblem(app.repo, ["apps", i, "repo"]));
  }

  if (github && apps) {
    // Repositories: one deploy key each, so each repository once; GitHub names are case-insensitive.
    const configRepo = github.configRepo.repo.toLowerCase();
    const seen = new Map<string, string>();
    apps.forEach((app, i) => {
      const repo = app.repo.toLowerCase();
      const previous = seen.get(repo);
      if (repo === configRepo) {
        problems.push(`${keyPath(["apps", i, "repo"])}: ${app.repo} is the config repo (github.configRepo.repo); an app's manifests and CI live in its own repository`);
      } else if (previous) problems.push(`${keyPath(["apps", i, "repo"])}: ${app.repo} is already used by ${previous}; every repository needs its own deploy key`);
      else seen.set(repo, keyPath(["apps", i, "repo"]));
    });
  }
  problems.push(...gitWriteProblems(config));

  if (apps) {
    const names = new Map<string, number>();
    apps.forEach((app, i) => {
      const j = names.get(app.name);
      if (j !== undefined) problems.push(`${keyPath(["apps", i, "name"])}: ${app.name} is already the name of apps[${j}]`);
      else names.set(app.name, i);
      if (app.deployKey.readWrite) {
        problems.push(`${keyPath(["apps", i, "deployKey", "readWrite"])}: app repositories are only read; image automation writes to the config repo`);
      }
    });
  }

  problems.push(...reconcilerProblems(config));
  problems.push(...appSecretsProblems(config));

  if (production) {
    if (reconciler) {
      if (!reconciler.operator.image.includes("@sha256:")) {
        problems.push(`${keyPath(["reconciler", "operator", "image"])}: production needs an image pinned by digest (@sha256:...)`);
      }
    }
    if (storage && !storage.protect) problems.push(`${keyPath(["storage", "protect"])}: production storage must be protected; set it to true`);
  }
  return problems;
}

/**
 * Who may write to Git, and how changes reach an environment branch. Only a non-production stack
 * writes, through its config repo's one read-write key, and only by image automation pushing to its
 * own branch; no ruleset has bypass actors, so that branch reaches the environment branch through a
 * pull request that merges itself once the required checks pass. Production never writes: every key
 * is read-only and new images arrive with the promotion pull request.
 */
function gitWriteProblems(config: Sections): string[] {
  const problems: string[] = [];
  const { github, apps, production } = config;
  const readWrite = keyPath(["github", "configRepo", "deployKey", "readWrite"]);
  if (production && github) {
    if (github.configRepo.deployKey.readWrite) {
      problems.push(`${readWrite}: production keys are read-only: prod never writes to Git (new images arrive with the promotion pull request from staging); set it to false`);
    }
    if (!github.branchProtection.enabled) {
      problems.push(`${keyPath(["github", "branchProtection", "enabled"])}: production's environment branch must be guarded by its ruleset (pull requests, reviews, checks); set it to true`);
    }
    if (github.branchProtection.requiredReviews < 1) {
      problems.push(`${keyPath(["github", "branchProtection", "requiredReviews"])}: production needs at least 1 approving review: the promotion pull request is where prod changes are reviewed`);
    }
  }
  if (production) {
    apps?.forEach((app, i) => {
      if (app.imageAutomation) {
        problems.push(
          `${keyPath(["apps", i, "imageAutomation"])}: production never writes to Git; new tags reach it through the staging → prod promotion pull request, so remove imageAutomation here and set it on the staging stack`,
        );
      }
    });
    return problems;
  }
  if (github && apps) {
    const automated = apps.some((app) => app.imageAutomation !== undefined);
    if (github.configRepo.deployKey.readWrite && !automated) {
      problems.push(`${readWrite}: a read-write key needs image automation on at least one app; set it to false`);
    }
    if (!github.configRepo.deployKey.readWrite && automated) {
      problems.push(`${readWrite}: image automation commits to the config repo and needs a read-write key; set it to true`);
    }
  }
  return problems;
}

/** The SOPS key's principals: in the stack's account, each once; production keeps a deleted key 30 days. */
function appSecretsProblems(config: Sections): string[] {
  const problems: string[] = [];
  const { appSecrets, aws, production, apps } = config;
  if (!appSecrets) return problems;
  if (apps !== undefined && apps.length > 0 && !appSecrets.ciRolesEncrypt && appSecrets.encrypters.length === 0) {
    problems.push(`${keyPath(["appSecrets", "encrypters"])}: nobody could encrypt app secrets; list at least one principal or set appSecrets.ciRolesEncrypt to true`);
  }
  for (const list of ["encrypters", "administrators"] as const) {
    const seen = new Map<string, number>();
    appSecrets[list].forEach((arn, i) => {
      const account = arn.split(":")[4];
      if (aws && account !== aws.accountId) {
        problems.push(`${keyPath(["appSecrets", list, i])}: ${arn} is in account ${account}, not aws.accountId ${aws.accountId}; the key policy names principals of the stack's account only`);
      }
      const j = seen.get(arn);
      if (j !== undefined) problems.push(`${keyPath(["appSecrets", list, i])}: ${arn} is already appSecrets.${list}[${j}]`);
      else seen.set(arn, i);
    });
  }
  if (production && appSecrets.deletionWindowDays < 30) {
    problems.push(`${keyPath(["appSecrets", "deletionWindowDays"])}: production keeps a deleted SOPS key for 30 days (every committed secret depends on it), got ${appSecrets.deletionWindowDays}`);
  }
  return problems;
}

/** Namespaces no app may reconcile into. */
export const RESERVED_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"] as const;

/** Rules of the reconciler section and of the app keys it reads (image automation, tenancy). */
function reconcilerProblems(config: Sections): string[] {
  const problems: string[] = [];
  const { reconciler, apps, github, firewall, environment } = config;
  if (reconciler) problems.push(...operatorProblems(reconciler.operator));
  apps?.forEach((app, i) => problems.push(...extractProblems(app.imageAutomation?.policy, ["apps", i, "imageAutomation", "policy"])));
  apps?.forEach((app, i) => {
    // Automation pushes only to its own branch: the environment branch changes by pull request.
    const push = app.imageAutomation?.pushBranch;
    const branch = github?.configRepo.branch ?? environment;
    if (push !== undefined && push === branch) {
      problems.push(
        `${keyPath(["apps", i, "imageAutomation", "pushBranch"])}: image automation may not push to the environment branch ${JSON.stringify(branch)}; name its own branch (default ${defaultPushBranch(branch)}), whose pull request merges once the checks pass`,
      );
    }
    // Each app reconciles into the namespace of its name; these belong to the platform or Kubernetes.
    const fluxNamespace = reconciler?.namespace ?? "flux-system";
    // The metrics namespace may scrape Flux's controllers (allow-metrics): no app may own it.
    const metricsNamespace = reconciler?.metricsNamespace ?? "monitoring";
    const why =
      app.name === fluxNamespace
        ? "the Flux namespace"
        : app.name === metricsNamespace
          ? "reconciler.metricsNamespace, allowed to scrape Flux"
          : (RESERVED_NAMESPACES as readonly string[]).includes(app.name)
            ? "a Kubernetes system namespace"
            : undefined;
    if (why !== undefined) {
      problems.push(`${keyPath(["apps", i, "name"])}: ${app.name} is reserved (${why}); each app reconciles into the namespace of its name, so pick another`);
    }
  });

  if (reconciler?.webhook !== undefined && github && firewall) {
    if (github.hookCidrs.length === 0) {
      problems.push(`${keyPath(["github", "hookCidrs"])}: required when reconciler.webhook is set: GitHub's hook ranges (api.github.com/meta "hooks") must reach the receiver`);
    }
    github.hookCidrs.forEach((block, i) => {
      const allowed = firewall.ingress.some(
        (rule) =>
          (rule.protocol === "-1" || (rule.protocol === "tcp" && rule.fromPort <= 443 && 443 <= rule.toPort)) &&
          rule.cidrs.some((outer) => cidrContains(outer, block)),
      );
      if (!allowed) {
        problems.push(`${keyPath(["github", "hookCidrs", i])}: ${block} cannot reach the webhook receiver: no firewall.ingress rule allows TCP 443 from it`);
      }
    });
  }
  return problems;
}

function operatorProblems(operator: Schema["reconciler"]["operator"]): string[] {
  const problems: string[] = [];

  // The CRDs come from operator.version's release; an operator of another release would run against them.
  const lastSegment = operator.image.replace(/@sha256:[a-f0-9]{64}$/, "").split("/").pop() ?? "";
  const tag = /:([\w][\w.-]{0,127})$/.exec(lastSegment)?.[1];
  if (tag !== undefined && tag !== operator.version) {
    problems.push(`${keyPath(["reconciler", "operator", "image"])}: tag ${tag} does not match reconciler.operator.version ${operator.version} (the CRDs come from that release)`);
  }

  for (const kind of ["cpu", "memory"] as const) {
    const request = quantityValue(operator.resources.requests[kind]);
    const limit = quantityValue(operator.resources.limits[kind]);
    if (request > limit) {
      problems.push(
        `${keyPath(["reconciler", "operator", "resources", "requests", kind])}: ${operator.resources.requests[kind]} exceeds the limit ${operator.resources.limits[kind]}`,
      );
    }
  }
  return problems;
}

/** Whether an image policy's `extract` names a group of its `pattern`. */
function extractProblems(policy: ImagePolicy | undefined, path: (string | number)[]): string[] {
  const problems: string[] = [];
  if (policy === undefined || !("pattern" in policy)) return problems;
  let groups: string[] = [];
  try {
    // RE2 writes named groups as (?P<name>...); JavaScript only knows (?<name>...).
    const source = policy.pattern.replace(/\(\?P</g, "(?<");
    new RegExp(source);
    groups = [...source.matchAll(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g)].map((m) => m[1] ?? "");
  } catch {
    problems.push(`${keyPath([...path, "pattern"])}: not a valid regular expression: ${JSON.stringify(policy.pattern)}`);
    return problems;
  }
  const referenced = [...policy.extract.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g)].map((m) => m[1] ?? "");
  if (referenced.length === 0) {
    problems.push(`${keyPath([...path, "extract"])}: expected a reference to a named group of the pattern, such as $ts`);
  }
  for (const group of referenced) {
    if (!groups.includes(group)) {
      problems.push(`${keyPath([...path, "extract"])}: $${group} is not a named group of the pattern (write it as (?P<${group}>...))`);
    }
  }
  return problems;
}

const QUANTITY_SUFFIX: Record<string, number> = { "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** The numeric value of a Kubernetes quantity already validated by {@link quantity}. */
export function quantityValue(value: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)([A-Za-z]*)$/.exec(value);
  return Number(match?.[1] ?? NaN) * (QUANTITY_SUFFIX[match?.[2] ?? ""] ?? NaN);
}

/** Whether the CIDR block `outer` contains `inner` (both canonical, same address family). */
export function cidrContains(outer: string, inner: string): boolean {
  const a = cidrBits(outer);
  const b = cidrBits(inner);
  if (a === undefined || b === undefined || a.bits.length !== b.bits.length || a.prefix > b.prefix) return false;
  return a.bits.slice(0, a.prefix) === b.bits.slice(0, a.prefix);
}

function cidrBits(block: string): { bits: string; prefix: number } | undefined {
  if (cidrProblem(block) !== undefined) return undefined;
  const [address = "", prefix = ""] = block.split("/");
  const bits = address.includes(":")
    ? (expandIpv6(address) ?? []).map((g) => g.toString(2).padStart(16, "0")).join("")
    : address
        .split(".")
        .map((o) => Number(o).toString(2).padStart(8, "0"))
        .join("");
  return { bits, prefix: Number(prefix) };
}

function decodeValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** Returns a problem with a CIDR block, or undefined when it is a canonical IPv4/IPv6 block. */
export function cidrProblem(value: string): string | undefined {
  // No leading zeros in the prefix: /00 and /08 are not how AWS or anyone else writes a block.
  const match = /^([^/]+)\/(0|[1-9]\d{0,2})$/.exec(value);
  if (!match) return `expected a CIDR block such as 203.0.113.0/24, got ${JSON.stringify(value)}`;
  const [, address = "", bitsText = ""] = match;
  const bits = Number(bitsText);
  if (address.includes(":")) {
    const groups = expandIpv6(address);
    if (!groups) return `expected a CIDR block such as 2001:db8::/32, got ${JSON.stringify(value)}`;
    if (bits > 128) return `prefix length must be 0 to 128 in ${value}`;
    const bin = groups.map((g) => g.toString(2).padStart(16, "0")).join("");
    if (/1/.test(bin.slice(bits))) return `host bits set in ${value}; use the network address`;
    // ::ffff:0:0/96 spells the whole IPv4 internet in IPv6 and would slip past the width check.
    if (bits >= 96 && bin.slice(0, 96) === `${"0".repeat(80)}${"1".repeat(16)}`) {
      return `${value} is an IPv4-mapped IPv6 block; write IPv4 blocks as IPv4 (e.g. 203.0.113.0/24)`;
    }
    return undefined;
  }
  const octets = address.split(".");
  if (octets.length !== 4 || octets.some((o) => !/^(0|[1-9]\d{0,2})$/.test(o) || Number(o) > 255)) {
    return `expected a CIDR block such as 203.0.113.0/24, got ${JSON.stringify(value)}`;
  }
  if (bits > 32) return `prefix length must be 0 to 32 in ${value}`;
  const bin = octets.map((o) => Number(o).toString(2).padStart(8, "0")).join("");
  if (/1/.test(bin.slice(bits))) return `host bits set in ${value}; use the network address`;
  return undefined;
}

function expandIpv6(address: string): number[] | undefined {
  if (!/^[0-9a-fA-F:]+$/.test(address) || address.split("::").length > 2) return undefined;
  const [head = "", tail] = address.split("::");
  const parse = (part: string) => (part === "" ? [] : part.split(":"));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const groups = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...right];
  if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => parseInt(g, 16));
}

/**
 * Reads this stack's config from the Pulumi runtime and validates it. The one place the program
 * touches `pulumi.Config`-level state.
 */
export function readConfig(): PlatformConfig {
  const values = pulumi.runtime.allConfig();
  const secretKeys = Object.keys(values).filter((key) => isConfigSecret(key));
  return parseConfig({ stack: pulumi.getStack(), values, secretKeys, refuseExamples: !runsUnderMocks() });
}

/**
 * Whether the program runs under Pulumi's mock runtime (`pulumi.runtime.setMocks`: the offline
 * engine, unit tests) rather than against a real engine. Not a setting anyone can put in config:
 * the CLI's language host always connects the program to its resource monitor over gRPC
 * (`PULUMI_NODEJS_MONITOR`), and only `setMocks` installs a MockMonitor.
 */
export function runsUnderMocks(): boolean {
  return pulumi.runtime.getMonitor() instanceof MockMonitor;
}

// The SDK knows which keys were stored as secrets (PULUMI_CONFIG_SECRET_KEYS) but exports the
// check only at run time, not in its typings; a plaintext token must be refused, so we ask it.
function isConfigSecret(key: string): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (k: string) => boolean };
  if (typeof runtimeConfig.isConfigSecret !== "function") {
    throw new Error("@pulumi/pulumi no longer exposes runtime.config.isConfigSecret; cannot tell secret config from plaintext");
  }
  return runtimeConfig.isConfigSecret(key);
}
