/**
 * Command-line arguments of `plan`. Usage errors are reported with exit status 2.
 */
import { parseArgs } from "node:util";

export const USAGE = `usage: npm run plan -- --stack <name> [options]

Runs the program offline under Pulumi's mock runtime, as \`pulumi preview\` would, and prints every
resource it declares, the stack outputs and the policy verdicts.

options:
  --stack <name>               stack to plan (reads Pulumi.<name>.yaml)            (required)
  --json                       print one JSON document instead of the tree
  --entry <file>               run another Pulumi program (TS or JS) instead of Pulumi.yaml's main
  --config <file>              read the stack config from this file instead of Pulumi.<name>.yaml
  --out <dir>                  write every rendered Kubernetes object as YAML, one file per object
  --diff <git-ref>             also plan the stack at <git-ref> (a temporary git worktree) and show
                               what changes against it: created, updated, replaced, deleted
  --policy-pack <dir>          also evaluate this CrossGuard policy pack (repeatable)
  --policy-pack-config <file>  enforcement config for the packs (repeatable, in --policy-pack order)
  --no-policy                  skip this project's own policy pack
  -h, --help                   show this help

exit status: 0 clean, 1 config error, failed program or mandatory policy violation, 2 usage error`;

export interface PlanArgs {
  readonly stack: string;
  readonly json: boolean;
  readonly entry?: string;
  readonly config?: string;
  readonly out?: string;
  readonly diff?: string;
  readonly policyPacks: string[];
  readonly policyPackConfigs: string[];
  readonly ownPolicies: boolean;
  readonly help: boolean;
}

/** Thrown for bad command-line usage (exit status 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export function parsePlanArgs(argv: readonly string[]): PlanArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        stack: { type: "string" },
        json: { type: "boolean", default: false },
        entry: { type: "string" },
        config: { type: "string" },
        out: { type: "string" },
        diff: { type: "string" },
        "policy-pack": { type: "string", multiple: true, default: [] },
        "policy-pack-config": { type: "string", multiple: true, default: [] },
        "no-policy": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values } = parsed;
  if (values.help) return { stack: "", json: false, policyPacks: [], policyPackConfigs: [], ownPolicies: true, help: true };
  if (!values.stack) throw new UsageError("--stack <name> is required");
  if (!/^[A-Za-z0-9_.-]+$/.test(values.stack)) throw new UsageError(`--stack: expected a stack name (letters, digits, '-', '_', '.'), got ${JSON.stringify(values.stack)}`);
  const packs = values["policy-pack"] ?? [];
  const configs = values["policy-pack-config"] ?? [];
  if (configs.length > packs.length) throw new UsageError("--policy-pack-config: each one needs a --policy-pack before it");
  for (const [flag, value] of [["--entry", values.entry], ["--config", values.config], ["--out", values.out]] as const) {
    if (value !== undefined && value.trim() === "") throw new UsageError(`${flag}: expected a path`);
  }
  if (values.diff !== undefined && (values.diff.trim() === "" || values.diff.startsWith("-"))) throw new UsageError(`--diff: expected a git revision (branch, tag or commit), got ${JSON.stringify(values.diff)}`);
  return {
    stack: values.stack,
    json: values.json ?? false,
    ...(values.entry !== undefined ? { entry: values.entry } : {}),
    ...(values.config !== undefined ? { config: values.config } : {}),
    ...(values.out !== undefined ? { out: values.out } : {}),
    ...(values.diff !== undefined ? { diff: values.diff } : {}),
    policyPacks: packs,
    policyPackConfigs: configs,
    ownPolicies: !(values["no-policy"] ?? false),
    help: false,
  };
}
