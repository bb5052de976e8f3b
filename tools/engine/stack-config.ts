/**
 * Reads a project's `Pulumi.yaml` and a stack's `Pulumi.<stack>.yaml` the way the CLI does, into
 * the config map a program run gets. Secure values cannot be decrypted offline: they become an
 * opaque placeholder, marked secret, so the program sees a secret and nobody sees a value.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";

/** The config of one stack, ready for {@link import("./index").runProgram}. */
export interface StackConfig {
  readonly project: string;
  /** Entry of the program (`main` of Pulumi.yaml, else the project directory's index.ts). */
  readonly main: string;
  readonly config: Record<string, unknown>;
  readonly secretKeys: string[];
}

/** What a secure value reads as offline. */
export const OFFLINE_SECRET = "[secret: encrypted in the stack config, not readable offline]";

interface ProjectFile {
  name?: unknown;
  main?: unknown;
  config?: Record<string, unknown>;
}

/** Reads Pulumi.yaml of `rootDir`. */
export function readProject(rootDir: string): { name: string; main: string; file: ProjectFile } {
  const file = path.join(rootDir, "Pulumi.yaml");
  const parsed = load(fs.readFileSync(file, "utf8")) as ProjectFile | undefined;
  if (!parsed || typeof parsed.name !== "string") throw new Error(`${file}: expected a project name`);
  const main = typeof parsed.main === "string" ? parsed.main : "index.ts";
  return { name: parsed.name, main: path.resolve(rootDir, main), file: parsed };
}

const isSecure = (value: unknown): boolean =>
  value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 1 && "secure" in value;

function containsSecure(value: unknown): boolean {
  if (isSecure(value)) return true;
  if (Array.isArray(value)) return value.some(containsSecure);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsSecure);
  return false;
}

function replaceSecure(value: unknown): unknown {
  if (isSecure(value)) return OFFLINE_SECRET;
  if (Array.isArray(value)) return value.map(replaceSecure);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceSecure(v)]));
  return value;
}

/**
 * Reads the stack's config: project defaults from Pulumi.yaml's `config:` block, then the stack
 * file (`configFile`, or Pulumi.<stack>.yaml beside Pulumi.yaml). Keys without a namespace get the
 * project's, as the CLI does.
 */
export function loadStackConfig(rootDir: string, stack: string, configFile?: string): StackConfig {
  const project = readProject(rootDir);
  const file = configFile ?? path.join(rootDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) throw new Error(`stack config not found: ${file}`);
  const text = fs.readFileSync(file, "utf8");
  // File-level mistakes get one message naming the file, not one bogus problem per key or character.
  const empty = text.split("\n").every((line) => line.trim() === "" || line.trim().startsWith("#"));
  const document: unknown = empty ? null : load(text);
  if (document === undefined || document === null) throw new Error(`${file}: the file is empty; expected a mapping with a config: block`);
  if (typeof document !== "object" || Array.isArray(document)) {
    throw new Error(`${file}: expected a mapping with a config: block, got ${Array.isArray(document) ? "a list" : `a ${typeof document}`}`);
  }
  const parsed = document as { config?: unknown };
  if (parsed.config !== undefined && parsed.config !== null && (typeof parsed.config !== "object" || Array.isArray(parsed.config))) {
    throw new Error(`${file}: config: must be a mapping of keys to values, got ${Array.isArray(parsed.config) ? "a list" : `a ${typeof parsed.config}`}`);
  }
  const qualify = (key: string) => (key.includes(":") ? key : `${project.name}:${key}`);

  const config: Record<string, unknown> = {};
  const secretKeys: string[] = [];
  for (const [key, declaration] of Object.entries(project.file.config ?? {})) {
    // A declaration is either a plain default or { type, description, default, secret }.
    const isDeclaration = declaration !== null && typeof declaration === "object" && !Array.isArray(declaration);
    const fallback = isDeclaration ? (declaration as { default?: unknown }).default : declaration;
    if (fallback !== undefined) config[qualify(key)] = fallback;
  }
  for (const [key, value] of Object.entries((parsed.config ?? {}) as Record<string, unknown>)) {
    const qualified = qualify(key);
    if (containsSecure(value)) secretKeys.push(qualified);
    config[qualified] = replaceSecure(value);
  }
  return { project: project.name, main: project.main, config, secretKeys: secretKeys.sort() };
}
