/**
 * Helpers shared by the rule modules for Kubernetes objects in the stack: workload pod specs and
 * their containers, object metadata, Kubernetes and Flux kinds, Flux Git sources and image
 * automations. No policy is defined here; property-reading helpers are in ./support.
 */
import type { PolicyResource } from "@pulumi/policy";
import { escapeRegex, list, record, str, Unknowns, type Props } from "./support";
import { GITHUB_SSH_HOST } from "./vocabulary";

/** Workload types whose pod template the Kubernetes rules check. */
export const WORKLOAD_TYPES = ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet"] as const;

/** A container of a pod template with where it sits. */
export interface Container {
  readonly name: string;
  readonly init: boolean;
  readonly spec: Props;
}

/** The pod spec of a workload's template. */
export function podSpec(props: Props): Props {
  return record(record(record(props.spec)?.template)?.spec) ?? {};
}

/** Containers and init containers of a pod spec. */
export function containers(pod: Props): Container[] {
  const out: Container[] = [];
  for (const [key, init] of [
    ["initContainers", true],
    ["containers", false],
  ] as const) {
    list(pod[key]).forEach((raw, index) => {
      const spec = record(raw) ?? {};
      out.push({ name: str(spec.name) ?? `${key}[${index}]`, init, spec });
    });
  }
  return out;
}

/** `metadata.name` and `metadata.namespace` of a Kubernetes object, where known. */
export function objectMeta(resource: PolicyResource): { name?: string; namespace?: string } {
  const meta = Unknowns.peek(() => record(resource.props.metadata)) ?? {};
  const name = Unknowns.peek(() => str(meta.name));
  const namespace = Unknowns.peek(() => str(meta.namespace));
  return { ...(name !== undefined ? { name } : {}), ...(namespace !== undefined ? { namespace } : {}) };
}

/** Matches a Kubernetes custom resource type token by group and kind, any version. */
export function kubernetesKind(group: string, kind: string): (type: string) => boolean {
  const regex = new RegExp(`^kubernetes:${escapeRegex(group)}/[^:]+:${escapeRegex(kind)}$`);
  return (type) => regex.test(type);
}

/** Flux and Flux Operator kinds the rules join on. */
export const isGitRepository = kubernetesKind("source.toolkit.fluxcd.io", "GitRepository");
export const isImageUpdateAutomation = kubernetesKind("image.toolkit.fluxcd.io", "ImageUpdateAutomation");
export const isFluxInstance = kubernetesKind("fluxcd.controlplane.io", "FluxInstance");

/** A git URL of a GitHub repository (scheme dropped: ssh://, scp-like or https), its owner and name captured. */
const GITHUB_REPO_URL = new RegExp(String.raw`^(?:ssh:\/\/)?(?:[\w.-]+@)?${escapeRegex(GITHUB_SSH_HOST)}[:/](?:\d+\/)?([\w.-]+)\/([\w.-]+?)(?:\.git)?\/?$`, "i");

/** `owner/name` of a GitHub repository from a git URL (ssh://, scp-like or https), lower-cased. */
export function githubRepoOfUrl(url: string): string | undefined {
  const match = GITHUB_REPO_URL.exec(url.replace(/^https?:\/\//i, ""));
  if (!match) return undefined;
  return `${match[1]}/${match[2]}`.toLowerCase();
}

/**
 * A Flux Git source: a declared GitRepository, or the one the Flux Operator creates for a
 * FluxInstance's `spec.sync` (named `spec.sync.name`, else after the instance's namespace).
 */
export interface GitSource {
  readonly resource: PolicyResource;
  readonly name?: string;
  readonly namespace?: string;
  readonly url?: string;
  /** The branch it checks out, where it names one. */
  readonly branch?: string;
  /** The Secret holding its credentials. */
  readonly secretName?: string;
}

function defined<T extends object>(entries: T): T {
  return Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined)) as T;
}

/** Every Git source of the stack, where their fields are known. */
export function gitSources(resources: readonly PolicyResource[]): GitSource[] {
  const sources: GitSource[] = [];
  for (const resource of resources) {
    const meta = objectMeta(resource);
    const spec = Unknowns.peek(() => record(resource.props.spec)) ?? {};
    if (isGitRepository(resource.type)) {
      sources.push(
        defined({
          resource,
          name: meta.name,
          namespace: meta.namespace,
          url: Unknowns.peek(() => str(spec.url)),
          branch: Unknowns.peek(() => str(record(spec.ref)?.branch)),
          secretName: Unknowns.peek(() => str(record(spec.secretRef)?.name)),
        }),
      );
    } else if (isFluxInstance(resource.type)) {
      const sync = Unknowns.peek(() => record(spec.sync));
      if (!sync || (Unknowns.peek(() => str(sync.kind)) ?? "GitRepository") !== "GitRepository") continue;
      const ref = Unknowns.peek(() => str(sync.ref));
      sources.push(
        defined({
          resource,
          name: Unknowns.peek(() => str(sync.name)) ?? meta.namespace,
          namespace: meta.namespace,
          url: Unknowns.peek(() => str(sync.url)),
          branch: ref === undefined ? undefined : ref.startsWith("refs/heads/") ? ref.slice("refs/heads/".length) : ref.startsWith("refs/") ? undefined : ref,
          secretName: Unknowns.peek(() => str(sync.pullSecret)),
        }),
      );
    }
  }
  return sources;
}

/** An image automation and the Git source it writes to, where declared in the stack. */
export interface Automation {
  readonly resource: PolicyResource;
  readonly source?: GitSource;
}

/** Resolves each ImageUpdateAutomation's `spec.sourceRef` to a Git source of the stack. */
export function imageAutomations(resources: readonly PolicyResource[]): Automation[] {
  const sources = gitSources(resources);
  return resources
    .filter((r) => isImageUpdateAutomation(r.type))
    .map((resource) => {
      const meta = objectMeta(resource);
      const ref = Unknowns.peek(() => record(record(resource.props.spec)?.sourceRef)) ?? {};
      const refName = Unknowns.peek(() => str(ref.name));
      const refKind = Unknowns.peek(() => str(ref.kind)) ?? "GitRepository";
      const refNamespace = Unknowns.peek(() => str(ref.namespace)) ?? meta.namespace;
      const source =
        refKind === "GitRepository"
          ? sources.find(
              (candidate) =>
                candidate.name === refName && (refNamespace === undefined || candidate.namespace === undefined || candidate.namespace === refNamespace),
            )
          : undefined;
      return { resource, ...(source ? { source } : {}) };
    });
}
