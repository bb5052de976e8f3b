/**
 * `npm run plan`: runs the program offline for one stack and reports what it declares.
 * Exit status: 0 clean, 1 config error / failed program / mandatory policy violation, 2 usage error.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadStackConfig, runProgram, type PlanResult } from "../engine";
import { evaluatePolicies, projectPolicyPack, type PolicyPackSpec } from "../engine/policy";
import { parsePlanArgs, USAGE, UsageError, type PlanArgs } from "./args";
import { renderJson, renderTree, writeKubernetesObjects } from "./render";

export interface PlanIo {
  readonly cwd: string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const defaultIo: PlanIo = {
  cwd: process.cwd(),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs `plan` with these arguments; resolves to the exit status. */
export async function main(argv: readonly string[], io: PlanIo = defaultIo): Promise<number> {
  let args: PlanArgs;
  try {
    args = parsePlanArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`plan: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    io.stdout(`${USAGE}\n`);
    return 0;
  }

  const root = io.cwd;
  if (!fs.existsSync(path.join(root, "Pulumi.yaml"))) {
    io.stderr(`plan: no Pulumi.yaml in ${root}; run it from the project directory\n`);
    return 2;
  }
  const configFile = args.config === undefined ? undefined : path.resolve(root, args.config);
  const stackFile = configFile ?? path.join(root, `Pulumi.${args.stack}.yaml`);
  if (!fs.existsSync(stackFile)) {
    io.stderr(`plan: no stack config ${path.relative(root, stackFile) || stackFile} for stack ${JSON.stringify(args.stack)}\n`);
    return 2;
  }
  const entry = args.entry === undefined ? undefined : path.resolve(root, args.entry);
  if (entry !== undefined && !fs.existsSync(entry)) {
    io.stderr(`plan: --entry ${args.entry}: no such file\n`);
    return 2;
  }
  // This project's pack with the stack's enforcement, then each --policy-pack with its --policy-pack-config.
  const packs: PolicyPackSpec[] = args.ownPolicies ? [projectPolicyPack(args.stack, root)] : [];
  for (const [i, dir] of args.policyPacks.entries()) {
    const config = args.policyPackConfigs[i];
    for (const [flag, file, kind] of [["--policy-pack", dir, "directory"], ["--policy-pack-config", config, "file"]] as const) {
      if (file !== undefined && !fs.existsSync(path.resolve(root, file))) {
        io.stderr(`plan: ${flag} ${file}: no such ${kind}\n`);
        return 2;
      }
    }
    packs.push({ policies: path.resolve(root, dir), ...(config !== undefined ? { config: path.resolve(root, config) } : {}) });
  }

  let result: PlanResult;
  try {
    const stack = loadStackConfig(root, args.stack, configFile);
    result = await runProgram({
      stack: args.stack,
      project: stack.project,
      config: stack.config,
      secretKeys: stack.secretKeys,
      program: entry ?? stack.main,
    });
    result.policyViolations = await evaluatePolicies(result, packs);
  } catch (error) {
    io.stderr(`${describeFailure(error)}\n`);
    return 1;
  }

  if (args.out !== undefined) {
    try {
      const files = writeKubernetesObjects(result, path.resolve(root, args.out));
      if (!args.json) io.stderr(`wrote ${files.length} Kubernetes objects to ${args.out}\n`);
    } catch (error) {
      io.stderr(`plan: ${error instanceof Error ? error.message : String(error)}\n`);
      return 2;
    }
  }

  io.stdout(args.json ? renderJson(result) : renderTree(result));
  return result.policyViolations.some((v) => v.enforcementLevel === "mandatory") ? 1 : 0;
}

function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    // Config problems are the user's to fix: the message lists them all; a stack trace would bury it.
    if (error.name === "ConfigError") return `error: ${error.message}`;
    return process.env.PLAN_DEBUG ? `error: ${error.stack ?? error.message}` : `error: ${error.message}\n(set PLAN_DEBUG=1 for the stack trace)`;
  }
  return `error: ${String(error)}`;
}
