/**
 * Where a Kubernetes object carries a pod: every kind with a pod or a pod template, however the
 * program declares it — the typed resources of every API version, their `*Patch` resources, a
 * core kind declared through `apiextensions.CustomResource` (whose type token is
 * `kubernetes:<apiVersion>:<kind>`, so `kubernetes:v1:Pod`), and objects given inline to a
 * `yaml/v2` ConfigGroup or ConfigFile. No policy is defined here.
 */
import type { PolicyResource } from "@pulumi/policy";
import { loadAll } from "js-yaml";
import { list, record, str, type Props } from "./support";

/** Kinds that carry a pod, by API group (`core` for the core group), and where their pod spec sits. */
const POD_KINDS: Record<string, { readonly groups: readonly string[]; readonly template: (object: Props) => Props | undefined }> = {
  Pod: { groups: ["core"], template: (object) => object },
  PodTemplate: { groups: ["core"], template: (object) => record(object.template) },
  ReplicationController: { groups: ["core"], template: (object) => record(record(object.spec)?.template) },
  Deployment: { groups: ["apps", "extensions"], template: (object) => record(record(object.spec)?.template) },
  StatefulSet: { groups: ["apps"], template: (object) => record(record(object.spec)?.template) },
  DaemonSet: { groups: ["apps", "extensions"], template: (object) => record(record(object.spec)?.template) },
  ReplicaSet: { groups: ["apps", "extensions"], template: (object) => record(record(object.spec)?.template) },
  Job: { groups: ["batch"], template: (object) => record(record(object.spec)?.template) },
  CronJob: { groups: ["batch"], template: (object) => record(record(record(record(object.spec)?.jobTemplate)?.spec)?.template) },
};

const MANIFEST_TYPES = ["kubernetes:yaml/v2:ConfigGroup", "kubernetes:yaml/v2:ConfigFile"];

/** A pod (or pod template) an object carries. */
export interface PodTemplate {
  /** `Deployment "web"` for objects inside a ConfigGroup; empty for the resource itself. */
  readonly object: string;
  /** Why the objects could not be read (inline YAML that does not parse); nothing else is set then. */
  readonly unreadable?: string;
  /** Why the objects are not visible to a policy (files the run has not registered); nothing else is set then. */
  readonly unseen?: string;
  /** The pod's (template's) metadata. */
  readonly metadata: Props;
  /** The pod spec. */
  readonly spec: Props;
  /**
   * A `*Patch` resource: it changes only the fields it names, so a field it leaves out keeps the
   * live object's value and cannot be judged; only the values it sets are.
   */
  readonly patch: boolean;
}

/** The kind of a type token or `apiVersion` + `kind`, when it carries a pod. */
export function podKind(apiVersion: string, kind: string): { kind: string; patch: boolean } | undefined {
  const patch = kind.endsWith("Patch") && POD_KINDS[kind] === undefined;
  const base = patch ? kind.slice(0, -"Patch".length) : kind;
  const entry = POD_KINDS[base];
  if (!entry) return undefined;
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 || apiVersion.startsWith("core/") ? "core" : apiVersion.slice(0, slash);
  return entry.groups.includes(group) ? { kind: base, patch } : undefined;
}

function templateOf(kind: string, object: Props): PodTemplate | undefined {
  const template = POD_KINDS[kind]?.template(object);
  if (template === undefined) return undefined;
  return { object: "", metadata: record(template.metadata) ?? {}, spec: record(template.spec) ?? {}, patch: false };
}

/**
 * The pods a resource carries: its own (for a pod kind), or those of the objects given inline
 * (`objs`, `yaml`) to a yaml/v2 ConfigGroup or ConfigFile — unless the objects are registered as
 * the resource's children, which are then judged on their own.
 */
export function podTemplatesOf(type: string, props: Props, hasChildren = false): PodTemplate[] {
  const token = /^kubernetes:(.+):([^:]+)$/.exec(type);
  if (token && !MANIFEST_TYPES.includes(type)) {
    const found = podKind(token[1] ?? "", token[2] ?? "");
    if (!found) return [];
    const template = templateOf(found.kind, props);
    return template ? [{ ...template, patch: found.patch }] : [];
  }
  if (!MANIFEST_TYPES.includes(type) || hasChildren) return [];
  const objects: unknown[] = [...list(props.objs)];
  const templates: PodTemplate[] = [];
  // Files (ConfigFile's `file`, ConfigGroup's `files`) are read by the provider, which registers their
  // objects as children; a run without those children shows the policy nothing to judge.
  const files = [...list(props.file), ...list(props.files)].filter((file): file is string => typeof file === "string");
  if (files.length > 0) {
    templates.push({
      object: files.map((file) => JSON.stringify(file)).join(", "),
      metadata: {},
      spec: {},
      patch: false,
      unseen: `${files.length === 1 ? "is" : "are"} read by the provider and ${files.length === 1 ? "its" : "their"} objects are not registered in this run, so their pods cannot be checked here`,
    });
  }
  list(props.yaml).forEach((text, index) => {
    if (typeof text !== "string") return;
    try {
      objects.push(...loadAll(text));
    } catch (error) {
      // The provider would refuse it too; say so rather than pass objects nobody could read.
      const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
      templates.push({ object: `yaml[${index}]`, metadata: {}, spec: {}, patch: false, unreadable: `does not parse (${reason}), so its objects cannot be checked` });
    }
  });
  for (const raw of objects.flatMap((object) => (str(record(object)?.kind) === "List" ? list(record(object)?.items) : [object]))) {
    const object = record(raw);
    const found = podKind(str(object?.apiVersion) ?? "", str(object?.kind) ?? "");
    if (!object || !found) continue;
    const template = templateOf(found.kind, object);
    const name = str(record(object.metadata)?.name) ?? "(unnamed)";
    if (template) templates.push({ ...template, object: `${found.kind} ${JSON.stringify(name)}`, patch: false });
  }
  return templates;
}

/** True when any resource of the stack names `resource` as its parent. */
export function hasChildren(resources: readonly PolicyResource[], resource: PolicyResource): boolean {
  return resources.some((other) => other.parent?.urn === resource.urn);
}
