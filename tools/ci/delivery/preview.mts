// The pull request comment of a preview run: the verdicts of the offline plan and of `pulumi
// preview` with the policy pack, the offline diff, and both logs, cut to fit GitHub's limit; and the
// one comment per pull request kept in step with it (preview workflow, job comment, whose
// github-script step loads this module with require() and calls syncPreviewComment).
import { repoOf, runUrlOf, type RestMethod, type ScriptCore, type StepArgs } from "./github.mts";
import { BODY_LIMIT, BODY_MARGIN, byteLength, codeBlock, fitBody, plural, policyCounts, resourceSummary, shortSha, stripAnsi, truncateMiddle } from "./text.mts";

/** Hidden marker by which the preview workflow finds its own comment again. */
export const PREVIEW_MARKER = "<!-- gitops-platform:preview -->";

/** How a command ended: its exit status (null when it did not run) and its log. */
export interface CommandResult {
  readonly exitCode: number | null;
  readonly log: string;
}

function planVerdict(exitCode: number | null): string {
  if (exitCode === 0) return "✅ passed";
  if (exitCode === 1) return "❌ failed (exit 1: config error or mandatory policy violation)";
  if (exitCode === null) return "⚠️ did not run";
  return `❌ failed (exit ${exitCode})`;
}

function previewVerdict(preview: CommandResult | null): string {
  if (!preview) {
    return "⏭️ skipped: pull requests from forks get no cloud credentials (the offline policy check still ran)";
  }
  const counts = policyCounts(preview.log);
  const violations =
    counts.mandatory + counts.advisory > 0
      ? `: ${plural(counts.mandatory, "mandatory violation")}, ${plural(counts.advisory, "advisory violation")}`
      : "";
  if (preview.exitCode === 0) return `✅ passed${violations}`;
  if (preview.exitCode === null) return "⚠️ did not run";
  return `❌ failed (exit ${preview.exitCode})${violations}`;
}

/**
 * The offline diff in a plan log (`plan --diff <base>`): its changes, its resource counts and its
 * verdict line, or "" when the plan printed no diff.
 */
export function planChanges(planLog: string): string {
  const section = (pattern: RegExp) => {
    const start = planLog.search(pattern);
    if (start === -1) return "";
    const end = planLog.indexOf("\n\n", start);
    return planLog.slice(start, end === -1 ? undefined : end).trimEnd();
  };
  const changes = section(/^Changes against /m);
  if (!changes) return "";
  return [changes, section(/^Resources:$/m), section(/^Verdict: /m)].filter(Boolean).join("\n\n");
}

/**
 * The pull request comment of a preview run: verdicts of the offline plan and of `pulumi preview`
 * with the policy pack, the resource summary, and both logs, cut to fit GitHub's limit.
 * `preview` is null when the run had no cloud credentials (a fork).
 */
export function previewComment({ stack, sha, runUrl, plan, preview }: { stack: string; sha: string | undefined; runUrl: string; plan: CommandResult; preview: CommandResult | null }): string {
  const planLog = stripAnsi(plan.log);
  const previewLog = preview ? stripAnsi(preview.log) : "";
  const passed = plan.exitCode === 0 && (preview === null || preview.exitCode === 0);
  const summary = preview ? resourceSummary(previewLog) : "";
  // The offline diff against the stack's branch comes first: every pull request has it, forks too.
  const changes = planChanges(planLog);
  const changesBlock = changes
    ? ["", "<details open><summary>offline diff: what changes against the deployed branch (no credentials used)</summary>", "", codeBlock(byteLength(changes) > 20_000 ? truncateMiddle(changes, 20_000, runUrl) : changes), "", "</details>"]
    : [];

  const render = (planText: string, previewText: string) =>
    [
      PREVIEW_MARKER,
      `### Preview of stack \`${stack}\`: ${passed ? "✅ passed" : "❌ failed"}`,
      "",
      "| check | result |",
      "| --- | --- |",
      `| offline plan and policy check (\`npm run plan -- --stack ${stack}\`) | ${planVerdict(plan.exitCode)} |`,
      `| \`pulumi preview\` with the policy pack | ${previewVerdict(preview)} |`,
      "",
      summary ? `Resources: ${summary}` : "",
      `Commit ${shortSha(sha)} · [run log](${runUrl})`,
      ...changesBlock,
      ...(preview
        ? ["", "<details open><summary><code>pulumi preview</code> output</summary>", "", codeBlock(previewText), "", "</details>"]
        : []),
      "",
      "<details><summary>offline plan output</summary>",
      "",
      codeBlock(planText),
      "",
      "</details>",
      "",
    ].join("\n");

  const room = BODY_LIMIT - BODY_MARGIN - byteLength(render("", ""));
  let planText = planLog;
  let previewText = previewLog;
  if (byteLength(planLog) + byteLength(previewLog) > room) {
    // The preview log matters most; the plan log gets a quarter unless it needs less.
    const planRoom = Math.min(byteLength(planLog), Math.max(Math.floor(room / 4), room - byteLength(previewLog)));
    planText = truncateMiddle(planLog, planRoom, runUrl);
    previewText = truncateMiddle(previewLog, room - byteLength(planText), runUrl);
  }
  return fitBody(render(planText, previewText), runUrl);
}

/** The author of comments the workflow token writes: only its own comment is updated. */
const WORKFLOW_BOT = "github-actions[bot]";

/** A pull request comment as the REST API returns it: the fields read here. */
interface IssueComment {
  readonly id: number;
  readonly html_url: string;
  readonly body?: string | null;
  readonly user?: { readonly login?: string } | null;
}

/** The part of actions/github-script's octokit (`github`) syncPreviewComment uses. */
export interface CommentsClient {
  paginate(method: unknown, params: Record<string, unknown>): Promise<unknown>;
  readonly rest: {
    readonly issues: { readonly listComments: unknown; readonly createComment: RestMethod; readonly updateComment: RestMethod };
  };
}

export interface SyncPreviewCommentArgs {
  /** The octokit, authenticated with the comment job's token (pull-requests: write). */
  readonly github: CommentsClient;
  readonly core: ScriptCore;
  readonly owner: string;
  readonly repo: string;
  /** The event that started the run (`context.eventName`): a dispatch names its pull request in `prNumber`. */
  readonly eventName: string;
  /** The pull request of a pull_request event (`context.issue.number`). */
  readonly issueNumber: number | undefined;
  /** The dispatch's `pr` input, as the environment passes it. */
  readonly prNumber: string | undefined;
  /** The comment the preview job wrote (its output `body`); empty when it wrote none. */
  readonly body: string | undefined;
  /** How the preview job ended (`needs.preview.result`), for the comment when it wrote none. */
  readonly previewResult: string | undefined;
  readonly runUrl: string;
}

/** What syncPreviewComment did. */
export interface PreviewCommentResult {
  readonly action: "created" | "updated" | "failed";
  /** The comment's id. */
  readonly id?: number;
}

/** The comment to post: the preview job's, or a pointer to the run when it wrote none; under the marker and GitHub's limit. */
export function commentBody({ body, previewResult, runUrl }: { body: string | undefined; previewResult: string | undefined; runUrl: string }): string {
  let text = body ?? "";
  if (text.trim() === "") {
    text = `${PREVIEW_MARKER}\n### Preview: no report\n\nThe preview job ended (${previewResult}) before it wrote a report: see the [run log](${runUrl}).\n`;
  }
  if (!text.startsWith(PREVIEW_MARKER)) text = `${PREVIEW_MARKER}\n${text}`;
  if (byteLength(text) > BODY_LIMIT) {
    const note = `\n\n… cut to GitHub's size limit: see the [run log](${runUrl}).\n`;
    const room = BODY_LIMIT - byteLength(note) - 8;
    text = Buffer.from(text, "utf8").subarray(0, room).toString("utf8").replace(/\uFFFD+$/, "") + note;
  }
  return text;
}

/**
 * Creates the preview comment on the run's pull request (a pull_request event's, or the one a
 * dispatch names), or updates the one the workflow token wrote before (found by its marker);
 * comments by anyone else are left alone. Fails the step when there is no pull request to comment on.
 */
export async function syncPreviewComment({ github, core, owner, repo, eventName, issueNumber, prNumber, body, previewResult, runUrl }: SyncPreviewCommentArgs): Promise<PreviewCommentResult> {
  const number = eventName === "workflow_dispatch" ? Number(prNumber) : issueNumber;
  if (number === undefined || !Number.isInteger(number) || number <= 0) {
    core.setFailed(`no pull request to comment on (PR_NUMBER="${prNumber ?? ""}")`);
    return { action: "failed" };
  }
  const text = commentBody({ body, previewResult, runUrl });
  const comments = (await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number: number, per_page: 100 })) as IssueComment[];
  const previous = comments.find((c) => c.user?.login === WORKFLOW_BOT && typeof c.body === "string" && c.body.startsWith(PREVIEW_MARKER));
  if (previous) {
    await github.rest.issues.updateComment({ owner, repo, comment_id: previous.id, body: text });
    core.info(`updated ${previous.html_url}`);
    return { action: "updated", id: previous.id };
  }
  const data = (await github.rest.issues.createComment({ owner, repo, issue_number: number, body: text })).data as IssueComment;
  core.info(`created ${data.html_url}`);
  return { action: "created", id: data.id };
}

/** The comment job's step (preview.yml, job comment): its env BODY, PREVIEW_RESULT and PR_NUMBER. */
export async function runStep({ github, context, core }: StepArgs<CommentsClient>, env: NodeJS.ProcessEnv = process.env): Promise<PreviewCommentResult> {
  return syncPreviewComment({
    github,
    core,
    ...repoOf(context),
    eventName: context.eventName,
    issueNumber: context.issue.number,
    prNumber: env.PR_NUMBER,
    body: env.BODY,
    previewResult: env.PREVIEW_RESULT,
    runUrl: runUrlOf(context, env),
  });
}
