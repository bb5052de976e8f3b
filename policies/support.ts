/**
 * Helpers shared by the rule modules: reading resource properties safely, parsing IAM and ECR
 * policy documents and joining resources through their property dependencies (Kubernetes objects
 * are in ./k8s-objects). No policy is defined here.
 *
 * Properties reach a policy wrapped in @pulumi/policy's unknown-checking proxy: reading a value that
 * is unknown during preview throws. Rules that must not give up on a whole stack because one value is
 * unknown read through {@link Unknowns}, which remembers the first unknown value and lets the rule
 * rethrow it after it has reported everything it could check.
 */
import type { PolicyResource, ReportViolation } from "@pulumi/policy";

/** Plain property bag. */
export type Props = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/** The value as an object (not an array), or undefined. */
export function record(value: unknown): Props | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Props) : undefined;
}

/** The value as a list: arrays as they are, a single value as a one-element list, nothing as []. */
export function list(value: unknown): unknown[] {
  if (Array.isArray(value)) return value as unknown[];
  return value === undefined || value === null ? [] : [value];
}

/** The value if it is a string. */
export function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** The value if it is a number (numeric strings included, as IAM and Kubernetes accept them). */
export function num(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string" && /^-?\d+$/.test(value)) return Number(value);
  return undefined;
}

/** Strings of a string-or-list value. */
export function strings(value: unknown): string[] {
  return list(value).filter((item): item is string => typeof item === "string");
}

/** True for the error @pulumi/policy throws when a policy reads a value unknown during preview. */
export function isUnknownValueError(error: unknown): boolean {
  return (
    error instanceof Error &&
    Array.isArray((error as { props?: unknown }).props) &&
    "unknownTypeSentinel" in error &&
    error.message.endsWith("can't be known during preview")
  );
}

/** Marker returned by {@link Unknowns.read} for a value unknown during preview. */
export const UNKNOWN = Symbol("unknown during preview");

const UNKNOWN_SUFFIX = " can't be known during preview";

/** How a note names a resource: its type token and name. */
export function resourceLabel(resource: Pick<PolicyResource, "type" | "name">): string {
  return `${resource.type} ${q(resource.name)}`;
}

/**
 * Reads values that may be unknown during preview without giving up at the first one: `read`
 * returns {@link UNKNOWN} and remembers the error; `rethrow` at the end of a rule throws the first
 * one, so the engine records the rule as not checkable during preview (an advisory note) after
 * the rule has reported what it could check.
 *
 * A stack policy's note carries no resource (the analyzer reports it for the whole stack), so
 * `read` takes the resource the value belongs to and the note names every such resource.
 */
export class Unknowns {
  private first: Error | undefined;
  private readonly about: string[] = [];

  /** Runs `fn`; an unknown value yields {@link UNKNOWN} instead of throwing. */
  read<T>(fn: () => T, resource?: Pick<PolicyResource, "type" | "name">): T | typeof UNKNOWN {
    try {
      return fn();
    } catch (error) {
      if (!isUnknownValueError(error)) throw error;
      this.first ??= error as Error;
      if (resource) {
        const what = `${resourceLabel(resource)}: ${(error as Error).message.slice(0, -UNKNOWN_SUFFIX.length)}`;
        if (!this.about.includes(what)) this.about.push(what);
      }
      return UNKNOWN;
    }
  }

  /** Runs `fn`; an unknown value yields undefined and is ignored (for optional joins only). */
  static peek<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (error) {
      if (isUnknownValueError(error)) return undefined;
      throw error;
    }
  }

  /** Throws the first unknown value read, if any, naming the resources whose values were unknown. */
  rethrow(): void {
    if (this.first === undefined) return;
    // The SDK's own UnknownValueError (the analyzer recognises its class), its message naming the resources.
    if (this.about.length > 0) this.first.message = `${this.about.join("; ")}${UNKNOWN_SUFFIX}`;
    throw this.first;
  }
}

/**
 * Reports an advisory note on a resource, whatever the rule's level: something the rule cannot
 * judge and the reader must (the object form of reportViolation, which the analyzer honours).
 */
export function reportNote(reportViolation: ReportViolation, message: string, urn: string): void {
  (reportViolation as unknown as (info: { message: string; urn: string; enforcementLevel: "advisory" }) => void)({ message, urn, enforcementLevel: "advisory" });
}

/** Quotes a value for a message. */
export function q(value: unknown): string {
  return JSON.stringify(value);
}

/** `a, b and c`. */
export function joinWords(words: readonly string[]): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}

// ---------------------------------------------------------------------------------------------
// Resources and joins
// ---------------------------------------------------------------------------------------------

/** Resources of any of the given type tokens. */
export function ofTypes(resources: readonly PolicyResource[], types: readonly string[]): PolicyResource[] {
  return resources.filter((resource) => types.includes(resource.type));
}

/** True when `resource`'s property `prop` was computed from `target` (Pulumi's property dependencies). */
export function dependsVia(resource: PolicyResource, prop: string, target: PolicyResource): boolean {
  return (resource.propertyDependencies[prop] ?? []).some((dep) => dep.urn === target.urn);
}

/** Resources of `prop`'s property dependencies that have one of `types`. */
export function dependenciesOfType(resource: PolicyResource, prop: string, types: readonly string[]): PolicyResource[] {
  return (resource.propertyDependencies[prop] ?? []).filter((dep) => types.includes(dep.type));
}

/**
 * Resources of `types` attached to `target` through property `prop`: either computed from it
 * (`bucket: bucket.id`) or naming it by a known value (`bucket: "my-bucket"`).
 */
export function attached(
  resources: readonly PolicyResource[],
  types: readonly string[],
  prop: string,
  target: PolicyResource,
  targetNames: readonly string[],
): PolicyResource[] {
  return ofTypes(resources, types).filter((resource) => {
    if (dependsVia(resource, prop, target)) return true;
    const value = Unknowns.peek(() => str(resource.props[prop]));
    return value !== undefined && targetNames.includes(value);
  });
}

/** Known string values of `props` keys (for joins by name). */
export function knownNames(resource: PolicyResource, keys: readonly string[]): string[] {
  const names: string[] = [];
  for (const key of keys) {
    const value = Unknowns.peek(() => str(resource.props[key]));
    if (value !== undefined) names.push(value);
  }
  return names;
}

// ---------------------------------------------------------------------------------------------
// IAM-style policy documents (IAM, S3 bucket policies, ECR repository policies)
// ---------------------------------------------------------------------------------------------

/** One principal of a statement: `*` or a key (`AWS`, `Service`, `Federated`) and a value. */
export interface Principal {
  readonly kind: string;
  readonly value: string;
}

/** A statement, normalised: lists everywhere, condition keys lower-cased. */
export interface Statement {
  /** `Sid` if present, else `#<index>`. */
  readonly id: string;
  readonly effect: string;
  readonly actions: string[];
  readonly notActions: string[];
  readonly resources: string[];
  readonly notResources: string[];
  readonly principals: Principal[];
  readonly hasNotPrincipal: boolean;
  /** operator -> lower-cased condition key -> values (as strings). */
  readonly conditions: Record<string, Record<string, string[]>>;
}

/** A parsed document or why it could not be parsed. */
export type ParsedDocument = { readonly statements: Statement[] } | { readonly error: string };

/** Parses a policy document given as JSON text or as an object. */
export function parseDocument(value: unknown): ParsedDocument {
  let doc: unknown = value;
  if (typeof value === "string") {
    try {
      doc = JSON.parse(value);
    } catch {
      return { error: "is not valid JSON" };
    }
  }
  const root = record(doc);
  if (!root) return { error: "is not a JSON object" };
  const statements = list(root.Statement).map((raw, index): Statement => {
    const s = record(raw) ?? {};
    const conditions: Record<string, Record<string, string[]>> = {};
    for (const [operator, block] of Object.entries(record(s.Condition) ?? {})) {
      const entries: Record<string, string[]> = {};
      for (const [key, v] of Object.entries(record(block) ?? {})) entries[key.toLowerCase()] = list(v).map((item) => String(item));
      conditions[operator] = entries;
    }
    return {
      id: str(s.Sid) ? q(s.Sid) : `#${index}`,
      effect: str(s.Effect) ?? "",
      actions: strings(s.Action),
      notActions: strings(s.NotAction),
      resources: strings(s.Resource),
      notResources: strings(s.NotResource),
      principals: principals(s.Principal),
      hasNotPrincipal: s.NotPrincipal !== undefined,
      conditions,
    };
  });
  return { statements };
}

function principals(value: unknown): Principal[] {
  if (value === undefined) return [];
  if (typeof value === "string") return [{ kind: value === "*" ? "*" : "AWS", value }];
  const out: Principal[] = [];
  for (const [kind, v] of Object.entries(record(value) ?? {})) {
    for (const item of strings(v)) out.push({ kind, value: item });
  }
  return out;
}

/** True for `Principal: "*"` or `{ AWS: "*" }`: everyone. */
export function isEveryone(principal: Principal): boolean {
  return principal.value === "*" && (principal.kind === "*" || principal.kind === "AWS");
}

/** True when an IAM action pattern (`s3:*`, `ecr:Put*`, `*`) covers `action`. */
export function actionCovers(pattern: string, action: string): boolean {
  // IAM: `*` any run of characters, `?` exactly one; both escaped literals otherwise.
  const regex = new RegExp(`^${pattern.split("*").map((part) => part.split("?").map(escapeRegex).join(".")).join(".*")}$`, "i");
  return regex.test(action);
}

/** Escapes a string for a regular expression. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Values of a condition key under any of the operators. */
export function conditionValues(statement: Statement, operators: readonly string[], key: string): string[] | undefined {
  let found: string[] | undefined;
  for (const operator of operators) {
    const values = statement.conditions[operator]?.[key.toLowerCase()];
    if (values) found = [...(found ?? []), ...values];
  }
  return found;
}
