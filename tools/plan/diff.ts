/**
 * What a preview against a stack deployed from another revision would show: the two offline plans
 * compared resource by resource (by URN) and property by property. Secrets stay masked: a changed
 * secret shows as `[secret] → [secret]`.
 */
import { isUnknown, joinPath, mask, type PlanResult, type RecordedResource } from "../engine";
import { replacementOf } from "./replacement";
import { SECRET_MASK } from "../../policies/vocabulary";

/** How a resource changes. */
export type ChangeKind = "create" | "update" | "may-replace" | "replace" | "delete";

/** One changed input. Values are masked (`[secret]`, `[unknown]`); absent sides are omitted. */
export interface PropertyChange {
  readonly path: string;
  readonly before?: unknown;
  readonly after?: unknown;
  /** true: forces a replacement; false: updated in place; null: not known offline. */
  readonly replaces: boolean | null;
  readonly reason: string;
  /**
   * For a value unknown on both sides: the created or replaced resources it is computed from, by
   * name. Their new outputs change it, though offline both sides read `[unknown]`.
   */
  readonly computedFrom?: string[];
}

export interface ResourceChange {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly change: ChangeKind;
  /** A replacement deletes the old resource first (the `deleteBeforeReplace` option). */
  readonly deleteBeforeReplace?: boolean;
  readonly properties: PropertyChange[];
}

export interface PlanDiff {
  /** The revision compared against, as the user named it. */
  readonly base: string;
  /** Changed resources: the working tree's in registration order, then deletions in the base's order. */
  readonly changes: ResourceChange[];
  readonly unchanged: number;
}

// Options whose change a preview shows as an update of the resource.
const OPTIONS = ["protect", "retainOnDelete", "deleteBeforeReplace"] as const;

/** Compares the plan of the base revision with the working tree's. */
export function diffPlans(base: PlanResult, head: PlanResult, baseLabel: string): PlanDiff {
  const before = new Map(base.resources.map((r) => [r.urn, r]));
  const byUrn = new Map(head.resources.map((r) => [r.urn, r]));
  const changes: ResourceChange[] = [];
  // Created and replaced resources get new outputs; registration order puts them before their dependents.
  const renewed = new Set<string>();
  let unchanged = 0;
  for (const resource of head.resources) {
    const old = before.get(resource.urn);
    const identity = { urn: resource.urn, type: resource.type, name: resource.name };
    if (!old) {
      changes.push({ ...identity, change: "create", properties: [] });
      renewed.add(resource.urn);
      continue;
    }
    const providerInputs = resource.provider ? byUrn.get(resource.provider.slice(0, resource.provider.lastIndexOf("::")))?.inputs : undefined;
    const ignored = (path: string) => resource.ignoreChanges.some((i) => path === i || path.startsWith(`${i}.`) || path.startsWith(`${i}[`));
    const properties: PropertyChange[] = [];
    const changed = changedPaths(old, resource);
    for (const path of changed) {
      if (ignored(path)) continue;
      const verdict = replacementOf(resource, path, providerInputs);
      properties.push({ path, ...sides(old, resource, path), replaces: verdict.replaces ?? null, reason: verdict.reason });
    }
    // Unknown on both sides, yet computed from a resource this change creates or replaces.
    for (const [key, path] of unknownPaths(resource.inputs)) {
      if (ignored(path) || changed.includes(path)) continue;
      const from = (resource.propertyDependencies[key] ?? resource.dependencies).filter((urn) => renewed.has(urn));
      if (from.length === 0) continue;
      const verdict = replacementOf(resource, path, providerInputs);
      const computedFrom = from.map((urn) => byUrn.get(urn)?.name ?? urn);
      properties.push({ path, ...sides(old, resource, path), replaces: verdict.replaces ?? null, reason: verdict.reason, computedFrom });
    }
    for (const option of OPTIONS) {
      if (old[option] !== resource[option]) properties.push({ path: `[${option}]`, before: old[option], after: resource[option], replaces: false, reason: "resource option" });
    }
    if (properties.length === 0) {
      unchanged++;
      continue;
    }
    const change: ChangeKind = properties.some((p) => p.replaces === true) ? "replace" : properties.some((p) => p.replaces === null) ? "may-replace" : "update";
    if (change === "replace") renewed.add(resource.urn);
    const deleteFirst = change !== "update" && (resource.deleteBeforeReplace || (change === "replace" && keepsItsName(old, resource)));
    changes.push({ ...identity, change, ...(deleteFirst ? { deleteBeforeReplace: true } : {}), properties });
  }
  const current = new Set(head.resources.map((r) => r.urn));
  for (const resource of base.resources) {
    if (!current.has(resource.urn)) changes.push({ urn: resource.urn, type: resource.type, name: resource.name, change: "delete", properties: [] });
  }
  return { base: baseLabel, changes, unchanged };
}

/**
 * Leaf paths whose value differs, comparing the raw (unmasked) inputs. A secret map (a Secret's
 * data) is compared key by key, so a reader sees which key changed, never the values.
 */
function changedPaths(old: RecordedResource, now: RecordedResource): string[] {
  const secrets = new Set([...old.secretPaths, ...now.secretPaths]);
  const paths: string[] = [];
  const walk = (a: unknown, b: unknown, path: string, secret: boolean) => {
    const hidden = secret || secrets.has(path);
    const descend = isContainer(a) && isContainer(b) && Array.isArray(a) === Array.isArray(b) && (!hidden || (!Array.isArray(a) && isFlatMap(a) && isFlatMap(b)));
    if (!descend) {
      if (!sameValue(a, b)) paths.push(path);
      return;
    }
    const keys = Array.isArray(a)
      ? Array.from({ length: Math.max(a.length, (b as unknown[]).length) }, (_, i) => i)
      : [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const key of keys) {
      if (key === "__defaults") continue;
      walk((a as Record<string | number, unknown>)[key], (b as Record<string | number, unknown>)[key], joinPath(path, key), hidden);
    }
  };
  walk(old.inputs, now.inputs, "", false);
  return paths;
}

/**
 * A Kubernetes object replaced under the same explicit name and namespace: the provider deletes
 * the old one first, as two objects cannot share a name (pulumi/pulumi-kubernetes
 * provider/pkg/provider/provider.go, `deleteBeforeReplace :=` in Diff).
 */
function keepsItsName(old: RecordedResource, now: RecordedResource): boolean {
  if (!now.type.startsWith("kubernetes:") || !now.custom) return false;
  const meta = (r: RecordedResource) => (r.inputs.metadata ?? {}) as Record<string, unknown>;
  const [a, b] = [meta(old), meta(now)];
  return typeof b.name === "string" && b.name === a.name && b.namespace === a.namespace;
}

/** Paths of unknown values in inputs, with the top-level key each lies under. */
function unknownPaths(inputs: Record<string, unknown>): [string, string][] {
  const found: [string, string][] = [];
  const walk = (value: unknown, path: string, key: string) => {
    if (isUnknown(value)) found.push([key, path]);
    else if (Array.isArray(value)) value.forEach((item, i) => walk(item, joinPath(path, i), key));
    else if (value !== null && typeof value === "object") for (const [k, item] of Object.entries(value)) walk(item, joinPath(path, k), key);
  };
  for (const [key, value] of Object.entries(inputs)) walk(value, joinPath("", key), key);
  return found;
}

// A map of plain values (a Secret's data): its keys may be shown, its values never.
const isFlatMap = (value: object): boolean => Object.values(value).every((item) => item === null || typeof item !== "object");

const isContainer = (value: unknown): value is object => value !== null && typeof value === "object" && !isUnknown(value);

function sameValue(a: unknown, b: unknown): boolean {
  if (isUnknown(a) || isUnknown(b)) return a === b;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The masked value on each side of a changed path (absent sides left out). */
function sides(old: RecordedResource, now: RecordedResource, path: string): { before?: unknown; after?: unknown } {
  const read = (resource: RecordedResource) => {
    const masked = mask(resource.inputs, resource.secretPaths);
    const secret = resource.secretPaths.some((p) => p === path || path.startsWith(`${p}.`) || path.startsWith(`${p}[`));
    const value = at(masked, path);
    return secret && value !== undefined ? SECRET_MASK : value;
  };
  const before = read(old);
  const after = read(now);
  return { ...(before !== undefined ? { before } : {}), ...(after !== undefined ? { after } : {}) };
}

// Paths are built with joinPath; walk them the same way.
function at(root: unknown, path: string): unknown {
  const parts = path.match(/[^.[\]"]+|"(?:[^"\\]|\\.)*"/g) ?? [];
  let current: unknown = root;
  for (const part of parts) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[part.startsWith('"') ? (JSON.parse(part) as string) : part];
  }
  return current;
}

/** Counts by kind of change. */
export function diffCounts(diff: PlanDiff): { create: number; update: number; mayReplace: number; replace: number; delete: number; same: number } {
  const count = (kind: ChangeKind) => diff.changes.filter((c) => c.change === kind).length;
  return { create: count("create"), update: count("update"), mayReplace: count("may-replace"), replace: count("replace"), delete: count("delete"), same: diff.unchanged };
}

const MARKS: Record<ChangeKind, string> = { create: "+ ", update: "~ ", "may-replace": "~?", replace: "+-", delete: "- " };
const LABELS: Record<ChangeKind, string> = {
  create: "create",
  update: "update",
  "may-replace": "update (may replace)",
  replace: "replace",
  delete: "delete",
};

const show = (value: unknown) => (typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? "undefined");

/** The diff for people: one line per changed resource, one per changed property with its verdict. */
export function renderDiff(diff: PlanDiff): string[] {
  if (diff.changes.length === 0) return [`Changes against ${diff.base}: none.`];
  const lines = [`Changes against ${diff.base} (${diff.changes.length}):`];
  for (const change of diff.changes) {
    const order = change.deleteBeforeReplace ? ", delete before replace" : "";
    lines.push(`    ${MARKS[change.change]} ${change.type}  ${change.name}  (${LABELS[change.change]}${order})`);
    for (const p of change.properties) {
      const verdict = p.replaces === true ? "forces replacement" : p.replaces === false ? "in place" : "may replace";
      const head = `        ${"before" in p ? ("after" in p ? "~" : "-") : "+"} ${p.path}: `;
      const from = p.computedFrom ? ` (computed from ${p.computedFrom.join(", ")}, new)` : "";
      const values = ("before" in p && "after" in p ? `${show(p.before)} → ${show(p.after)}` : show("after" in p ? p.after : p.before)) + from;
      const note = `   [${verdict}: ${p.reason}]`;
      if (head.length + values.length <= 120) {
        lines.push(`${head}${values}${note}`);
      } else {
        // Long values (policy documents) one per line, pretty-printed, never cut.
        lines.push(`${head.trimEnd()}${note}`);
        for (const [label, value] of [["before", p.before], ["after", p.after]] as const) {
          if (!(label in p)) continue;
          lines.push(...pretty(value).map((line, i) => `            ${i === 0 ? `${label}: ` : "  "}${line}`));
        }
      }
    }
  }
  return lines;
}

function pretty(value: unknown): string[] {
  if (typeof value === "string") {
    try {
      const parsed = JSON.parse(value) as unknown;
      if (parsed !== null && typeof parsed === "object") return JSON.stringify(parsed, null, 2).split("\n");
    } catch {
      // Not a JSON document: shown as the string it is.
    }
    return [JSON.stringify(value)];
  }
  return (JSON.stringify(value, null, 2) ?? "undefined").split("\n");
}
