/**
 * What a preview against a stack deployed from another revision would show: the two offline plans
 * compared resource by resource (by URN) and property by property. Secrets stay masked: a changed
 * secret shows as `[secret] → [secret]`.
 */
import { isUnknown, joinPath, mask, type PlanResult, type RecordedResource } from "../engine";
import { replacementOf } from "./replacement";

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
  const providers = new Map(head.resources.map((r) => [r.urn, r.inputs]));
  const changes: ResourceChange[] = [];
  let unchanged = 0;
  for (const resource of head.resources) {
    const old = before.get(resource.urn);
    const identity = { urn: resource.urn, type: resource.type, name: resource.name };
    if (!old) {
      changes.push({ ...identity, change: "create", properties: [] });
      continue;
    }
    const providerInputs = resource.provider ? providers.get(resource.provider.slice(0, resource.provider.lastIndexOf("::"))) : undefined;
    const properties: PropertyChange[] = [];
    for (const path of changedPaths(old, resource)) {
      if (resource.ignoreChanges.some((ignored) => path === ignored || path.startsWith(`${ignored}.`) || path.startsWith(`${ignored}[`))) continue;
      const verdict = replacementOf(resource, path, providerInputs);
      properties.push({ path, ...sides(old, resource, path), replaces: verdict.replaces ?? null, reason: verdict.reason });
    }
    for (const option of OPTIONS) {
      if (old[option] !== resource[option]) properties.push({ path: `[${option}]`, before: old[option], after: resource[option], replaces: false, reason: "resource option" });
    }
    if (properties.length === 0) {
      unchanged++;
      continue;
    }
    const change: ChangeKind = properties.some((p) => p.replaces === true) ? "replace" : properties.some((p) => p.replaces === null) ? "may-replace" : "update";
    changes.push({ ...identity, change, ...(change !== "update" && resource.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}), properties });
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
    return secret && value !== undefined ? "[secret]" : value;
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
      const values = "before" in p && "after" in p ? `${show(p.before)} → ${show(p.after)}` : show("after" in p ? p.after : p.before);
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
