/**
 * Reads a project's `Pulumi.yaml` and a stack's `Pulumi.<stack>.yaml` the way the CLI does, into
 * the config map a program run gets. Secure values cannot be decrypted offline: they become an
 * opaque placeholder, marked secret, so the program sees a secret and nobody sees a value.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { load, YAMLException } from "js-yaml";
import { OFFLINE_SECRET } from "../../components/offline-secret";

/** The config of one stack, ready for {@link import("./index").runProgram}. */
export interface StackConfig {
  readonly project: string;
  /** Entry of the program (`main` of Pulumi.yaml, else the project directory's index.ts). */
  readonly main: string;
  readonly config: Record<string, unknown>;
  readonly secretKeys: string[];
}

/**
 * A stack or project file that cannot be read: the message names the file as the caller shows it
 * and, for a YAML syntax error, the line and column (1-based), followed by the lines around it.
 */
export class StackFileError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(message);
    this.name = "StackFileError";
  }
}

/** How a file is named in messages (e.g. relative to where the user ran the command). */
export type ShowPath = (file: string) => string;

/** Parses a YAML file; an empty file, a syntax error or a non-mapping document is a {@link StackFileError}. */
export function readYamlMapping(file: string, show: ShowPath = (f) => f): Record<string, unknown> {
  const name = show(file);
  const text = fs.readFileSync(file, "utf8");
  if (text.trim() === "" || text.split("\n").every((line) => /^\s*(#.*)?$/.test(line))) throw new StackFileError(`${name}: the file is empty; expected a YAML mapping`, name);
  let parsed: unknown;
  try {
    parsed = load(text, { filename: name });
  } catch (error) {
    if (!(error instanceof YAMLException)) throw error;
    const { mark, reason } = error as YAMLException & { mark?: { line: number; column: number; snippet?: string }; reason?: string };
    if (!mark) throw new StackFileError(`${name}: ${reason ?? error.message}`, name);
    const snippet = mark.snippet ? `\n${mark.snippet}` : "";
    throw new StackFileError(`${name}:${mark.line + 1}:${mark.column + 1}: ${reason ?? error.message}${snippet}`, name, mark.line + 1, mark.column + 1);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new StackFileError(`${name}: expected a YAML mapping, got ${parsed === null ? "null" : Array.isArray(parsed) ? "a list" : typeof parsed}`, name);
  return parsed as Record<string, unknown>;
}

interface ProjectFile {
  name?: unknown;
  main?: unknown;
  config?: Record<string, unknown>;
}

/** Reads Pulumi.yaml of `rootDir`. */
export function readProject(rootDir: string, show?: ShowPath): { name: string; main: string; file: ProjectFile } {
  const file = path.join(rootDir, "Pulumi.yaml");
  const parsed = readYamlMapping(file, show) as ProjectFile;
  if (typeof parsed.name !== "string") throw new StackFileError(`${(show ?? ((f: string) => f))(file)}: expected a project name (name:)`, file);
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
export function loadStackConfig(rootDir: string, stack: string, configFile?: string, show?: ShowPath): StackConfig {
  const project = readProject(rootDir, show);
  const file = configFile ?? path.join(rootDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) throw new Error(`stack config not found: ${file}`);
  const parsed = readYamlMapping(file, show) as { config?: Record<string, unknown> };
  const block = parsed.config as unknown;
  if (block !== undefined && block !== null && (typeof block !== "object" || Array.isArray(block))) {
    throw new StackFileError(`${(show ?? ((f: string) => f))(file)}: config: expected a mapping of keys to values`, file);
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
  for (const [key, value] of Object.entries(parsed.config ?? {})) {
    const qualified = qualify(key);
    if (containsSecure(value)) secretKeys.push(qualified);
    config[qualified] = replaceSecure(value);
  }
  return { project: project.name, main: project.main, config, secretKeys: secretKeys.sort() };
}
