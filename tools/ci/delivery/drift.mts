// Drift: tell drift from errors in a `pulumi preview --refresh --expect-no-changes` log, write the
// drift issue's body, and open, update or close that issue (from the drift workflow's github-script
// step, which loads this module with require()).
import * as fs from "node:fs";
import { repoOf, runUrlOf, type StepArgs } from "./github.mts";
import { BODY_LIMIT, BODY_MARGIN, byteLength, codeBlock, fitBody, plural, resourceSummary, shortSha, stripAnsi, truncateMiddle } from "./text.mts";

/** Hidden marker of drift issues. */
export const DRIFT_MARKER = "<!-- gitops-platform:drift -->";
/** Label of drift issues. */
export const DRIFT_LABEL = "drift";
/** The author of issues the workflow token opens: only its own issues are updated or closed. */
const WORKFLOW_BOT = "github-actions[bot]";

/** A resource a `pulumi preview --diff` log says would change. */
export interface DriftedResource {
  readonly operation: string;
  readonly type: string;
  /** The URN's name part, or "(name not shown)". */
  readonly name: string;
  /** The URN, or "" when the log showed none. */
  readonly urn: string;
}

/** What syncDriftIssue did. */
export interface DriftIssueResult {
  readonly action: "opened" | "updated" | "closed" | "none" | "failed";
  readonly number?: number;
}

/** An issue as the REST API returns it: the fields read here. */
interface Issue {
  readonly number: number;
  readonly title: string;
  readonly html_url: string;
  readonly pull_request?: unknown;
  readonly user?: { readonly login?: string } | null;
}

/** The part of actions/github-script's octokit (`github`) this module uses; its answers are read as the REST API documents them. */
export interface IssuesClient {
  paginate(method: unknown, params: Record<string, unknown>): Promise<unknown>;
  readonly rest: {
    readonly issues: {
      listForRepo: unknown;
      update(params: Record<string, unknown>): Promise<unknown>;
      getLabel(params: Record<string, unknown>): Promise<unknown>;
      createLabel(params: Record<string, unknown>): Promise<unknown>;
      create(params: Record<string, unknown>): Promise<{ data: unknown }>;
      createComment(params: Record<string, unknown>): Promise<unknown>;
    };
  };
}

export interface SyncDriftIssueArgs {
  readonly github: IssuesClient;
  readonly core: { info(message: string): void; warning(message: string): void; setFailed(message: string): void };
  readonly owner: string;
  readonly repo: string;
  readonly stack: string;
  readonly outcome: string | undefined;
  readonly body: string;
  readonly runUrl: string;
}

// `--expect-no-changes` ends with one of these, depending on the CLI version; any other failure
// (credentials, a locked stack, a broken program) is an error, not drift.
const NO_CHANGES_EXPECTED = /no changes were expected(?: for \w+)? but changes (?:were proposed|occurred)/;

/** clean (exit 0), drift (changes found) or error (anything else). */
export function classifyDrift(exitCode: number | null, log: string): "clean" | "drift" | "error" {
  if (exitCode === 0) return "clean";
  if (NO_CHANGES_EXPECTED.test(stripAnsi(log))) return "drift";
  return "error";
}

/** Operations of `pulumi preview --diff` that mean the cloud and the state differ. */
const DRIFT_OPERATIONS = new Set(["create", "update", "delete", "replace", "create-replacement", "delete-replaced", "import"]);

/**
 * The resources a `pulumi preview --diff` log says would change: each `<symbol> <type>: (<op>)` line
 * with the `[urn=...]` line under it (Pulumi's diff display; see the output quoted in
 * pulumi/mcp-server#1), in order, once per URN. `(same)`, `(read)` and `(refresh)` are not changes.
 */
export function driftedResources(log: string): DriftedResource[] {
  const lines = stripAnsi(log).split("\n");
  const found: DriftedResource[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i += 1) {
    const head = /^\s*(?:[-+~<>*]{1,2}\s+)?([A-Za-z][\w.-]*:[\w./-]*:[\w.-]+): \(([a-z-]+)\)\s*$/.exec(lines[i] as string);
    const [, type, operation] = head ?? [];
    if (type === undefined || operation === undefined || !DRIFT_OPERATIONS.has(operation)) continue;
    let urn = "";
    for (let j = i + 1; j < Math.min(lines.length, i + 6); j += 1) {
      const match = /^\s*\[urn=(urn:pulumi:[^\]]+)\]\s*$/.exec(lines[j] as string);
      if (match) {
        urn = match[1] as string;
        break;
      }
    }
    const key = `${urn || type}|${operation}`;
    if (seen.has(key)) continue;
    seen.add(key);
    found.push({ operation, type, name: urn ? urn.slice(urn.lastIndexOf("::") + 2) : "(name not shown)", urn });
  }
  return found;
}

/** Table cells must not break the table. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The body of the drift issue of `stack`: which resources differ, the run that found it, the log. */
export function driftIssueBody({ stack, sha, runUrl, log, detectedAt }: { stack: string; sha: string | undefined; runUrl: string; log: string; detectedAt: string }): string {
  const text = stripAnsi(log);
  const summary = resourceSummary(text);
  const resources = driftedResources(text);
  const table = resources.length
    ? ["| resource | type | change |", "| --- | --- | --- |", ...resources.map((r) => `| \`${cell(r.name)}\` | \`${cell(r.type)}\` | ${r.operation} |`)]
    : ["The log names no changed resource; see the output below."];
  const render = (shown: string) =>
    [
      DRIFT_MARKER,
      `\`pulumi preview --refresh --expect-no-changes --stack ${stack}\` found differences between the stack's state and the cloud.`,
      "",
      `Detected ${detectedAt} at commit ${shortSha(sha)} of branch \`${stack}\` · [run log](${runUrl})`,
      summary ? `Resources: ${summary}` : "",
      "",
      `### ${plural(resources.length, "resource")} differ${resources.length === 1 ? "s" : ""}`,
      "",
      ...table,
      "",
      "Either bring the cloud back in line with `pulumi up` (a merge to the stack's branch does that), or",
      "adopt the change in the program. This issue is updated by the drift workflow while the drift lasts",
      "and closed by it once the stack is clean again.",
      "",
      "<details><summary>preview output</summary>",
      "",
      codeBlock(shown),
      "",
      "</details>",
      "",
    ].join("\n");
  const room = BODY_LIMIT - BODY_MARGIN - byteLength(render(""));
  return fitBody(render(truncateMiddle(text, room, runUrl)), runUrl);
}

/** Title of the drift issue of `stack`. */
export function driftIssueTitle(stack: string): string {
  return `Drift detected: ${stack}`;
}

/**
 * Opens, updates or closes the drift issue of `stack` through an octokit (`github` of
 * actions/github-script): on drift, updates the open issue this workflow opened, or opens one
 * (creating the label once); when clean, comments with the run link and closes it; anything else
 * fails the step. Issues opened by people, and pull requests, are left alone. Returns what it did.
 */
export async function syncDriftIssue({ github, core, owner, repo, stack, outcome, body, runUrl }: SyncDriftIssueArgs): Promise<DriftIssueResult> {
  const title = driftIssueTitle(stack);
  const open = (await github.paginate(github.rest.issues.listForRepo, { owner, repo, state: "open", labels: DRIFT_LABEL, per_page: 100 })) as Issue[];
  const existing = open.find((issue) => !issue.pull_request && issue.title === title && issue.user?.login === WORKFLOW_BOT);
  if (outcome === "drift") {
    if (existing) {
      await github.rest.issues.update({ owner, repo, issue_number: existing.number, body });
      core.warning(`stack ${stack} has drifted: updated ${existing.html_url}`);
      return { action: "updated", number: existing.number };
    }
    try {
      await github.rest.issues.getLabel({ owner, repo, name: DRIFT_LABEL });
    } catch (error) {
      if ((error as { status?: number }).status !== 404) throw error;
      await github.rest.issues.createLabel({ owner, repo, name: DRIFT_LABEL, color: "d93f0b", description: "The cloud differs from a stack's state" });
    }
    const data = (await github.rest.issues.create({ owner, repo, title, body, labels: [DRIFT_LABEL] })).data as Issue;
    core.warning(`stack ${stack} has drifted: opened ${data.html_url}`);
    return { action: "opened", number: data.number };
  }
  if (outcome === "clean") {
    if (!existing) {
      core.info(`stack ${stack}: no drift`);
      return { action: "none" };
    }
    await github.rest.issues.createComment({ owner, repo, issue_number: existing.number, body: `No drift on \`${stack}\` any more ([run log](${runUrl})): closing.` });
    await github.rest.issues.update({ owner, repo, issue_number: existing.number, state: "closed", state_reason: "completed" });
    core.info(`stack ${stack}: no drift, closed ${existing.html_url}`);
    return { action: "closed", number: existing.number };
  }
  core.setFailed(`unexpected drift outcome "${outcome}"`);
  return { action: "failed" };
}

/** The drift job's step (drift.yml): its env STACK, OUTCOME and, on drift, the report in REPORT_FILE. */
export async function runStep({ github, context, core }: StepArgs<IssuesClient>, env: NodeJS.ProcessEnv = process.env): Promise<DriftIssueResult> {
  const outcome = env.OUTCOME;
  return syncDriftIssue({
    github,
    core,
    ...repoOf(context),
    stack: String(env.STACK),
    outcome,
    body: outcome === "drift" ? fs.readFileSync(String(env.REPORT_FILE), "utf8") : "",
    runUrl: runUrlOf(context, env),
  });
}
