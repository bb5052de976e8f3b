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
import {
  dependsVia,
  gitSources,
  githubRepoOfUrl,
  isFluxInstance,
  kubernetesKind,
  list,
  objectMeta,
  q,
  record,
  str,
  UNKNOWN,
  Unknowns,
} from "./support";

const isKustomization = kubernetesKind("kustomize.toolkit.fluxcd.io", "Kustomization");
const isAlert = kubernetesKind("notification.toolkit.fluxcd.io", "Alert");
const isProvider = kubernetesKind("notification.toolkit.fluxcd.io", "Provider");
const SECRET = "kubernetes:core/v1:Secret";

/** Provider types that do not post to an HTTP(S) URL: a project id, a connection string, a NATS server, or no address at all. */
const NON_HTTP_TYPES = ["googlepubsub", "azureeventhub", "nats", "telegram"];

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

const sameNamespace = (a: string | undefined, b: string | undefined) => a === undefined || b === undefined || a === b;

/** Commit status: the environment sync and every app Kustomization report to their commits. */
export const fluxCommitStatusAlerts: StackValidationPolicy = {
  name: "flux-commit-status-alerts",
  description:
    "Every environment reports each reconcile to GitHub as a commit status: the environment sync and every Kustomization pulled from a GitHub repository have an Alert (info severity) to a github Provider for that repository.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const unknowns = new Unknowns();
    const providers = args.resources.filter((r) => isProvider(r.type));
    const alerts = args.resources.filter((r) => isAlert(r.type));
    for (const target of reconciledFromGitHub(args.resources)) {
      let reported = false;
      for (const alert of alerts) {
        const meta = objectMeta(alert);
        if (!sameNamespace(meta.namespace, target.namespace)) continue;
        const spec = unknowns.read(() => record(alert.props.spec) ?? {});
        if (spec === UNKNOWN) continue;
        const selects = unknowns.read(
          () =>
            spec.suspend !== true &&
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
        const writes = unknowns.read(() => {
          const providerSpec = record(provider.props.spec) ?? {};
          const address = str(providerSpec.address);
          return providerSpec.type === "github" && providerSpec.suspend !== true && address !== undefined && githubRepoOfUrl(address) === target.repo;
        });
        if (writes === true) reported = true;
      }
      if (!reported) {
        reportViolation(
          `${target.label} (${target.repo}) has no commit-status alert; declare a github Provider with address https://github.com/${target.repo} and an Alert with eventSeverity info on Kustomization ${q(target.name)}`,
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

/** A key of a Secret's stringData, else its base64 data; undefined when absent. */
function secretValue(secret: PolicyResource, key: string): string | undefined {
  const stringData = record(secret.props.stringData);
  const plain = str(stringData?.[key]);
  if (plain !== undefined) return plain;
  const encoded = str(record(secret.props.data)?.[key]);
  return encoded === undefined ? undefined : Buffer.from(encoded, "base64").toString("utf8");
}

/** HTTPS only: no alert destination or proxy over plain HTTP. */
export const notificationHttpsOnly: StackValidationPolicy = {
  name: "notification-https-only",
  description:
    "Notification Providers that post over HTTP use https:// only: spec.address, spec.proxy and the address and proxy keys of their Secret never use http:// or another scheme.",
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
      if (type === UNKNOWN || (type !== undefined && NON_HTTP_TYPES.includes(type))) continue;
      const check = (where: string, value: string | undefined | typeof UNKNOWN) => {
        if (value === UNKNOWN || value === undefined) return;
        const scheme = schemeOf(value);
        // Only the scheme is named: an address may carry a credential (Slack and Teams URLs do).
        if (scheme !== undefined && scheme !== "https") reportViolation(`${label} ${where} uses ${scheme}://; alert destinations must use https://`, provider.urn);
      };
      check("spec.address", unknowns.read(() => str(spec.address)));
      check("spec.proxy", unknowns.read(() => str(spec.proxy)));
      const secretName = unknowns.read(() => str(record(spec.secretRef)?.name));
      const secret = secrets.find(
        (candidate) =>
          sameNamespace(objectMeta(candidate).namespace, meta.namespace) &&
          ((secretName !== UNKNOWN && secretName !== undefined && objectMeta(candidate).name === secretName) || (secretName === UNKNOWN && dependsVia(provider, "spec", candidate))),
      );
      if (secret === undefined) continue;
      const secretLabel = `Secret ${q(objectMeta(secret).name ?? secret.name)}`;
      check(`address (from ${secretLabel})`, unknowns.read(() => secretValue(secret, "address")));
      check(`proxy (from ${secretLabel})`, unknowns.read(() => secretValue(secret, "proxy")));
    }
    unknowns.rethrow();
  },
};

/** The notification rules. */
export const notificationPolicies = [fluxCommitStatusAlerts, notificationHttpsOnly];
