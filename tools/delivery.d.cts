// Types of tools/delivery.cjs (helpers of the delivery workflows).

/** GitHub refuses issue and comment bodies longer than this. */
export declare const BODY_LIMIT: number;
/** Hidden marker by which the preview workflow finds its own comment again. */
export declare const PREVIEW_MARKER: string;
/** Hidden marker of drift issues. */
export declare const DRIFT_MARKER: string;

/** A misconfigured repository variable or stack file; `problems` lists each one. */
export declare class DeliveryConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]);
}

export interface StackSettings {
  /** `s3://<bucket>?region=<region>`, for `pulumi login`. */
  readonly backendUrl: string;
  /** The role the workflow assumes through OIDC. */
  readonly roleArn: string;
  /** `aws:region` of Pulumi.<stack>.yaml. */
  readonly region: string;
  /** `gitops-platform:aws.accountId` of Pulumi.<stack>.yaml. */
  readonly accountId: string;
}

/** The backend, role and region of `stack`, from the vars context and Pulumi.<stack>.yaml. */
export declare function stackSettings(args: {
  rootDir: string;
  stack: string | undefined;
  role: string | undefined;
  vars: Record<string, string | undefined>;
}): StackSettings;

export declare function stripAnsi(text: string): string;
/** `text` in at most `maxBytes` UTF-8 bytes: start and end around a note naming the run log. */
export declare function truncateMiddle(text: string, maxBytes: number, runUrl: string): string;
/** A fenced code block whose fence outlasts any backtick run in `text`. */
export declare function codeBlock(text: string, language?: string): string;
/** Pulumi's closing `Resources:` block on one line, or "". */
export declare function resourceSummary(log: string): string;
export declare function policyCounts(log: string): { mandatory: number; advisory: number };

export interface CommandResult {
  readonly exitCode: number | null;
  readonly log: string;
}

/** The pull request comment of a preview run; `preview` is null for forks (no cloud credentials). */
/** The offline diff in a `plan --diff` log (from "Changes against" to its resource counts), or "". */
export declare function planChanges(planLog: string): string;
export declare function previewComment(args: {
  stack: string;
  sha: string | undefined;
  runUrl: string;
  plan: CommandResult;
  preview: CommandResult | null;
}): string;

export declare function classifyDrift(exitCode: number | null, log: string): "clean" | "drift" | "error";

export declare function driftIssueBody(args: {
  stack: string;
  sha: string | undefined;
  runUrl: string;
  log: string;
  detectedAt: string;
}): string;

/** Runs one command; returns 0 ok, 1 failed, 2 usage error. */
export declare function main(
  argv: string[],
  env: Record<string, string | undefined>,
  io?: { stdout: (text: string) => void; stderr: (text: string) => void },
  rootDir?: string,
): number;
