/**
 * The values of the stack contract: the typed config a program gets, the raw values Pulumi hands
 * it, and the error that lists every problem with its key path.
 */
import type { z } from "zod";
import type { configSchema, withDerivedDefaults } from "./schema";

/** The Pulumi project name; config keys of this project are `gitops-platform:<key>`. */
export const PROJECT = "gitops-platform";

export type Schema = z.output<typeof configSchema>;

/** The validated config with every default filled in, plus the values read from other namespaces. */
export interface PlatformConfig extends ReturnType<typeof withDerivedDefaults> {
  /** Stack name the config was validated against. */
  readonly stack: string;
  /** AWS region (`aws:region`). */
  readonly region: string;
}

/** Config problems, every one with its key path and expectation. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** What `parseConfig` reads: the raw string values Pulumi hands a program. */
export interface RawConfig {
  /** Stack name. */
  readonly stack: string;
  /** Every config value, keyed `<namespace>:<key>`; structured values JSON-encoded, as Pulumi passes them. */
  readonly values: Readonly<Record<string, string>>;
  /** Keys whose values were stored as secrets. */
  readonly secretKeys: readonly string[];
  /**
   * Refuse the example values of the shipped stack files (components/config/placeholders.ts): set for a
   * real preview or up, never under the offline engine, where the examples must keep running.
   * @default false
   */
  readonly refuseExamples?: boolean;
}

/** Renders a zod path as a config key path: `gitops-platform:firewall.ingress[1].cidrs[0]`. */
export function keyPath(path: readonly PropertyKey[]): string {
  let out = `${PROJECT}:`;
  path.forEach((segment, index) => {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += `${index === 0 ? "" : "."}${String(segment)}`;
  });
  return out;
}

/**
 * "a mapping" or "a list" when a config value is structured (the CLI hands those over as JSON text),
 * else undefined. Scalars reach a program as text whatever the stack file's YAML type, and a secure
 * value is always a string, so a structured value is the one non-string a secret key can receive.
 */
export function structuredKind(value: string): string | undefined {
  if (!/^\s*[[{]/.test(value)) return undefined;
  const decoded = decodeValue(value);
  if (Array.isArray(decoded)) return "a list";
  return decoded !== null && typeof decoded === "object" ? "a mapping" : undefined;
}

export function decodeValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

