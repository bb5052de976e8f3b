/**
 * `npm run environments`: checks that every literal list GitHub and the policy pack need is what the
 * stack files say (components/config/environments.ts), and prints each stale one; exit 1 when any is.
 * `--write` regenerates them in place. `--promotes-to <stack>`, `--upstream <stack>` and
 * `--image-automation` answer the workflows' questions at run time (see {@link query}).
 *
 * What it writes, and nothing else of those files:
 * - in .github/workflows/*.yml, each line that ends with `# environments: <list>`: the flow list
 *   (`[staging, prod]`), the JSON inside `fromJSON('...')` or the one environment name
 *   (`environment: staging`) on that line. The rest of each
 *   workflow is hand-written and stays as it is;
 * - in policies/config/*.json, `protectedBranches` of `image-automation-no-prod-push` (the
 *   production branches, which no image automation may push to), `protectedBranches` and
 *   `environments` of `iam-github-oidc-trust` (every environment branch and environment, and the
 *   app repositories' release environment: what a writing CI role may trust) and
 *   `protectedBranches` of `github-ruleset-review` (every environment branch, whose rulesets must
 *   guard it);
 * - the README's policy table (tools/generate/policy-table.ts), whose columns are the config files in use;
 * - `.sops.yaml` (tools/generate/sops-config.ts): each environment's deploy paths and its SOPS key;
 * - the release matrix of templates/app-ci.yml (tools/generate/app-ci.ts): one entry per
 *   environment, with the Actions variables the program writes into the app repositories;
 * - `clusters/<env>/kustomization.yaml` of an environment that syncs the default path and has none
 *   yet (written once, never overwritten: environment-only objects go there);
 * - with `--write`, docs/threat-model.md's credential table (tools/generate/credential-table.ts), which runs
 *   every stack's program (its freshness is test/delivery/trust-boundary.test.ts's to check).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";
import { EnvironmentsError, readEnvironments, type Environments } from "../../components/config/environments";
import { APP_RELEASE_ENVIRONMENT } from "../../components/aws/ci-identity";
import { APP_CI_TEMPLATE, regenerateAppCi } from "./app-ci";
import { deriveCredentials, renderTable, withTable as withCredentialTable } from "./credential-table";
import { policyTable, withTable } from "./policy-table";
import { SOPS_CONFIG_FILE, sopsConfigText } from "./sops-config";

const projectRoot = path.resolve(__dirname, "..", "..");

/** The marker that makes a workflow line generated, and the list it holds. */
const MARKER = /\s#\s*environments:\s*([a-z-]+)\s*$/;

/** Every list a workflow line may hold, by marker name. */
export function generatedLists(envs: Environments): Record<string, string[]> {
  return {
    /** Every environment branch, in promotion order. */
    stacks: envs.list.map((e) => e.stack),
    /**
     * Production environments that receive promotions: they never run image automation, so new
     * tags reach them only from their upstream (the tag check of their pull requests).
     */
    "promoted-production": envs.list.filter((e) => e.production && e.upstream !== undefined).map((e) => e.stack),
    /**
     * The one GitHub environment the automation workflow's pull request job runs in (the deploy
     * App's key for that branch): the environment whose apps run image automation, else the first
     * in promotion order (the job then finds nothing to propose). A line holding one value.
     */
    "automation-environment": automationEnvironment(envs),
  };
}

/** The environment(s) the automation job may run in: one, unless several stacks run image automation. */
function automationEnvironment(envs: Environments): string[] {
  const automated = envs.list.filter((e) => e.imageAutomation).map((e) => e.stack);
  if (automated.length > 0) return automated;
  return envs.list.slice(0, 1).map((e) => e.stack);
}

/** A workflow's text with every marked line regenerated; unknown markers are problems. */
export function regenerateWorkflow(file: string, text: string, envs: Environments): { text: string; problems: string[] } {
  const lists = generatedLists(envs);
  const problems: string[] = [];
  const lines = text.split("\n").map((line, i) => {
    const marker = MARKER.exec(line);
    if (!marker) return line;
    const name = marker[1] ?? "";
    const value = lists[name];
    if (value === undefined) {
      problems.push(`${file}:${i + 1}: unknown list "${name}" (expected one of ${Object.keys(lists).join(", ")})`);
      return line;
    }
    const body = line.slice(0, marker.index);
    const json = /fromJSON\('([^']*)'\)/.exec(body);
    if (json) {
      // Single quotes end the expression's string literal; stack names never contain one.
      return `${body.slice(0, json.index)}fromJSON('${JSON.stringify(value)}')${body.slice(json.index + json[0].length)}${marker[0]}`;
    }
    const scalar = /^(\s*(?:- )?[\w-]+:\s*)([a-z0-9][a-z0-9-]*)(\s*)$/.exec(body);
    if (scalar) {
      if (value.length !== 1) {
        problems.push(`${file}:${i + 1}: a line marked "${name}" holds one environment, but ${value.length} stacks qualify (${value.join(", ")}); the automation job runs in one GitHub environment`);
        return line;
      }
      return `${scalar[1]}${value[0]}${scalar[3]}${marker[0]}`;
    }
    const flow = /^(\s*(?:- )?[\w-]+:\s*)\[[^\]]*\](.*)$/.exec(body);
    if (!flow) {
      problems.push(`${file}:${i + 1}: a line marked "${name}" must hold a flow list ([a, b]), fromJSON('[...]') or one environment name`);
      return line;
    }
    return `${flow[1]}[${value.join(", ")}]${flow[2]}${marker[0]}`;
  });
  return { text: lines.join("\n"), problems };
}

/** A policy pack config with `protectedBranches` of image-automation-no-prod-push set to `branches`. */
export function regeneratePolicyConfig(file: string, text: string, branches: readonly string[]): { text: string; problems: string[] } {
  return setRuleProperties(file, text, "image-automation-no-prod-push", { protectedBranches: branches });
}

/**
 * The lists each policy config holds from the stack files, by rule: the branches image automation
 * may not push to (production), the environment branches and GitHub environments a writing CI role
 * may trust, and the environment branches whose rulesets must guard them.
 */
export function policyConfigLists(envs: Environments): Record<string, Record<string, readonly string[]>> {
  const stacks = envs.list.map((e) => e.stack);
  return {
    "image-automation-no-prod-push": { protectedBranches: envs.list.filter((e) => e.production).map((e) => e.stack) },
    "iam-github-oidc-trust": { protectedBranches: stacks, environments: [...stacks, APP_RELEASE_ENVIRONMENT] },
    "github-ruleset-review": { protectedBranches: stacks },
  };
}

/** A policy config with every list of {@link policyConfigLists} written in. */
export function regeneratePolicyConfigLists(file: string, text: string, envs: Environments): { text: string; problems: string[] } {
  const problems: string[] = [];
  let current = text;
  for (const [rule, properties] of Object.entries(policyConfigLists(envs))) {
    const result = setRuleProperties(file, current, rule, properties);
    current = result.text;
    problems.push(...result.problems);
  }
  return { text: current, problems };
}

/** The one-line entry of `rule` with `properties` set, its level and other settings kept. */
function setRuleProperties(file: string, text: string, rule: string, properties: Record<string, readonly string[]>): { text: string; problems: string[] } {
  const line = new RegExp(`^(\\s*"${rule}":\\s*)(.*?)(,?)$`, "m");
  const match = line.exec(text);
  const names = Object.keys(properties).join(" and ");
  if (!match) return { text, problems: [`${file}: no line "${rule}": ...; add one (the generator fills in ${names})`] };
  let current: unknown;
  try {
    current = JSON.parse(match[2] ?? "");
  } catch {
    return { text, problems: [`${file}: "${rule}" must be on one line`] };
  }
  const settings: Record<string, unknown> =
    typeof current === "string" ? { enforcementLevel: current } : { ...((current ?? {}) as Record<string, unknown>) };
  const entry: Record<string, unknown> = { enforcementLevel: settings.enforcementLevel ?? "mandatory", ...settings, ...properties };
  const value = `{ ${Object.entries(entry)
    .map(([key, v]) => `${JSON.stringify(key)}: ${JSON.stringify(v).replace(/","/g, '", "')}`)
    .join(", ")} }`;
  return { text: text.replace(line, (_all, head: string, _value: string, comma: string) => `${head}${value}${comma}`), problems: [] };
}

/** The Kustomization a new environment's Flux sync starts from: what every environment shares. */
export function clusterKustomization(stack: string): string {
  return [
    `# What the ${stack} Flux sync applies (the FluxInstance's sync path), from the ${stack} branch.`,
    "# Environment-only objects go in this folder; what every environment shares comes from ../base.",
    "apiVersion: kustomize.config.k8s.io/v1beta1",
    "kind: Kustomization",
    "resources:",
    "  - ../base",
    "",
  ].join("\n");
}

function readOrEmpty(rootDir: string, file: string): string {
  const full = path.join(rootDir, file);
  return fs.existsSync(full) ? fs.readFileSync(full, "utf8") : "";
}

function readStackConfig(rootDir: string, file: string): Record<string, unknown> {
  const doc = load(fs.readFileSync(path.join(rootDir, file), "utf8")) as { config?: Record<string, unknown> } | null;
  return doc?.config ?? {};
}

/** Every generated file: its path (relative to the root), what it holds now and what it should hold. */
export function generatedFiles(rootDir: string = projectRoot): { files: { file: string; current: string; expected: string }[]; problems: string[] } {
  const envs = readEnvironments(rootDir);
  const files: { file: string; current: string; expected: string }[] = [];
  const problems: string[] = [];
  const workflows = path.join(rootDir, ".github", "workflows");
  for (const name of fs.readdirSync(workflows).filter((n) => /\.ya?ml$/.test(n)).sort()) {
    const file = path.join(".github", "workflows", name);
    const current = fs.readFileSync(path.join(rootDir, file), "utf8");
    // Only workflows that hold a generated list are generated files.
    if (!current.split("\n").some((line) => MARKER.test(line))) continue;
    const result = regenerateWorkflow(file, current, envs);
    problems.push(...result.problems);
    files.push({ file, current, expected: result.text });
  }
  const configs = path.join(rootDir, "policies", "config");
  for (const name of fs.readdirSync(configs).filter((n) => n.endsWith(".json")).sort()) {
    const file = path.join("policies", "config", name);
    const current = fs.readFileSync(path.join(rootDir, file), "utf8");
    const result = regeneratePolicyConfigLists(file, current, envs);
    problems.push(...result.problems);
    files.push({ file, current, expected: result.text });
  }
  try {
    files.push({ file: SOPS_CONFIG_FILE, current: readOrEmpty(rootDir, SOPS_CONFIG_FILE), expected: sopsConfigText(rootDir) });
  } catch (error) {
    problems.push(`${SOPS_CONFIG_FILE}: ${error instanceof Error ? error.message : String(error)}`);
  }
  for (const env of envs.list) {
    const repoPath = (readStackConfig(rootDir, env.file)[`gitops-platform:github`] as { configRepo?: { path?: unknown } } | undefined)?.configRepo?.path;
    const file = path.join("clusters", env.stack, "kustomization.yaml");
    // Only the default sync path, and only a missing folder: an existing one is the team's.
    if (repoPath !== undefined || fs.existsSync(path.join(rootDir, "clusters", env.stack))) continue;
    files.push({ file, current: "", expected: clusterKustomization(env.stack) });
  }
  const template = readOrEmpty(rootDir, APP_CI_TEMPLATE);
  const appCi = regenerateAppCi(template, envs);
  problems.push(...appCi.problems);
  files.push({ file: APP_CI_TEMPLATE, current: template, expected: appCi.text });
  const readme = fs.readFileSync(path.join(rootDir, "README.md"), "utf8");
  const policyConfigs = new Map(files.filter((f) => f.file.startsWith(path.join("policies", "config"))).map((f) => [f.file, f.expected]));
  const withPolicies = withTable(readme, policyTable(rootDir, policyConfigs));
  if (withPolicies === undefined) problems.push("README.md: no <!-- policy-table:start --> ... <!-- policy-table:end --> markers");
  files.push({ file: "README.md", current: readme, expected: withPolicies ?? readme });
  return { files, problems };
}

/**
 * Answers a workflow's question about one environment from the stack files, on stdout:
 * `--promotes-to <stack>` the JSON list of its downstream environments (the promote job's matrix),
 * `--upstream <stack>` the environment it receives promotions from (exit 1 when it has none).
 */
function query(option: string, stack: string, envs: Environments, io: Io): number {
  if (option === "--image-automation") {
    // One per line, in promotion order: the automation workflow plans each.
    io.out(envs.list.filter((e) => e.imageAutomation).map((e) => `${e.stack}\n`).join(""));
    return 0;
  }
  const env = envs.list.find((e) => e.stack === stack);
  if (env === undefined) {
    io.err(`environments: no stack ${JSON.stringify(stack)} (Pulumi.${stack}.yaml); the stacks are ${envs.list.map((e) => e.stack).join(", ")}\n`);
    return 1;
  }
  if (option === "--promotes-to") {
    io.out(`${JSON.stringify(env.downstream)}\n`);
    return 0;
  }
  if (env.upstream === undefined) {
    io.err(`environments: stack ${stack} receives no promotions (no gitops-platform:promotion edge into it)\n`);
    return 1;
  }
  io.out(`${env.upstream}\n`);
  return 0;
}

const USAGE = "usage: npm run environments [-- --write | --promotes-to <stack> | --upstream <stack> | --image-automation]";

/** Where the command writes: stdout and stderr, or a test's buffers. */
export interface Io {
  readonly out: (text: string) => unknown;
  readonly err: (text: string) => unknown;
}

export async function main(argv: readonly string[], rootDir: string = projectRoot, io: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }): Promise<number> {
  const [first, second] = argv;
  const queryOption = first === "--promotes-to" || first === "--upstream" || first === "--image-automation" ? first : undefined;
  const write = first === "--write" && argv.length === 1;
  const queryArgs = first === "--image-automation" ? 1 : 2;
  if ((queryOption !== undefined && argv.length !== queryArgs) || (queryOption === undefined && argv.length > 0 && !write)) {
    io.err(`environments: unexpected arguments ${argv.join(" ")}\n${USAGE}\n`);
    return 2;
  }
  let generated: ReturnType<typeof generatedFiles>;
  try {
    if (queryOption !== undefined) return query(queryOption, second ?? "", readEnvironments(rootDir), io);
    generated = generatedFiles(rootDir);
  } catch (error) {
    if (!(error instanceof EnvironmentsError)) throw error;
    for (const problem of error.problems) io.err(`environments: ${problem}\n`);
    return 1;
  }
  for (const problem of generated.problems) io.err(`environments: ${problem}\n`);
  const stale = generated.files.filter((f) => f.current !== f.expected);
  if (write) {
    for (const f of stale) {
      fs.mkdirSync(path.dirname(path.join(rootDir, f.file)), { recursive: true });
      fs.writeFileSync(path.join(rootDir, f.file), f.expected);
      io.out(`environments: wrote ${f.file}\n`);
    }
    if (generated.problems.length > 0) return 1;
    // Last: it reads the workflows and runs every stack's program as they now are.
    const page = path.join("docs", "threat-model.md");
    const { jobs, roles, stateSecrets } = await deriveCredentials(rootDir);
    const current = readOrEmpty(rootDir, page);
    const updated = withCredentialTable(current, renderTable(jobs, roles, stateSecrets));
    if (updated === undefined) {
      io.err(`environments: ${page} has no credential-table markers\n`);
      return 1;
    }
    if (updated !== current) {
      fs.writeFileSync(path.join(rootDir, page), updated);
      io.out(`environments: wrote ${page}\n`);
    }
    return 0;
  }
  for (const f of stale) {
    io.err(`environments: ${f.file} is ${f.current === "" ? "missing" : "stale"}; run \`npm run environments -- --write\`\n`);
    // The lines that differ, where the file keeps its length (the workflows, the policy configs).
    const [now, then] = [f.current.split("\n"), f.expected.split("\n")];
    if (now.length !== then.length) continue;
    now.forEach((line, i) => {
      if (line !== then[i]) io.err(`  ${f.file}:${i + 1}\n    - ${line.trim()}\n    + ${(then[i] ?? "").trim()}\n`);
    });
  }
  if (stale.length === 0 && generated.problems.length === 0) io.out(`environments: ${generated.files.length} generated files up to date\n`);
  return stale.length > 0 || generated.problems.length > 0 ? 1 : 0;
}
