/**
 * `npm run plan`: runs the program offline for one stack and reports what it declares.
 * Exit status: 0 clean, 1 config error / failed program / mandatory policy violation, 2 usage error.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadStackConfig, runProgram, StackFileError, type PlanResult } from "../engine";
import { evaluatePolicies, projectPolicyPack, type PolicyPackSpec } from "../engine/policy";
import { parsePlanArgs, USAGE, UsageError, type PlanArgs } from "./args";
import { diffPlans, type PlanDiff } from "./diff";
import { PlanError } from "./errors";
import { withRevision } from "./git-ref";
import { renderJson, renderTree, writeKubernetesObjects } from "./render";

export interface PlanIo {
  /** The project directory (where Pulumi.yaml is). */
  readonly cwd: string;
  /**
   * Where the user ran the command: relative paths given as options resolve from here, and
   * messages name files relative to it. `npm run` moves to the project directory and passes the
   * original one as INIT_CWD. @default cwd
   */
  readonly userCwd?: string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const defaultIo: PlanIo = {
  cwd: process.cwd(),
  userCwd: process.env.INIT_CWD ?? process.cwd(),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs `plan` with these arguments; resolves to the exit status. */
export async function main(argv: readonly string[], io: PlanIo = defaultIo): Promise<number> {
  const json = argv.includes("--json");
  const fail = (message: string, code: 1 | 2, extra: Record<string, unknown> = {}) => {
    io.stderr(`${message}\n`);
    // With --json, a failure is a JSON document too, so a consumer of stdout never parses half a plan.
    if (json) io.stdout(`${JSON.stringify({ error: { message: message.replace(/^(plan|error): /, ""), exitCode: code, ...extra } }, null, 2)}\n`);
    return code;
  };
  let args: PlanArgs;
  try {
    args = parsePlanArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (json) return fail(`plan: ${error.message}`, 2);
    io.stderr(`plan: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  try {
    return await plan(args, io);
  } catch (error) {
    if (error instanceof PlanError) return fail(error.exitCode === 2 ? `plan: ${error.message}` : `error: ${error.message}`, error.exitCode, error.location ?? {});
    if (error instanceof StackFileError) {
      const where = { file: error.file, ...(error.line !== undefined ? { line: error.line, column: error.column } : {}) };
      return fail(`error: ${error.message}`, 1, where);
    }
    return fail(describeFailure(error), 1);
  }
}

async function plan(args: PlanArgs, io: PlanIo): Promise<number> {
  const root = io.cwd;
  const here = io.userCwd ?? root;
  const fromUser = (file: string) => path.resolve(here, file);
  const show = (file: string) => {
    const relative = path.relative(here, file);
    return relative === "" ? "." : relative.startsWith(`..${path.sep}..`) ? file : relative;
  };
  if (!fs.existsSync(path.join(root, "Pulumi.yaml"))) throw new PlanError(`no Pulumi.yaml in ${root}; run it from the project directory`, 2);
  const configFile = args.config === undefined ? undefined : fromUser(args.config);
  const stackFile = configFile ?? path.join(root, `Pulumi.${args.stack}.yaml`);
  if (!fs.existsSync(stackFile)) {
    if (configFile !== undefined) throw new PlanError(`--config ${args.config}: no such file`, 2);
    const stacks = fs
      .readdirSync(root)
      .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
      .filter((name): name is string => name !== undefined)
      .sort();
    const known = stacks.length ? `; stacks here: ${stacks.join(", ")}` : "; no Pulumi.<stack>.yaml here";
    throw new PlanError(`no stack config ${show(stackFile)} for stack ${JSON.stringify(args.stack)}${known}`, 2);
  }
  const entry = args.entry === undefined ? undefined : fromUser(args.entry);
  if (entry !== undefined && !fs.existsSync(entry)) throw new PlanError(`--entry ${args.entry}: no such file`, 2);
  // This project's pack with the stack's enforcement, then each --policy-pack with its --policy-pack-config.
  const stack = loadStackConfig(root, args.stack, configFile, show);
  const production = stack.config["gitops-platform:production"] === true;
  const packs: PolicyPackSpec[] = args.ownPolicies ? [projectPolicyPack(args.stack, root, production)] : [];
  for (const [i, dir] of args.policyPacks.entries()) {
    const config = args.policyPackConfigs[i];
    for (const [flag, file, kind] of [["--policy-pack", dir, "directory"], ["--policy-pack-config", config, "file"]] as const) {
      if (file !== undefined && !fs.existsSync(fromUser(file))) throw new PlanError(`${flag} ${file}: no such ${kind}`, 2);
    }
    packs.push({ policies: fromUser(dir), ...(config !== undefined ? { config: fromUser(config) } : {}) });
  }

  const result = await runProgram({ stack: args.stack, project: stack.project, config: stack.config, secretKeys: stack.secretKeys, program: entry ?? stack.main, cwd: root });
  result.policyViolations = await evaluatePolicies(result, packs);
  const diff = args.diff === undefined ? undefined : await diffAgainst(args.diff, args.stack, root, result);

  if (args.out !== undefined) {
    try {
      const files = writeKubernetesObjects(result, fromUser(args.out));
      if (!args.json) io.stderr(`wrote ${files.length} Kubernetes objects to ${args.out}\n`);
    } catch (error) {
      throw new PlanError(error instanceof Error ? error.message : String(error), 2);
    }
  }

  io.stdout(args.json ? renderJson(result, diff) : renderTree(result, diff));
  const mandatory = result.policyViolations.filter((v) => v.enforcementLevel === "mandatory");
  // Named on stderr too, where a CI log shows it even when stdout goes to a file or a comment.
  if (!args.json) for (const v of mandatory) io.stderr(`plan: mandatory policy violation: [${v.policyPack}] ${v.policyName}${v.resource ? ` ${v.resource}` : ""}: ${v.message}\n`);
  return mandatory.length ? 1 : 0;
}

/**
 * Plans the same stack at `ref` and compares: the revision's own program and stack file, in a
 * temporary worktree. A revision without the stack file (or without the project) had nothing
 * deployed: everything is created.
 */
async function diffAgainst(ref: string, stackName: string, root: string, head: PlanResult): Promise<PlanDiff> {
  const base = await withRevision(root, ref, async (dir) => {
    const empty: PlanResult = { ...head, resources: [], outputs: {}, outputSecretPaths: [], policyViolations: [] };
    if (!fs.existsSync(path.join(dir, "Pulumi.yaml")) || !fs.existsSync(path.join(dir, `Pulumi.${stackName}.yaml`))) return empty;
    const show = (file: string) => `${ref}:${path.relative(dir, file)}`;
    const stack = loadStackConfig(dir, stackName, undefined, show);
    try {
      return await runProgram({ stack: stackName, project: stack.project, config: stack.config, secretKeys: stack.secretKeys, program: stack.main, cacheBundle: false, cwd: dir });
    } catch (error) {
      throw new PlanError(`--diff ${ref}: the plan of ${ref} failed: ${error instanceof Error ? error.message : String(error)}`, 1);
    }
  });
  return diffPlans(base, head, ref);
}

function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    // Config problems are the user's to fix: the message lists them all; a stack trace would bury it.
    if (error.name === "ConfigError" || error.name === "ExpansionError") return `error: ${error.message}`;
    return process.env.PLAN_DEBUG ? `error: ${error.stack ?? error.message}` : `error: ${error.message}\n(set PLAN_DEBUG=1 for the stack trace)`;
  }
  return `error: ${String(error)}`;
}
