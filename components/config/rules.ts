/**
 * The rules of the stack contract that span several keys (and the notification secrets' content).
 * Each rule runs on the sections that parsed, so one bad section never hides another's problems;
 * every message names the key to change.
 */
import * as crypto from "node:crypto";
import { imageParts, pinnedByDigest, splitRepository } from "../../policies/vocabulary";
import { OFFLINE_SECRET } from "../offline-secret";
import { cidrContains, quantityValue } from "./formats";
import { goRegexp } from "./go-regexp";
import { configSchema, defaultPushBranch, NOTIFICATION_SECRET_KEYS, notificationsSection, RECONCILER_DEFAULTS, type ImagePolicy } from "./schema";
import { keyPath, PROJECT, structuredKind, type RawConfig, type Schema } from "./values";

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
export function notificationProblems(raw: RawConfig, section: unknown): string[] {
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

/** The top-level sections that parsed on their own; cross-key rules use what is there. */
type Sections = Partial<Schema>;

export function parseSections(input: Record<string, unknown>): Sections {
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
export function crossFieldProblems(config: Sections, stack: string): string[] {
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
      const repoOwner = splitRepository(repo).owner ?? "";
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
      if (!pinnedByDigest(reconciler.operator.image)) {
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
 * pull request that merges itself once the required checks pass and a reviewer approved it. Production
 * never writes: every key is read-only and new images arrive with the promotion pull request.
 */
function gitWriteProblems(config: Sections): string[] {
  const problems: string[] = [];
  const { github, apps, production } = config;
  const readWrite = keyPath(["github", "configRepo", "deployKey", "readWrite"]);
  if (production && github?.configRepo.deployKey.readWrite) {
    problems.push(`${readWrite}: production keys are read-only: prod never writes to Git (new images arrive with the promotion pull request from staging); set it to false`);
  }
  // Every environment, not only production: a merge into any environment branch runs its deploy job,
  // which holds the deploy App key, and that key administers the config repository (rulesets,
  // deploy keys, Actions settings) of every environment. An environment branch anyone with write
  // access can change without review would hand that key, and with it production, to all of them.
  if (github) {
    const reach = "its deploy job holds the deploy App key, which administers the config repository's rulesets and so every environment";
    if (!github.branchProtection.enabled) {
      problems.push(`${keyPath(["github", "branchProtection", "enabled"])}: every environment branch must be guarded by its ruleset (pull requests, reviews, checks): ${reach}; set it to true`);
    }
    if (github.branchProtection.requiredReviews < 1) {
      problems.push(
        production
          ? `${keyPath(["github", "branchProtection", "requiredReviews"])}: production needs at least 1 approving review: the promotion pull request is where prod changes are reviewed`
          : `${keyPath(["github", "branchProtection", "requiredReviews"])}: every environment branch needs at least 1 approving review: ${reach}`,
      );
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
    const fluxNamespace = reconciler?.namespace ?? RECONCILER_DEFAULTS.namespace;
    // The metrics namespace may scrape Flux's controllers (allow-metrics): no app may own it.
    const metricsNamespace = reconciler?.metricsNamespace ?? RECONCILER_DEFAULTS.metricsNamespace;
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
  const { tag } = imageParts(operator.image);
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
  const go = goRegexp(policy.pattern);
  if ("problem" in go) {
    problems.push(`${keyPath([...path, "pattern"])}: not a regular expression Flux (Go's regexp) accepts: ${go.problem}`);
    return problems;
  }
  try {
    const source = go.source;
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
