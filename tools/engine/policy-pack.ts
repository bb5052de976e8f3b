/**
 * Policy packs as the CLI sees them before evaluation: loading a CrossGuard pack from its directory
 * and reconciling each policy's enforcement level and config (schema defaults, the pack's initial
 * config, then `--policy-pack-config`), validated against each policy's config schema.
 *
 * Other packs load from their directory (`plan --policy-pack DIR`): the entry is bundled with
 * esbuild (tools/build/bundle.mts) and run with @pulumi/policy's PolicyPack replaced by a class that
 * only records its arguments, so no analyzer server starts and nothing exits the process.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import { load as loadYaml } from "js-yaml";
import type { EnforcementLevel, Policies, PolicyPackConfig } from "@pulumi/policy";
import { loadBundled } from "../build/bundle.mts";
/** A pack loaded from its directory, as its entry declares it. */
export interface LoadedPolicyPack {
  readonly name: string;
  readonly version: string;
  readonly policies: Policies;
  /** The pack-wide default level (`PolicyPackArgs.enforcementLevel`). */
  readonly enforcementLevel: EnforcementLevel;
  /** The third argument of the PolicyPack constructor. */
  readonly initialConfig?: PolicyPackConfig;
}

/** A pack that cannot be loaded or configured, or a policy that failed. */
export class PolicyPackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolicyPackError";
  }
}
// ---------------------------------------------------------------------------------------------
// Loading packs from a directory
// ---------------------------------------------------------------------------------------------

export function packageVersion(dir: string): string | undefined {
  const file = path.join(dir, "package.json");
  if (!fs.existsSync(file)) return undefined;
  const version = (JSON.parse(fs.readFileSync(file, "utf8")) as { version?: unknown }).version;
  return typeof version === "string" && version !== "" ? version : undefined;
}

interface CapturedPack {
  readonly name: string;
  readonly args: { policies?: Policies; enforcementLevel?: EnforcementLevel };
  readonly initialConfig?: PolicyPackConfig;
}

/** Loads a CrossGuard pack from its directory without starting its analyzer server. */
export function loadPolicyPack(dir: string): LoadedPolicyPack {
  const root = path.resolve(dir);
  const manifestFile = path.join(root, "PulumiPolicy.yaml");
  if (!fs.existsSync(manifestFile)) throw new PolicyPackError(`${dir}: not a policy pack (no PulumiPolicy.yaml)`);
  const manifest = (loadYaml(fs.readFileSync(manifestFile, "utf8")) ?? {}) as { runtime?: unknown; version?: unknown; main?: unknown };
  const runtime = typeof manifest.runtime === "object" && manifest.runtime !== null ? (manifest.runtime as { name?: unknown }).name : manifest.runtime;
  if (runtime !== "nodejs") throw new PolicyPackError(`${dir}: runtime ${JSON.stringify(runtime)} is not supported offline; only nodejs packs can be evaluated`);
  const pkgFile = path.join(root, "package.json");
  const pkg = fs.existsSync(pkgFile) ? (JSON.parse(fs.readFileSync(pkgFile, "utf8")) as { main?: unknown; version?: unknown }) : {};
  const mainDir = typeof manifest.main === "string" ? path.join(root, manifest.main) : root;
  const candidates = [typeof pkg.main === "string" ? path.join(mainDir, pkg.main) : undefined, path.join(mainDir, "index.ts"), path.join(mainDir, "index.js")];
  const entry = candidates.find((file): file is string => file !== undefined && fs.existsSync(file) && fs.statSync(file).isFile());
  if (!entry) throw new PolicyPackError(`${dir}: no entry file (package.json main, index.ts or index.js)`);
  const version = typeof manifest.version === "string" ? manifest.version : packageVersion(root);
  // The PolicyPack constructor refuses a pack without a version; so does this loader.
  if (version === undefined) throw new PolicyPackError(`${dir}: no version in package.json`);

  // The pack's own @pulumi/policy (it may have its own node_modules): PolicyPack lives in its policy module.
  // Resolved as the pack resolves it: from its directory, else from this project's node_modules.
  let policyModuleFile: string;
  try {
    policyModuleFile = require.resolve("@pulumi/policy/policy", { paths: [root] });
  } catch {
    policyModuleFile = require.resolve("@pulumi/policy/policy");
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const policyModule = require(policyModuleFile) as { PolicyPack: unknown };
  const captured: CapturedPack[] = [];
  const original = policyModule.PolicyPack;
  policyModule.PolicyPack = class CapturedPolicyPack {
    constructor(name: string, args: CapturedPack["args"], initialConfig?: PolicyPackConfig) {
      captured.push({ name, args, ...(initialConfig ? { initialConfig } : {}) });
    }
  };
  try {
    loadBundled(entry);
  } catch (error) {
    throw new PolicyPackError(`${dir}: loading ${path.relative(root, entry)} failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    policyModule.PolicyPack = original;
  }
  if (captured.length !== 1) {
    throw new PolicyPackError(`${dir}: ${path.relative(root, entry)} must construct exactly one PolicyPack, it constructed ${captured.length}`);
  }
  const [pack] = captured as [CapturedPack];
  return {
    name: pack.name,
    version,
    policies: pack.args.policies ?? [],
    enforcementLevel: pack.args.enforcementLevel ?? "advisory",
    ...(pack.initialConfig ? { initialConfig: pack.initialConfig } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Enforcement config
// ---------------------------------------------------------------------------------------------

const LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

export interface PolicySettings {
  level: EnforcementLevel;
  properties: Record<string, unknown>;
}

export type ParsedConfig = Map<string, { level?: EnforcementLevel; properties: Record<string, unknown> }>;

/** Parses a `--policy-pack-config` document (object or JSON file) as the CLI does. */
export function parsePolicyPackConfig(config: PolicyPackConfig | string, source = "policy pack config"): ParsedConfig {
  let raw: unknown = config;
  if (typeof config === "string") {
    source = config;
    try {
      raw = JSON.parse(fs.readFileSync(config, "utf8"));
    } catch (error) {
      throw new PolicyPackError(`${config}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new PolicyPackError(`${source}: expected a JSON object of policy names`);
  const parsed: ParsedConfig = new Map();
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof value === "string") {
      if (!LEVELS.includes(value as EnforcementLevel)) throw new PolicyPackError(`${source}: ${name}: ${JSON.stringify(value)} is not a valid enforcement level`);
      parsed.set(name, { level: value as EnforcementLevel, properties: {} });
    } else if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      const { enforcementLevel, ...properties } = value as Record<string, unknown>;
      if (enforcementLevel !== undefined && !LEVELS.includes(enforcementLevel as EnforcementLevel)) {
        throw new PolicyPackError(`${source}: ${name}: ${JSON.stringify(enforcementLevel)} is not a valid enforcement level`);
      }
      parsed.set(name, { ...(enforcementLevel !== undefined ? { level: enforcementLevel as EnforcementLevel } : {}), properties });
    } else {
      throw new PolicyPackError(`${source}: ${name}: must be an enforcement level or an object`);
    }
  }
  return parsed;
}

function applyConfig(settings: Map<string, PolicySettings>, config: ParsedConfig): void {
  const all = config.get("all")?.level;
  if (all) for (const entry of settings.values()) entry.level = all;
  for (const [name, given] of config) {
    const entry = settings.get(name);
    if (!entry) continue; // like the CLI: config for a policy the pack lacks is ignored
    if (given.level) entry.level = given.level;
    Object.assign(entry.properties, given.properties);
  }
}

/** Each policy's effective level and config: schema defaults, initial config, given config, validated. */
export function reconcile(pack: LoadedPolicyPack, config: ParsedConfig | undefined): Map<string, PolicySettings> {
  const settings = new Map<string, PolicySettings>();
  for (const policy of pack.policies) {
    const properties: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
      if (typeof schema === "object" && "default" in schema) properties[key] = structuredClone(schema.default);
    }
    settings.set(policy.name, { level: policy.enforcementLevel ?? pack.enforcementLevel, properties });
  }
  if (pack.initialConfig) applyConfig(settings, parsePolicyPackConfig(pack.initialConfig, `${pack.name} initial config`));
  if (config) applyConfig(settings, config);

  // Every policy with a schema, its defaults included, as the CLI's validatePolicyPackConfig
  // (pulumi/pulumi pkg/resource/analyzer/config.go): a default its own schema refuses fails there.
  // validateSchema: false skips compiling the draft-07 meta-schema, about half the cost at start-up
  // (npm run bench, P1); Ajv's compile still throws on a malformed keyword (a "strin" type, a
  // non-array required, a bad pattern), as gojsonschema refuses the schema.
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false });
  const problems: string[] = [];
  for (const policy of pack.policies) {
    if (!policy.configSchema) continue;
    let validate: ReturnType<typeof ajv.compile>;
    try {
      validate = ajv.compile({ type: "object", properties: policy.configSchema.properties, ...(policy.configSchema.required ? { required: policy.configSchema.required } : {}) });
    } catch (error) {
      problems.push(`${policy.name}: invalid config schema: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    if (!validate(settings.get(policy.name)?.properties ?? {})) {
      for (const error of validate.errors ?? []) problems.push(`${policy.name}: ${error.instancePath.replace(/^\//, "").replace(/\//g, ".") || "(root)"} ${error.message ?? "is invalid"}`);
    }
  }
  if (problems.length > 0) throw new PolicyPackError(`policy pack ${pack.name}: invalid config:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  return settings;
}
