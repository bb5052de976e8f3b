/**
 * Parsing the stack contract: raw config values in, the typed config out, or a {@link ConfigError}
 * listing every problem with its key path; secret values are never quoted (redaction).
 */
import type { z } from "zod";
import { findPlaceholders } from "./placeholders";
import { crossFieldProblems, notificationProblems, parseSections } from "./rules";
import { configSchema, NOTIFICATION_SECRET_KEYS, withDerivedDefaults } from "./schema";
import { ConfigError, decodeValue, keyPath, PROJECT, structuredKind, type PlatformConfig, type RawConfig, type Schema } from "./values";

/**
 * GitHub credentials the stack config may not hold, with why and what to do instead. The GitHub
 * provider takes its token only from `GITHUB_TOKEN` in the environment of the `pulumi` process: a
 * GitHub App installation token minted per run (it expires after an hour), never a long-lived
 * token stored in config (and from there in state).
 */
export const RETIRED_GITHUB_TOKEN_KEYS: Readonly<Record<string, string>> = {
  [`${PROJECT}:githubToken`]:
    "no longer read: the GitHub provider takes its token from GITHUB_TOKEN in the environment of the pulumi process (a GitHub App installation token minted per run); remove it with `pulumi config rm githubToken`",
  "github:token":
    "a GitHub token in stack config outlives every run; the GitHub provider takes its token from GITHUB_TOKEN in the environment of the pulumi process (a GitHub App installation token minted per run); remove it with `pulumi config rm github:token`",
};

const STRING_KEYS = new Set<string>(["environment", ...NOTIFICATION_SECRET_KEYS]);

const ARTICLES: Record<string, string> = { array: "an array", object: "an object", integer: "an integer", int: "an integer" };

/** A value as a message may quote it: JSON, cut short. Only non-secret keys are ever parsed. */
function quoteValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function describeIssue(issue: z.core.$ZodIssue, secret: boolean): string[] {
  const path = keyPath(issue.path);
  // A key stored as a secret is never quoted, not even cut short.
  const quote = secret ? () => "a secret value (not shown)" : quoteValue;
  if (issue.code === "invalid_key") {
    // A record key refused by its own schema (e.g. a reserved tag key): say why, not just "invalid".
    return issue.issues.map((inner) => `${path}: ${inner.message}`);
  }
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `${keyPath([...issue.path, key])}: unknown key (check for a typo)`);
  }
  if (issue.code === "invalid_type") {
    // A schema's own message (e.g. "expected an integer port") wins over zod's generic one.
    const custom = !issue.message.startsWith("Invalid input");
    const expected = custom ? issue.message : `expected ${ARTICLES[issue.expected] ?? `a ${issue.expected}`}`;
    if (issue.input === undefined) return [`${path}: required, ${expected}`];
    return [`${path}: ${expected}, got ${quote(issue.input)}`];
  }
  return [`${path}: ${issue.message.replace(/^Invalid input: /, "")}`];
}

/**
 * Validates a stack's config and returns it typed, or throws a {@link ConfigError} listing every
 * problem. Pure: reads nothing but its argument.
 */
export function parseConfig(raw: RawConfig): PlatformConfig {
  const problems: string[] = [];
  const prefix = `${PROJECT}:`;
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw.values)) {
    if (!key.startsWith(prefix)) continue;
    const name = key.slice(prefix.length);
    if (RETIRED_GITHUB_TOKEN_KEYS[key] !== undefined) continue;
    // A key read as text would take a mapping's JSON text for its value: the schema sees the mapping.
    input[name] = STRING_KEYS.has(name) && structuredKind(value) === undefined ? value : decodeValue(value);
  }

  // reportInput: a type error quotes what it got, and a missing key is told from a wrong one.
  const result = configSchema.safeParse(input, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(...describeIssue(issue, raw.secretKeys.includes(`${prefix}${String(issue.path[0])}`)));
  }

  for (const key of Object.keys(raw.values)) {
    const [namespace = "", ...rest] = key.split(":");
    if (namespace !== PROJECT && rest.length > 0 && editDistance(namespace, PROJECT) <= 2) {
      problems.push(`${key}: unknown namespace ${namespace} (check for a typo: ${PROJECT}:${rest.join(":")})`);
    }
  }

  const region = raw.values["aws:region"];
  if (region === undefined) problems.push("aws:region: required, expected an AWS region such as eu-west-1");
  else if (!/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(region)) problems.push(`aws:region: expected an AWS region such as eu-west-1, got ${JSON.stringify(region)}`);

  for (const [key, why] of Object.entries(RETIRED_GITHUB_TOKEN_KEYS)) {
    if (raw.values[key] !== undefined) problems.push(`${key}: ${why}`);
  }
  for (const key of PROVIDER_SECRET_KEYS) {
    const structured = raw.values[key] === undefined ? undefined : structuredKind(raw.values[key]);
    if (structured !== undefined) problems.push(`${key}: expected a string, got ${structured}; store the value itself with \`pulumi config set --secret ${key}\``);
    else if (raw.values[key] !== undefined && !raw.secretKeys.includes(key)) {
      problems.push(`${key}: must be a secret; store it with \`pulumi config set --secret ${key}\``);
    }
  }

  problems.push(...crossFieldProblems(result.success ? result.data : parseSections(input), raw.stack));
  problems.push(...notificationProblems(raw, input.notifications));
  if (raw.refuseExamples === true) {
    problems.push(...findPlaceholders(input).map((found) => `${keyPath(found.path)}: ${found.message}`));
  }
  if (problems.length > 0) throw new ConfigError(problems.map((problem) => redact(problem, secretFragments(raw))));
  const data = withDerivedDefaults(result.data as Schema);
  return { ...data, stack: raw.stack, region: region as string };
}

/** Credentials of the providers' own namespaces that must never sit in the stack file in plaintext. */
export const PROVIDER_SECRET_KEYS = ["aws:secretKey", "aws:token"] as const;

/**
 * The strings of every secret config value, as a message could quote them (raw, and JSON-escaped).
 * Short ones are left out: masking "on" or "443" would garble messages and hide nothing.
 */
function secretFragments(raw: RawConfig): string[] {
  const fragments = new Set<string>();
  const add = (value: unknown): void => {
    if (typeof value === "string") {
      for (const text of [value, JSON.stringify(value).slice(1, -1)]) if (text.length >= 4) fragments.add(text);
    } else if (value !== null && typeof value === "object") Object.values(value).forEach(add);
  };
  for (const key of raw.secretKeys) {
    const value = raw.values[key];
    if (value === undefined) continue;
    add(value);
    add(decodeValue(value));
  }
  return [...fragments].sort((a, b) => b.length - a.length);
}

/** A problem with every secret value in its text (not its key path) replaced by `[secret]`. */
function redact(problem: string, fragments: readonly string[]): string {
  const cut = problem.indexOf(": ") + 2;
  const text = fragments.reduce((rest, fragment) => rest.split(fragment).join("[secret]"), problem.slice(cut));
  return problem.slice(0, cut) + text;
}

/** Levenshtein distance, to tell a typo of the project's namespace from another provider's. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

