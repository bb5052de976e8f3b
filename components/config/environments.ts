/**
 * Environments as data. The stack files are the one source: each `Pulumi.<stack>.yaml` names its
 * environment (= stack = branch, `gitops-platform:github.configRepo.branch`), whether it is
 * production (`gitops-platform:production`), and its place in the order of promotion
 * (`gitops-platform:promotion`). Everything that needs the list of environments (the workflows'
 * literal lists, the policy levels, the tooling) derives it from here.
 *
 * Why the edges live in the stack files rather than in a separate list: a new environment is then
 * one new file. An edge may be written on either end, so adding a stack never edits another one:
 * a `dev` in front of staging says `promotion: {to: [staging]}`, a second production stack behind
 * staging says `promotion: {from: staging}`. Each environment has at most one upstream (a promotion
 * pull request has one head): chains and fan-outs, never fan-ins.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";
import { z } from "zod";
import { RFC1123_LABEL } from "../names";
import { tagCheckProblems } from "./promotion-checks";
import { at } from "./stack-values";
import { PROJECT } from "./values";

/** The stack config key holding an environment's place in the order of promotion. */
export const PROMOTION_KEY = `${PROJECT}:promotion`;

/** A stack (= environment = branch) name: a lowercase RFC 1123 label, as the environment key requires. */
/**
 * A stack name: it names the environment, its branch and the resources that carry it. Narrower than
 * an RFC 1123 label: the workflows' `stack-settings` (tools/ci/delivery/settings.mts, which runs
 * before any dependency is installed and so keeps its own copy) accepts a letter first and at most
 * 40 characters, and a stack file the workflows refuse must not pass here.
 */
const STACK_NAME = /^[a-z][a-z0-9-]{0,39}$/;
const STACK_NAME_RULE = "a lowercase letter, then lowercase letters, digits or '-', at most 40 characters";
const stackName = z.string().regex(RFC1123_LABEL, `expected a stack name: ${STACK_NAME_RULE}`).regex(STACK_NAME, `expected a stack name: ${STACK_NAME_RULE}`);

/** `gitops-platform:promotion`: the edges of the promotion graph this stack declares. */
export const promotionSection = z.strictObject({
  /** The environment whose promotion pull request this one receives (its upstream). @default none: a first environment */
  from: stackName.optional(),
  /** Environments this one's successful deploy opens a promotion pull request to. @default [] */
  to: z.array(stackName).default([]),
});

/** One environment as the stack files describe it. */
export interface Environment {
  /** Stack name, which is also the environment's name and branch. */
  readonly stack: string;
  /** The stack file, relative to the project root. */
  readonly file: string;
  /** `gitops-platform:production`. */
  readonly production: boolean;
  /** The environment it receives promotions from, if any. */
  readonly upstream?: string;
  /** The environments it promotes to, in promotion order. */
  readonly downstream: readonly string[];
  /** Whether an app of the stack runs image automation (`apps[].imageAutomation`). */
  readonly imageAutomation: boolean;
}

/** The environments of a project, in promotion order (upstream before downstream). */
export interface Environments {
  readonly list: readonly Environment[];
  /** Every promotion edge, head (upstream) to base (downstream), in promotion order. */
  readonly promotions: readonly { readonly from: string; readonly to: string }[];
}

/** Problems with the environment data, each naming the file and key path to change. */
export class EnvironmentsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid environments (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "EnvironmentsError";
  }
}

/** One parsed stack file: its name and its `config:` mapping. */
export interface StackDocument {
  readonly stack: string;
  readonly file: string;
  readonly config: Readonly<Record<string, unknown>>;
}

/** The stack files of a project directory (`Pulumi.<stack>.yaml`), sorted by stack name. */
export function stackFiles(rootDir: string): string[] {
  return fs
    .readdirSync(rootDir)
    .filter((name) => /^Pulumi\.[^.]+\.yaml$/.test(name))
    .sort();
}

/** Reads every stack file of `rootDir`; a file that does not parse is a problem, not a crash. */
export function readStackDocuments(rootDir: string): { documents: StackDocument[]; problems: string[] } {
  const documents: StackDocument[] = [];
  const problems: string[] = [];
  for (const file of stackFiles(rootDir)) {
    const stack = file.slice("Pulumi.".length, -".yaml".length);
    let parsed: unknown;
    try {
      parsed = load(fs.readFileSync(path.join(rootDir, file), "utf8"), { filename: file });
    } catch (error) {
      problems.push(`${file}: not valid YAML: ${(error as Error).message.split("\n")[0] ?? ""}`);
      continue;
    }
    const config = parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as { config?: unknown }).config : undefined;
    if (config === null || typeof config !== "object" || Array.isArray(config)) {
      problems.push(`${file}: config: expected a mapping of config keys`);
      continue;
    }
    documents.push({ stack, file, config: config as Record<string, unknown> });
  }
  return { documents, problems };
}

/** The environments of `rootDir`, validated; throws {@link EnvironmentsError} listing every problem. */
export function readEnvironments(rootDir: string): Environments {
  const { documents, problems } = readStackDocuments(rootDir);
  try {
    const environments = environmentsOf(documents);
    if (problems.length > 0) throw new EnvironmentsError(problems);
    return environments;
  } catch (error) {
    if (error instanceof EnvironmentsError) throw new EnvironmentsError([...problems, ...error.problems]);
    throw error;
  }
}

const quote = (value: unknown): string => JSON.stringify(value) ?? String(value);


interface Declared {
  readonly from: string;
  readonly to: string;
  /** Where the edge is written: `Pulumi.dev.yaml: gitops-platform:promotion.to[0]`. */
  readonly where: string;
}

/**
 * Validates the stack documents as one set of environments and returns them in promotion order.
 * Pure: reads nothing but its argument.
 */
export function environmentsOf(documents: readonly StackDocument[]): Environments {
  const problems: string[] = [];
  const byStack = new Map(documents.map((doc) => [doc.stack, doc]));
  const names = [...byStack.keys()].sort();
  const known = names.join(", ");
  const production = new Map<string, boolean>();
  const declared: Declared[] = [];
  const branches = new Map<string, string>();

  for (const doc of documents) {
    const where = (key: string) => `${doc.file}: ${PROJECT}:${key}`;
    if (!stackName.safeParse(doc.stack).success) {
      problems.push(`${doc.file}: stack name ${quote(doc.stack)}: expected ${STACK_NAME_RULE} (it names the environment, its branch and the workflows' stack)`);
    }
    const environment = doc.config[`${PROJECT}:environment`];
    if (environment !== doc.stack) {
      problems.push(`${where("environment")}: must equal the stack name ${quote(doc.stack)}, got ${quote(environment)}`);
    }
    const flag = doc.config[`${PROJECT}:production`] ?? false;
    if (typeof flag !== "boolean") problems.push(`${where("production")}: expected true or false, got ${quote(flag)}`);
    production.set(doc.stack, flag === true);

    const branch = at(doc.config[`${PROJECT}:github`], ["configRepo", "branch"]);
    if (typeof branch !== "string") {
      problems.push(`${where("github.configRepo.branch")}: required, the environment's branch (${quote(doc.stack)})`);
    } else {
      const other = branches.get(branch);
      if (other !== undefined) {
        problems.push(`${where("github.configRepo.branch")}: ${quote(branch)} is also the branch of stack ${other} (Pulumi.${other}.yaml); each environment needs its own branch`);
      } else {
        branches.set(branch, doc.stack);
      }
    }

    const parsed = promotionSection.optional().safeParse(doc.config[PROMOTION_KEY], { reportInput: true });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const keyPath = [PROMOTION_KEY, ...issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))].join("");
        if (issue.code === "unrecognized_keys") {
          for (const key of issue.keys) problems.push(`${doc.file}: ${keyPath}.${key}: unknown key (expected from or to)`);
        } else if (issue.code === "invalid_type") {
          const expected = issue.expected === "array" || issue.expected === "object" ? `an ${issue.expected}` : `a ${issue.expected}`;
          problems.push(`${doc.file}: ${keyPath}: expected ${expected}, got ${quote(issue.input)}`);
        } else {
          problems.push(`${doc.file}: ${keyPath}: ${issue.message.replace(/^Invalid input: /, "")}`);
        }
      }
      continue;
    }
    const promotion = parsed.data;
    if (promotion === undefined) continue;
    const check = (target: string, key: string): boolean => {
      if (target === doc.stack) {
        problems.push(`${where(key)}: a stack cannot promote to itself`);
        return false;
      }
      if (!byStack.has(target)) {
        problems.push(`${where(key)}: no stack ${quote(target)} (Pulumi.${target}.yaml); the stacks are ${known}`);
        return false;
      }
      return true;
    };
    if (promotion.from !== undefined && check(promotion.from, "promotion.from")) {
      declared.push({ from: promotion.from, to: doc.stack, where: where("promotion.from") });
    }
    promotion.to.forEach((target, i) => {
      if (check(target, `promotion.to[${i}]`)) declared.push({ from: doc.stack, to: target, where: where(`promotion.to[${i}]`) });
    });
  }

  // One edge may be written on both ends; it counts once.
  const edges = new Map<string, Declared>();
  for (const edge of declared) if (!edges.has(`${edge.from}>${edge.to}`)) edges.set(`${edge.from}>${edge.to}`, edge);
  const upstream = new Map<string, Declared>();
  for (const edge of edges.values()) {
    const previous = upstream.get(edge.to);
    if (previous !== undefined) {
      problems.push(
        `${edge.where}: ${edge.to} would receive promotions from both ${previous.from} (${previous.where}) and ${edge.from}; an environment has one upstream (one promotion pull request), so remove one of them`,
      );
      continue;
    }
    upstream.set(edge.to, edge);
    if (production.get(edge.from) === true && production.get(edge.to) === false) {
      problems.push(
        `${edge.where}: production stack ${edge.from} may not promote to non-production stack ${edge.to}; promotion runs from non-production towards production (set ${PROJECT}:production: true on ${edge.to}, or reverse the edge)`,
      );
    }
  }

  for (const { from, to } of upstream.values()) if (production.get(to) === true) problems.push(...tagCheckProblems(byStack.get(to), from));
  problems.push(...accountClashes(documents));

  // Image automation writes the tags every environment shares (clusters/base): in two environments
  // of one chain, both bump the same lines on their branches and every promotion between them
  // conflicts. Tags change in one place and travel downstream by promotion.
  for (const doc of documents) {
    const app = automatedApp(doc.config);
    if (app === undefined) continue;
    const seen = new Set([doc.stack]);
    for (let up = upstream.get(doc.stack)?.from; up !== undefined && !seen.has(up); up = upstream.get(up)?.from) {
      seen.add(up);
      if (automatedApp(byStack.get(up)?.config ?? {}) !== undefined) {
        problems.push(
          `${doc.file}: ${PROJECT}:apps[${app}].imageAutomation: ${up}, upstream of ${doc.stack}, runs image automation too; both would bump the shared image tags and every promotion ${up} → ${doc.stack} would conflict: keep it in one of them (the first that should get new images)`,
        );
        break;
      }
    }
  }

  // Cycles: follow each stack's upstream chain; a chain that returns to where it started is one.
  const reported = new Set<string>();
  for (const start of names) {
    const chain = [start];
    let current = upstream.get(start)?.from;
    while (current !== undefined && !chain.includes(current)) {
      chain.push(current);
      current = upstream.get(current)?.from;
    }
    if (current === undefined) continue;
    const loop = chain.slice(chain.indexOf(current)).reverse();
    const key = [...loop].sort().join(",");
    if (reported.has(key)) continue;
    reported.add(key);
    const first = loop.indexOf([...loop].sort()[0] ?? "");
    const ordered = [...loop.slice(first), ...loop.slice(0, first)];
    problems.push(
      `promotion cycle ${[...ordered, ordered[0]].join(" → ")} (${ordered.map((_, i) => upstream.get(ordered[(i + 1) % ordered.length] ?? "")?.where).join("; ")}); promotion must end somewhere: remove one of these edges`,
    );
  }

  if (problems.length > 0) throw new EnvironmentsError(problems);

  // Promotion order: by distance from a first environment, then by name.
  const depth = (stack: string): number => {
    const from = upstream.get(stack)?.from;
    return from === undefined ? 0 : depth(from) + 1;
  };
  const ordered = [...names].sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));
  const rank = new Map(ordered.map((stack, i) => [stack, i]));
  const promotions = [...edges.values()]
    .map(({ from, to }) => ({ from, to }))
    .sort((a, b) => (rank.get(a.from) ?? 0) - (rank.get(b.from) ?? 0) || (rank.get(a.to) ?? 0) - (rank.get(b.to) ?? 0));
  const list = ordered.map((stack): Environment => {
    const from = upstream.get(stack)?.from;
    return {
      stack,
      file: byStack.get(stack)?.file ?? `Pulumi.${stack}.yaml`,
      production: production.get(stack) === true,
      ...(from !== undefined ? { upstream: from } : {}),
      downstream: promotions.filter((p) => p.from === stack).map((p) => p.to),
      imageAutomation: runsImageAutomation(byStack.get(stack)?.config ?? {}),
    };
  });
  return { list, promotions };
}

/**
 * What two stacks in one AWS account may not both do. The GitHub OIDC provider is one per account
 * (its ARN is fixed by its URL), so exactly one stack there creates it and the others set
 * `ci.createOidcProvider: false` and trust it; and two stacks managing one cluster would fight over
 * its Flux installation. Everything else a stack names in the account carries its environment
 * (roles `<env>-ci-*`, ECR `<env>/<app>`, the SOPS alias `alias/gitops-platform/<env>/...`).
 */
function accountClashes(documents: readonly StackDocument[]): string[] {
  const problems: string[] = [...repositoryClashes(documents)];
  const oidcCreators = new Map<string, string>();
  const clusters = new Map<string, string>();
  for (const doc of documents) {
    const account = at(doc.config[`${PROJECT}:aws`], ["accountId"]);
    if (typeof account !== "string") continue;
    if (at(doc.config[`${PROJECT}:ci`], ["createOidcProvider"]) !== false) {
      const other = oidcCreators.get(account);
      if (other !== undefined) {
        problems.push(
          `${doc.file}: ${PROJECT}:ci.createOidcProvider: stack ${other} (Pulumi.${other}.yaml) already creates the GitHub OIDC provider of account ${account}, which is one per account; set it to false here to use that one`,
        );
      } else {
        oidcCreators.set(account, doc.stack);
      }
    }
    const region = doc.config["aws:region"];
    const cluster = at(doc.config[`${PROJECT}:aws`], ["clusterName"]);
    if (typeof cluster !== "string") continue;
    const key = `${account}/${String(region)}/${cluster}`;
    const other = clusters.get(key);
    if (other !== undefined) {
      problems.push(
        `${doc.file}: ${PROJECT}:aws.clusterName: stack ${other} (Pulumi.${other}.yaml) already manages cluster ${cluster} in account ${account} (${String(region)}); each environment needs its own cluster`,
      );
    } else {
      clusters.set(key, doc.stack);
    }
  }
  return problems;
}

/**
 * The config repository's GitHub Actions settings (`github.configRepo.actionsSettings`, on by
 * default) are declared by exactly one stack per repository: two would fight over one setting, and
 * none would leave the token's default and approval by Actions as the repository happens to have
 * them, where docs/threat-model.md relies on a read-only token and no approval by Actions.
 */
function repositoryClashes(documents: readonly StackDocument[]): string[] {
  const problems: string[] = [];
  const owners = new Map<string, string>();
  const filesOf = new Map<string, string[]>();
  for (const doc of documents) {
    const configRepo = at(doc.config[`${PROJECT}:github`], ["configRepo"]);
    const repo = at(configRepo, ["repo"]);
    if (typeof repo !== "string") continue;
    filesOf.set(repo, [...(filesOf.get(repo) ?? []), doc.file]);
    if (at(configRepo, ["actionsSettings"]) === false) continue;
    const other = owners.get(repo);
    if (other === undefined) owners.set(repo, doc.stack);
    else problems.push(`${doc.file}: ${PROJECT}:github.configRepo.actionsSettings: stack ${other} (Pulumi.${other}.yaml) already declares the GitHub Actions settings of ${repo}, which are one per repository; set it to false here`);
  }
  for (const [repo, files] of filesOf) {
    if (owners.has(repo)) continue;
    problems.push(`${files.join(", ")}: ${PROJECT}:github.configRepo.actionsSettings: no stack declares the GitHub Actions settings of ${repo} (read-only workflow token, Actions never approve pull requests); exactly one stack per config repository must declare them: set it to true (the default) in one of these files`);
  }
  return problems;
}

/** The index of the first app of a stack that runs image automation, if any. */
function automatedApp(config: Readonly<Record<string, unknown>>): number | undefined {
  const apps = config[`${PROJECT}:apps`];
  const index = Array.isArray(apps) ? apps.findIndex((app) => at(app, ["imageAutomation"]) !== undefined) : -1;
  return index < 0 ? undefined : index;
}

const runsImageAutomation = (config: Readonly<Record<string, unknown>>): boolean => automatedApp(config) !== undefined;

/** The policy pack config of a kind of environment, when a stack has no file of its own. */
export const KIND_POLICY_CONFIG = { production: "production.json", nonProduction: "non-production.json" } as const;

/**
 * The policy pack config file a stack runs with, relative to the project root: its own
 * `policies/config/<stack>.json` if there is one, else the levels its kind implies
 * (`production.json` for `production: true`, `non-production.json` otherwise). A pack's policies
 * never see the stack's config; the CLI hands a pack its config as one JSON file
 * (`--policy-pack-config`), as Pulumi Cloud's policy groups do per group of stacks
 * (pulumi.com/docs/using-pulumi/crossguard/configuration). So the kind is resolved here, once, for
 * the workflows (stack-settings of tools/ci/delivery) and the offline plan alike.
 */
export function policyConfigFile(rootDir: string, stack: string, production: boolean): string {
  const own = path.join("policies", "config", `${stack}.json`);
  if (fs.existsSync(path.join(rootDir, own))) return own;
  return path.join("policies", "config", production ? KIND_POLICY_CONFIG.production : KIND_POLICY_CONFIG.nonProduction);
}
