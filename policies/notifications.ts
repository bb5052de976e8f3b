/**
 * Notifications: every environment reports what its reconciler did, and nothing is reported over
 * plain HTTP.
 *
 * Flux objects are read as notification-controller reads them (v1.7.4, api/v1beta3): an Alert
 * selects events by `spec.eventSources` (kind, name or `*`, namespace defaulting to the Alert's)
 * and severity (`info`, the default, passes every event; `error` only errors), and sends them to
 * the Provider `spec.providerRef.name` in its own namespace. A `github` Provider writes commit
 * statuses to the repository of `spec.address`. A Provider's Secret (`spec.secretRef`) may carry
 * `address` and `proxy` keys, which override `spec.address` and `spec.proxy`.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { dependsVia, list, q, record, str, UNKNOWN, Unknowns } from "./support";
import { gitSources, githubRepoOfUrl, isFluxInstance, kubernetesKind, objectMeta } from "./k8s-objects";
import { GITHUB_SSH_HOST } from "./vocabulary";

const isKustomization = kubernetesKind("kustomize.toolkit.fluxcd.io", "Kustomization");
const isAlert = kubernetesKind("notification.toolkit.fluxcd.io", "Alert");
const isProvider = kubernetesKind("notification.toolkit.fluxcd.io", "Provider");
const SECRET = "kubernetes:core/v1:Secret";

/** A Kustomization that applies commits of a GitHub repository. */
interface Reconciled {
  readonly resource: PolicyResource;
  readonly label: string;
  readonly name: string;
  readonly namespace?: string;
  readonly repo: string;
}

/** The environment syncs (FluxInstance) and declared Kustomizations whose source is a GitHub repository of the stack. */
function reconciledFromGitHub(resources: readonly PolicyResource[]): Reconciled[] {
  const sources = gitSources(resources);
  const out: Reconciled[] = [];
  for (const source of sources) {
    if (!isFluxInstance(source.resource.type) || source.name === undefined || source.url === undefined) continue;
    const repo = githubRepoOfUrl(source.url);
    // The operator names the sync Kustomization like its GitRepository.
    if (repo) out.push({ resource: source.resource, label: `the environment sync ${q(source.name)}`, name: source.name, repo, ...(source.namespace ? { namespace: source.namespace } : {}) });
  }
  for (const resource of resources.filter((r) => isKustomization(r.type))) {
    const meta = objectMeta(resource);
    if (meta.name === undefined) continue;
    const ref = Unknowns.peek(() => record(record(resource.props.spec)?.sourceRef)) ?? {};
    if ((Unknowns.peek(() => str(ref.kind)) ?? "GitRepository") !== "GitRepository") continue;
    const refName = Unknowns.peek(() => str(ref.name));
    const refNamespace = Unknowns.peek(() => str(ref.namespace)) ?? meta.namespace;
    const source = sources.find(
      (candidate) =>
        !isFluxInstance(candidate.resource.type) &&
        ((refName !== undefined && candidate.name === refName && (refNamespace === undefined || candidate.namespace === undefined || candidate.namespace === refNamespace)) ||
          (refName === undefined && dependsVia(resource, "spec", candidate.resource))),
    );
    const repo = source?.url === undefined ? undefined : githubRepoOfUrl(source.url);
    if (repo) out.push({ resource, label: `Kustomization ${q(meta.name)}`, name: meta.name, repo, ...(meta.namespace ? { namespace: meta.namespace } : {}) });
  }
  return out;
}

/**
 * Objects without metadata.namespace land in the Kubernetes provider's default namespace
 * ("default" unless the provider sets another; the pack does not see that setting, so it assumes
 * "default") — never "any namespace".
 */
const namespaceOf = (namespace: string | undefined) => namespace ?? "default";
const sameNamespace = (a: string | undefined, b: string | undefined) => namespaceOf(a) === namespaceOf(b);

/** A key of a Secret's stringData, else its base64 data; undefined when absent (unknown values throw, as props do). */
function secretValue(secret: PolicyResource, key: string): string | undefined {
  const stringData = record(secret.props.stringData);
  const plain = str(stringData?.[key]);
  if (plain !== undefined) return plain;
  const encoded = str(record(secret.props.data)?.[key]);
  return encoded === undefined ? undefined : Buffer.from(encoded, "base64").toString("utf8");
}

/** Whether a Secret has a key, in stringData or data. */
function secretHas(secret: PolicyResource, key: string): boolean {
  return record(secret.props.stringData)?.[key] !== undefined || record(secret.props.data)?.[key] !== undefined;
}

/** The Secret a Provider's `spec.<field>.name` names, in the Provider's namespace, when the stack declares it. */
function referencedSecret(provider: PolicyResource, secrets: readonly PolicyResource[], field: "secretRef" | "proxySecretRef", unknowns: Unknowns): PolicyResource | undefined {
  const name = unknowns.read(() => str(record(record(provider.props.spec)?.[field])?.name));
  return secrets.find(
    (candidate) =>
      sameNamespace(objectMeta(candidate).namespace, objectMeta(provider).namespace) &&
      ((name !== UNKNOWN && name !== undefined && objectMeta(candidate).name === name) || (name === UNKNOWN && dependsVia(provider, "spec", candidate))),
  );
}

/** Commit status: the environment sync and every app Kustomization report to their commits. */
export const fluxCommitStatusAlerts: StackValidationPolicy = {
  name: "flux-commit-status-alerts",
  description:
    "Every environment reports each reconcile to GitHub as a commit status: the environment sync and every Kustomization pulled from a GitHub repository have an Alert (info severity, no inclusion or exclusion list, in the same namespace) to a github Provider with a credential for that repository.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const unknowns = new Unknowns();
    const providers = args.resources.filter((r) => isProvider(r.type));
    const alerts = args.resources.filter((r) => isAlert(r.type));
    const secrets = args.resources.filter((r) => r.type === SECRET);
    for (const target of reconciledFromGitHub(args.resources)) {
      let reported = false;
      for (const alert of alerts) {
        const meta = objectMeta(alert);
        if (!sameNamespace(meta.namespace, target.namespace)) continue;
        const spec = unknowns.read(() => record(alert.props.spec) ?? {});
        if (spec === UNKNOWN) continue;
        // filterAlertsForEvent (v1.7.4 internal/server/event_handlers.go) drops an event whose message
        // misses the inclusionList or matches the exclusionList; a commit status must see every
        // reconcile, so an Alert that filters messages does not count.
        const selects = unknowns.read(
          () =>
            spec.suspend !== true &&
            list(spec.inclusionList).length === 0 &&
            list(spec.exclusionList).length === 0 &&
            (str(spec.eventSeverity) ?? "info") === "info" &&
            list(spec.eventSources).some((raw) => {
              const source = record(raw) ?? {};
              return str(source.kind) === "Kustomization" && (source.name === target.name || source.name === "*") && sameNamespace(str(source.namespace) ?? meta.namespace, target.namespace);
            }),
        );
        if (selects !== true) continue;
        const providerName = unknowns.read(() => str(record(spec.providerRef)?.name));
        const provider = providers.find(
          (candidate) =>
            sameNamespace(objectMeta(candidate).namespace, meta.namespace) &&
            ((providerName !== UNKNOWN && providerName !== undefined && objectMeta(candidate).name === providerName) || (providerName === UNKNOWN && dependsVia(alert, "spec", candidate))),
        );
        if (provider === undefined) continue;
        // getNotificationParams: the Secret's `address` overrides spec.address; a github Provider
        // needs a `token` (or `password`) or GitHub App details (`githubAppID`) in that Secret, else
        // getRepoInfoAndGithubClient fails ("github token or github app details must be specified").
        const credentials = referencedSecret(provider, secrets, "secretRef", unknowns);
        const writes = unknowns.read(() => {
          const providerSpec = record(provider.props.spec) ?? {};
          if (providerSpec.type !== "github" || providerSpec.suspend === true || record(providerSpec.secretRef) === undefined) return false;
          const address = (credentials !== undefined ? secretValue(credentials, "address")?.trim() : undefined) ?? str(providerSpec.address);
          const credentialed = credentials === undefined || ["token", "password", "githubAppID"].some((key) => secretHas(credentials, key));
          return credentialed && address !== undefined && githubRepoOfUrl(address) === target.repo;
        });
        if (writes === true) reported = true;
      }
      if (!reported) {
        reportViolation(
          `${target.label} (${target.repo}) has no commit-status alert; declare a github Provider with address https://${GITHUB_SSH_HOST}/${target.repo} and an Alert with eventSeverity info on Kustomization ${q(target.name)}`,
          target.resource.urn,
        );
      }
    }
    unknowns.rethrow();
  },
};

/** The scheme of a URL-like value (`http`, `https`), or undefined when it has none. */
function schemeOf(value: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(value.trim())?.[1]?.toLowerCase();
}

/** Whether a URL carries user:password@. */
function hasUserInfo(value: string): boolean {
  try {
    const url = new URL(value.trim());
    return url.username !== "" || url.password !== "";
  } catch {
    return false;
  }
}

/**
 * Where a Provider type sends, when not to an https:// URL of its address: NATS dials its address
 * with nats.go, which insists on TLS only for `tls://` (or `wss://`) URLs (nats.go v1.46.1
 * connect: "Scheme hint to move to TLS mode"); telegram posts to the fixed
 * https://api.telegram.org (v1.7.4 internal/notifier/telegram.go) and ignores the address;
 * googlepubsub and azureeventhub take a project id or a connection string.
 */
const SECURE_SCHEMES: Record<string, readonly string[]> = { nats: ["tls", "wss"] };
const ADDRESS_NOT_A_URL = ["googlepubsub", "azureeventhub", "telegram"];

/**
 * Alert destinations over TLS only. A proxy may be plain http://: an https:// destination is
 * tunnelled through it with CONNECT, end to end; but proxy credentials would cross in the clear.
 */
export const notificationHttpsOnly: StackValidationPolicy = {
  name: "notification-https-only",
  description:
    "Notification Providers send over TLS only: spec.address and the address key of their Secret use https:// (NATS: tls:// or wss://); a proxy (spec.proxy, the Secret's proxy key, spec.proxySecretRef) may be http://, but not with credentials.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const unknowns = new Unknowns();
    const secrets = args.resources.filter((r) => r.type === SECRET);
    for (const provider of args.resources.filter((r) => isProvider(r.type))) {
      const meta = objectMeta(provider);
      const label = `Provider ${q(meta.name ?? provider.name)}`;
      const spec = unknowns.read(() => record(provider.props.spec) ?? {});
      if (spec === UNKNOWN) continue;
      const type = unknowns.read(() => str(spec.type));
      if (type === UNKNOWN) continue;
      const secure = SECURE_SCHEMES[type ?? ""] ?? ["https"];
      const checkAddress = (where: string, value: string | undefined | typeof UNKNOWN) => {
        if (value === UNKNOWN || value === undefined || ADDRESS_NOT_A_URL.includes(type ?? "")) return;
        const scheme = schemeOf(value);
        // Only the scheme is named: an address may carry a credential (Slack and Teams URLs do).
        if (scheme !== undefined && !secure.includes(scheme)) {
          reportViolation(`${label} ${where} uses ${scheme}://; alert destinations must use ${secure.map((s) => `${s}://`).join(" or ")}`, provider.urn);
        }
      };
      const checkProxy = (where: string, value: string | undefined | typeof UNKNOWN, credentials = false) => {
        if (value === UNKNOWN || value === undefined) return;
        const scheme = schemeOf(value);
        if (scheme === "http" && (credentials || hasUserInfo(value))) {
          reportViolation(`${label} ${where} is an http:// proxy with credentials, which would cross in the clear; use an https:// proxy or none`, provider.urn);
        }
      };
      checkAddress("spec.address", unknowns.read(() => str(spec.address)));
      checkProxy("spec.proxy", unknowns.read(() => str(spec.proxy)));
      const secret = referencedSecret(provider, secrets, "secretRef", unknowns);
      if (secret !== undefined) {
        const secretLabel = `Secret ${q(objectMeta(secret).name ?? secret.name)}`;
        checkAddress(`address (from ${secretLabel})`, unknowns.read(() => secretValue(secret, "address")));
        checkProxy(`proxy (from ${secretLabel})`, unknowns.read(() => secretValue(secret, "proxy")));
      }
      // spec.proxySecretRef: address, and optional username/password (fluxcd/pkg runtime/secrets ProxyURLFromSecret).
      const proxySecret = referencedSecret(provider, secrets, "proxySecretRef", unknowns);
      if (proxySecret !== undefined) {
        const secretLabel = `Secret ${q(objectMeta(proxySecret).name ?? proxySecret.name)}`;
        const credentials = unknowns.read(() => secretHas(proxySecret, "username") || secretHas(proxySecret, "password"));
        checkProxy(`proxy (from ${secretLabel})`, unknowns.read(() => secretValue(proxySecret, "address")), credentials === true);
      }
    }
    unknowns.rethrow();
  },
};

/** The notification rules. */
export const notificationPolicies = [fluxCommitStatusAlerts, notificationHttpsOnly];
