// The pull request comment of a preview run: the verdicts of the offline plan and of `pulumi
// preview` with the policy pack, the offline diff, and both logs, cut to fit GitHub's limit.
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
