// Types of tools/delivery.cjs (helpers of the delivery workflows).

/** GitHub refuses issue and comment bodies longer than this. */
export declare const BODY_LIMIT: number;
/** Hidden marker by which the preview workflow finds its own comment again. */
export declare const PREVIEW_MARKER: string;
/** Hidden marker of drift issues. */
export declare const DRIFT_MARKER: string;
/** Label of drift issues. */
export declare const DRIFT_LABEL: string;

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
  /** `gitops-platform:github.owner` of Pulumi.<stack>.yaml. */
  readonly githubOwner: string;
  /** Names of the config repo and the app repos, for a token scoped to exactly them. */
  readonly githubRepositories: string[];
  /** The policy pack config file the stack runs with (its own, else its kind's), relative to the root. */
  readonly policyConfig: string;
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

/** A resource a `pulumi preview --diff` log says would change. */
export interface DriftedResource {
  readonly operation: string;
  readonly type: string;
  /** The URN's name part, or "(name not shown)". */
  readonly name: string;
  /** The URN, or "" when the log showed none. */
  readonly urn: string;
}

/** The resources a `pulumi preview --diff` log says would change, in order, once each. */
export declare function driftedResources(log: string): DriftedResource[];

export declare function driftIssueTitle(stack: string): string;

/** What syncDriftIssue did. */
export interface DriftIssueResult {
  readonly action: "opened" | "updated" | "closed" | "none" | "failed";
  readonly number?: number;
}

/** Opens, updates or closes the drift issue of `stack` through actions/github-script's octokit. */
export declare function syncDriftIssue(args: {
  github: unknown;
  core: { info: (message: string) => void; warning: (message: string) => void; setFailed: (message: string) => void };
  owner: string;
  repo: string;
  stack: string;
  outcome: string;
  body: string;
  runUrl: string;
}): Promise<DriftIssueResult>;

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

/** What the image automations of one checkout branch may change through their push branch. */
export interface AutomationScope {
  /** The environment branch the automation checks out: the pull request's base. */
  readonly base: string;
  /** The branch the automation pushes to: the pull request's head. */
  readonly head: string;
  /** Directories the automations update (`spec.update.path`), each ending in `/`. */
  readonly paths: string[];
  /** Image policies the automations apply, as `<namespace>:<name>`. */
  readonly policies: string[];
}

/** The scope of a stack's image automations, from the JSON of its offline plan. */
export declare function automationScope(plan: unknown): AutomationScope[];
