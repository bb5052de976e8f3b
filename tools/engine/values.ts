/**
 * Values as the mock monitor sees them, turned into plain data the engine records.
 *
 * Pulumi serialises inputs with sentinel markers: a secret is an object carrying a signature key, an
 * unknown value (known only to a provider, after create) is a fixed UUID string, a resource
 * reference is an object with the URN. Recorded inputs are plain: secrets unwrapped (their paths
 * listed separately), unknowns replaced by {@link UNKNOWN}.
 */
import { SECRET_MASK } from "../../policies/vocabulary";

/** Signature key Pulumi puts on special serialised objects. */
const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
const ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17";
const ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7";
const OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
/** The string Pulumi sends for a value that is unknown during preview. */
export const UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Marker for a value only a provider can know (shown as `[unknown]`). */
export const UNKNOWN: { readonly toJSON: () => string } = Object.freeze({ toJSON: () => "[unknown]" });

/** True for the {@link UNKNOWN} marker. */
export function isUnknown(value: unknown): boolean {
  return value === UNKNOWN;
}

/** What reading a serialised value produced: the plain value and the paths that were secret. */
export interface Decoded {
  readonly value: unknown;
  readonly secretPaths: string[];
}

/** Joins a property path: `a.b[0].c`. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === "number") return `${base}[${key}]`;
  const safe = /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key);
  if (base === "") return safe;
  return safe.startsWith('"') ? `${base}[${safe}]` : `${base}.${safe}`;
}

/** Converts a serialised Pulumi value (as the monitor receives it) into plain data. */
export function decode(raw: unknown): Decoded {
  const secretPaths: string[] = [];
  const walk = (value: unknown, path: string): unknown => {
    if (value === UNKNOWN_SENTINEL) return UNKNOWN;
    if (Array.isArray(value)) return value.map((item, i) => walk(item, joinPath(path, i)));
    if (value === null || typeof value !== "object") return value;
    const record = value as Record<string, unknown>;
    switch (record[SIG]) {
      case SECRET_SIG:
        secretPaths.push(path);
        return walk(record.value, path);
      case RESOURCE_SIG:
        return record.urn;
      case ASSET_SIG:
      case ARCHIVE_SIG:
        return { asset: record.path ?? record.uri ?? "[inline]" };
      case OUTPUT_SIG:
        if (record.secret === true) secretPaths.push(path);
        return "value" in record ? walk(record.value, path) : UNKNOWN;
      default:
        break;
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(record).sort()) out[key] = walk(record[key], joinPath(path, key));
    return out;
  };
  const value = walk(raw, "");
  return { value, secretPaths };
}

/**
 * Returns a copy safe to show: values at secret paths become `[secret]`, unknowns `[unknown]`.
 * Used for every human- or machine-readable rendering; never for policy evaluation.
 */
export function mask(value: unknown, secretPaths: readonly string[]): unknown {
  const secrets = new Set(secretPaths);
  const walk = (item: unknown, path: string): unknown => {
    if (secrets.has(path)) {
      // A secret map (a Kubernetes Secret's data) keeps its keys visible; every value is hidden.
      if (item !== null && typeof item === "object" && !Array.isArray(item) && item !== UNKNOWN) {
        return Object.fromEntries(Object.keys(item).map((key) => [key, SECRET_MASK]));
      }
      return SECRET_MASK;
    }
    if (item === UNKNOWN) return "[unknown]";
    if (Array.isArray(item)) return item.map((entry, i) => walk(entry, joinPath(path, i)));
    if (item === null || typeof item !== "object") return item;
    const out: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(item)) out[key] = walk(entry, joinPath(path, key));
    return out;
  };
  return walk(value, "");
}

/** Reads a value at a `a.b[0].c` path of plain data (undefined where absent). */
export function valueAt(root: unknown, path: string): unknown {
  const parts = path.match(/[^.[\]"]+|"(?:[^"\\]|\\.)*"/g) ?? [];
  let current: unknown = root;
  for (const part of parts) {
    if (current === null || typeof current !== "object") return undefined;
    const key = part.startsWith('"') ? (JSON.parse(part) as string) : part;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
