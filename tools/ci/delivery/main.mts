// The delivery workflows' command line (.github/workflows): `node tools/ci/delivery/main.mts <command>`
// right after `npm ci` on Node 24, which runs this TypeScript as it is.
//
//   stack-settings --stack <s> --role preview|drift|deploy [--root <dir>]
//                                                           reads VARS (toJSON(vars)), writes outputs
//   preview-comment --stack <s> --plan-exit <n> --plan-log <f> [--preview-exit <n> --preview-log <f>]
//                   [--sha <sha>] --out <f>                 writes the comment; output `body`
//   drift-report --stack <s> --exit-code <n> --log <f> --out <f>   writes the issue body; output `outcome`
//   automation-scope [--plan <f>]...                        output `scope` (JSON), one --plan per stack
//
// Outputs go to $GITHUB_OUTPUT, summaries to $GITHUB_STEP_SUMMARY (both optional, for local runs).
// The github-script steps call syncDriftIssue (./drift.mts), syncPreviewComment (./preview.mts),
// syncPromotionPullRequest (./promote.mts) and syncAutomationPullRequest (./automation.mts).
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { automationScope } from "./automation.mts";
import { classifyDrift, driftIssueBody } from "./drift.mts";
import { DeliveryConfigError } from "./errors.mts";
import { previewComment } from "./preview.mts";
import { stackSettings } from "./settings.mts";

type Env = Record<string, string | undefined>;
interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}
type Values = Partial<Record<"stack" | "role" | "plan-exit" | "plan-log" | "preview-exit" | "preview-log" | "exit-code" | "log" | "sha" | "out" | "root", string> & { plan: string[] }>;

function runUrlFrom(env: Env): string {
  const server = env.GITHUB_SERVER_URL ?? "https://github.com";
  return env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
    ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
    : "(local run, no run log)";
}

function setOutput(env: Env, name: string, value: string): void {
  if (!env.GITHUB_OUTPUT) return;
  if (!value.includes("\n")) {
    fs.appendFileSync(env.GITHUB_OUTPUT, `${name}=${value}\n`);
    return;
  }
  // A random delimiter, so no line of the value can end the block early.
  const delimiter = `EOF_${crypto.randomBytes(16).toString("hex")}`;
  fs.appendFileSync(env.GITHUB_OUTPUT, `${name}<<${delimiter}\n${value}\n${delimiter}\n`);
}

function appendSummary(env: Env, text: string): void {
  if (env.GITHUB_STEP_SUMMARY) fs.appendFileSync(env.GITHUB_STEP_SUMMARY, `${text}\n`);
}

function exitCodeOption(value: string | undefined, name: string): number | null {
  if (value === undefined || value === "") return null;
  if (!/^\d+$/.test(value)) throw new DeliveryConfigError([`--${name} "${value}": expected an exit status`]);
  return Number(value);
}

function readLog(file: string | undefined): string {
  return file && fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
}

const USAGE = [
  "usage: node tools/ci/delivery/main.mts stack-settings --stack <s> --role preview|drift|deploy [--root <dir>]",
  "       node tools/ci/delivery/main.mts preview-comment --stack <s> --plan-exit <n> --plan-log <f> [--preview-exit <n> --preview-log <f>] [--sha <sha>] --out <f>",
  "       node tools/ci/delivery/main.mts drift-report --stack <s> --exit-code <n> --log <f> [--sha <sha>] --out <f>",
  "       node tools/ci/delivery/main.mts automation-scope [--plan <f>]...",
].join("\n");

/**
 * Runs one command; returns the exit status (0 ok, 1 failed, 2 usage). `io.stdout`/`io.stderr`
 * receive text; `env` supplies VARS, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and the run's identity.
 */
export function main(argv: readonly string[], env: Env, io: Io = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) }, rootDir = path.resolve(import.meta.dirname, "..", "..", "..")): number {
  const [command, ...rest] = argv;
  let values: Values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        stack: { type: "string" },
        role: { type: "string" },
        "plan-exit": { type: "string" },
        "plan-log": { type: "string" },
        "preview-exit": { type: "string" },
        "preview-log": { type: "string" },
        "exit-code": { type: "string" },
        log: { type: "string" },
        sha: { type: "string" },
        out: { type: "string" },
        root: { type: "string" },
        plan: { type: "string", multiple: true },
      },
    }));
  } catch (error) {
    io.stderr(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const runUrl = runUrlFrom(env);
  try {
    switch (command) {
      case "stack-settings": {
        let vars: Record<string, string | undefined> | null;
        try {
          vars = JSON.parse(env.VARS ?? "{}") as Record<string, string | undefined> | null;
        } catch {
          throw new DeliveryConfigError(["VARS: expected the JSON of the vars context (toJSON(vars))"]);
        }
        const settings = stackSettings({ rootDir: values.root ? path.resolve(values.root) : rootDir, stack: values.stack, role: values.role, vars: vars ?? {} });
        setOutput(env, "backend-url", settings.backendUrl);
        setOutput(env, "role-arn", settings.roleArn);
        setOutput(env, "region", settings.region);
        setOutput(env, "account-id", settings.accountId);
        setOutput(env, "github-owner", settings.githubOwner);
        setOutput(env, "github-repositories", settings.githubRepositories.join(","));
        setOutput(env, "policy-config", settings.policyConfig);
        io.stdout(`stack ${values.stack}: backend ${settings.backendUrl}, role ${settings.roleArn}, region ${settings.region}\n`);
        return 0;
      }
      case "preview-comment": {
        if (!values.stack || !values.out) break;
        const previewExit = exitCodeOption(values["preview-exit"], "preview-exit");
        const body = previewComment({
          stack: values.stack,
          sha: values.sha ?? env.GITHUB_SHA,
          runUrl,
          plan: { exitCode: exitCodeOption(values["plan-exit"], "plan-exit"), log: readLog(values["plan-log"]) },
          preview: values["preview-log"] !== undefined ? { exitCode: previewExit, log: readLog(values["preview-log"]) } : null,
        });
        fs.writeFileSync(values.out, body);
        setOutput(env, "body", body);
        appendSummary(env, body);
        return 0;
      }
      case "drift-report": {
        if (!values.stack || !values.out) break;
        const exitCode = exitCodeOption(values["exit-code"], "exit-code");
        const log = readLog(values.log);
        const outcome = classifyDrift(exitCode, log);
        setOutput(env, "outcome", outcome);
        if (outcome === "error") {
          io.stderr(`::error::pulumi preview of stack ${values.stack} failed (exit ${exitCode}) for a reason other than drift; see the log above\n`);
          appendSummary(env, `### Drift check of \`${values.stack}\`: ❌ error (exit ${exitCode}), see the log`);
          return 1;
        }
        const body = outcome === "drift"
          ? driftIssueBody({ stack: values.stack, sha: values.sha ?? env.GITHUB_SHA, runUrl, log, detectedAt: new Date().toISOString() })
          : "";
        fs.writeFileSync(values.out, body);
        appendSummary(env, outcome === "drift" ? body : `### Drift check of \`${values.stack}\`: ✅ no drift`);
        io.stdout(`stack ${values.stack}: ${outcome}\n`);
        return 0;
      }
      case "automation-scope": {
        // One plan per stack that runs image automation (none: nothing to propose).
        const scope = (values.plan ?? []).flatMap((file) => {
          let plan: unknown;
          try {
            plan = JSON.parse(fs.readFileSync(file, "utf8"));
          } catch (error) {
            throw new DeliveryConfigError([`${file}: expected the JSON of \`npm run plan -- --json\` (${(error as Error).message})`]);
          }
          return automationScope(plan);
        });
        setOutput(env, "scope", JSON.stringify(scope));
        for (const { base, head, paths, policies } of scope) {
          io.stdout(`${head} -> ${base}: tags of ${policies.join(", ") || "no image policy"} under ${paths.join(", ")}\n`);
        }
        if (scope.length === 0) io.stdout("no image automation\n");
        return 0;
      }
      default:
        break;
    }
  } catch (error) {
    if (error instanceof DeliveryConfigError) {
      for (const problem of error.problems) io.stderr(`::error::${problem}\n`);
      return 1;
    }
    throw error;
  }
  io.stderr(`${USAGE}\n`);
  return 2;
}

if (import.meta.main) {
  process.exitCode = main(process.argv.slice(2), process.env);
}
