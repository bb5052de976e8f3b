// Helpers of the delivery workflows (.github/workflows): resolve a stack's backend and AWS role from
// the repository's variables, turn `pulumi preview` logs into a pull request comment or a drift issue
// that fits GitHub's size limit, and tell drift from errors. Plain CommonJS so a workflow runs it with
// `node tools/delivery.cjs <command>` right after `npm ci`; types in delivery.d.cts.
//
//   stack-settings --stack <s> --role preview|drift|deploy [--root <dir>]
//                                                           reads VARS (toJSON(vars)), writes outputs
//   preview-comment --stack <s> --plan-exit <n> --plan-log <f> [--preview-exit <n> --preview-log <f>]
//                   [--sha <sha>] --out <f>                 writes the comment; output `body`
//   drift-report --stack <s> --exit-code <n> --log <f> --out <f>   writes the issue body; output `outcome`
//
// `syncDriftIssue` is called from the drift workflow's github-script step: it opens, updates or
// closes the stack's drift issue.
//
// Outputs go to $GITHUB_OUTPUT, summaries to $GITHUB_STEP_SUMMARY (both optional, for local runs).
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const crypto = require("node:crypto");
const { parseArgs } = require("node:util");

/** GitHub refuses issue and comment bodies longer than this. */
const BODY_LIMIT = 65536;
/** Room kept free under the limit for anything the estimate misses (fences, the truncation notes). */
const BODY_MARGIN = 1024;
/** Hidden marker by which the preview workflow finds its own comment again. */
const PREVIEW_MARKER = "<!-- gitops-platform:preview -->";
/** Hidden marker of drift issues. */
const DRIFT_MARKER = "<!-- gitops-platform:drift -->";
/** Label of drift issues. */
const DRIFT_LABEL = "drift";
/** The author of issues the workflow token opens: only its own issues are updated or closed. */
const WORKFLOW_BOT = "github-actions[bot]";

const STACK_NAME = /^[a-z][a-z0-9-]{0,39}$/;
const BACKEND_URL = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[A-Za-z0-9._\/-]*)?(\?[A-Za-z0-9._=&-]*)?$/;
const ROLE_ARN = /^arn:aws(-cn|-us-gov)?:iam::(\d{12}):role\/[A-Za-z0-9+=,.@_\/-]{1,512}$/;
const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;

class DeliveryConfigError extends Error {
  /** @param {string[]} problems */
  constructor(problems) {
    super(problems.join("\n"));
    this.name = "DeliveryConfigError";
    this.problems = problems;
  }
}

// ---------------------------------------------------------------------------------------------
// Image automation scope
// ---------------------------------------------------------------------------------------------

const IMAGE_UPDATE_AUTOMATION_TYPE = "kubernetes:image.toolkit.fluxcd.io/v1:ImageUpdateAutomation";
const IMAGE_POLICY_TYPE = "kubernetes:image.toolkit.fluxcd.io/v1:ImagePolicy";

/** `./clusters/base`, `clusters/base/` -> `clusters/base/`; null for a path outside the repository. */
function repoDirectory(updatePath) {
  const parts = updatePath.split("/").filter((part) => part !== "" && part !== ".");
  if (updatePath.startsWith("/") || parts.length === 0 || parts.includes("..")) return null;
  return `${parts.join("/")}/`;
}

/**
 * What image automation may write, read from a stack's offline plan (`npm run plan -- --json`),
 * the objects the program declares: per pair of checkout and push branch of its
 * ImageUpdateAutomations, the directories they update (`spec.update.path`) and the image policies
 * (`<namespace>:<name>`) their `policySelector` picks. Flux (image-automation-controller
 * `api/v1/imageupdateautomation_types.go`): an empty policySelector selects every ImagePolicy of
 * the automation's namespace, and the Setters strategy rewrites only marked fields under the path.
 * Throws a DeliveryConfigError for an automation whose branches or path are not plain values.
 */
function automationScope(plan) {
  const resources = plan && Array.isArray(plan.resources) ? plan.resources : null;
  if (resources === null) throw new DeliveryConfigError(["plan: expected the JSON of `npm run plan -- --json` (a resources list)"]);
  const policies = resources
    .filter((r) => r.type === IMAGE_POLICY_TYPE)
    .map((r) => ({ metadata: (r.inputs && r.inputs.metadata) || {} }));
  const problems = [];
  const groups = new Map();
  for (const resource of resources.filter((r) => r.type === IMAGE_UPDATE_AUTOMATION_TYPE)) {
    const metadata = (resource.inputs && resource.inputs.metadata) || {};
    const spec = (resource.inputs && resource.inputs.spec) || {};
    const where = `ImageUpdateAutomation ${metadata.namespace}/${metadata.name}`;
    const git = spec.git || {};
    const base = git.checkout && git.checkout.ref && git.checkout.ref.branch;
    const head = (git.push && git.push.branch) || base;
    const update = spec.update || {};
    const directory = typeof update.path === "string" ? repoDirectory(update.path) : null;
    const found = [];
    if (typeof metadata.namespace !== "string" || typeof metadata.name !== "string") found.push(`${where}: expected a known namespace and name`);
    if (typeof base !== "string" || base === "") found.push(`${where}: spec.git.checkout.ref.branch: expected a branch name`);
    if (typeof head !== "string" || head === "") found.push(`${where}: spec.git.push.branch: expected a branch name`);
    if (update.strategy !== "Setters") found.push(`${where}: spec.update.strategy: expected Setters, got ${JSON.stringify(update.strategy)}`);
    if (directory === null) found.push(`${where}: spec.update.path: expected a directory of the repository, got ${JSON.stringify(update.path)}`);
    if (found.length > 0) {
      problems.push(...found);
      continue;
    }
    if (head === base) {
      problems.push(`${where}: pushes to its checkout branch ${base}: there is no automation pull request to review`);
      continue;
    }
    const matchLabels = (spec.policySelector && spec.policySelector.matchLabels) || {};
    const selected = policies
      .filter(({ metadata: m }) => m.namespace === metadata.namespace && typeof m.name === "string")
      .filter(({ metadata: m }) => Object.entries(matchLabels).every(([key, value]) => (m.labels || {})[key] === value))
      .map(({ metadata: m }) => `${m.namespace}:${m.name}`);
    const key = `${base}\u0000${head}`;
    const group = groups.get(key) || { base, head, paths: new Set(), policies: new Set() };
    group.paths.add(directory);
    for (const policy of selected) group.policies.add(policy);
    groups.set(key, group);
  }
  if (problems.length > 0) throw new DeliveryConfigError(problems);
  return [...groups.values()].map((g) => ({ base: g.base, head: g.head, paths: [...g.paths].sort(), policies: [...g.policies].sort() }));
}

// ---------------------------------------------------------------------------------------------
// Stack settings
// ---------------------------------------------------------------------------------------------

/** The suffix of a stack's repository variables: `staging` -> `STAGING`, `eu-prod` -> `EU_PROD`. */
function variableSuffix(stack) {
  return stack.toUpperCase().replace(/-/g, "_");
}

/** Where each role's ARN comes from: a repository variable per stack, or the deploy environment's variable. */
const ROLE_VARIABLES = {
  preview: (suffix) => ({ name: `AWS_PREVIEW_ROLE_ARN_${suffix}`, output: "previewRoleArn", environment: false }),
  drift: (suffix) => ({ name: `AWS_DRIFT_ROLE_ARN_${suffix}`, output: "driftRoleArn", environment: false }),
  deploy: () => ({ name: "AWS_DEPLOY_ROLE_ARN", output: "deployRoleArn", environment: true }),
};

/**
 * The state backend, AWS role and region a workflow uses for `stack`. Backend URLs, preview and
 * drift roles are repository variables per stack (previews and drift run outside any GitHub
 * environment); the deploy role is a variable of the stack's GitHub environment. Region and account come from
 * Pulumi.<stack>.yaml, and the role must belong to that account, so a variable pasted from the other
 * stack fails here instead of in AWS.
 */
function stackSettings({ rootDir, stack, role, vars }) {
  if (!STACK_NAME.test(stack ?? "")) {
    throw new DeliveryConfigError([`stack "${stack}": expected a stack name such as staging or prod`]);
  }
  if (!Object.hasOwn(ROLE_VARIABLES, role ?? "")) {
    throw new DeliveryConfigError([`role "${role}": expected preview, drift or deploy`]);
  }
  const problems = [];
  const stackFile = path.join(rootDir, `Pulumi.${stack}.yaml`);
  let config = {};
  if (fs.existsSync(stackFile)) {
    // From the checkout being read, or from the tools' own install.
    const yaml = require(require.resolve("js-yaml", { paths: [rootDir, __dirname] }));
    const doc = yaml.load(fs.readFileSync(stackFile, "utf8"));
    config = (doc && typeof doc === "object" && doc.config) || {};
  } else {
    problems.push(`Pulumi.${stack}.yaml: no such stack config file`);
  }
  const region = config["aws:region"];
  const accountId = config["gitops-platform:aws"] && config["gitops-platform:aws"].accountId;
  if (fs.existsSync(stackFile)) {
    if (typeof region !== "string" || !REGION.test(region)) {
      problems.push(`Pulumi.${stack}.yaml: aws:region: expected an AWS region such as eu-west-1`);
    }
    if (typeof accountId !== "string" || !/^\d{12}$/.test(accountId)) {
      problems.push(`Pulumi.${stack}.yaml: gitops-platform:aws.accountId: expected a 12-digit account id`);
    }
  }

  const suffix = variableSuffix(stack);
  const backendName = `PULUMI_BACKEND_URL_${suffix}`;
  const variable = ROLE_VARIABLES[role](suffix);
  const roleName = variable.name;
  const roleWhere = variable.environment
    ? `variable ${roleName} of the GitHub environment "${stack}" (stack output ${variable.output} of ${stack})`
    : `repository variable ${roleName} (stack output ${variable.output} of ${stack})`;
  const backendUrl = vars[backendName];
  const roleArn = vars[roleName];

  if (!backendUrl) {
    problems.push(`repository variable ${backendName} is not set: expected s3://<state bucket>?region=<region> (docs/delivery.md)`);
  } else if (!BACKEND_URL.test(backendUrl)) {
    problems.push(`repository variable ${backendName}: "${backendUrl}" is not an S3 backend URL (s3://<state bucket>?region=<region>)`);
  }
  if (!roleArn) {
    problems.push(`${roleWhere} is not set`);
  } else {
    const match = ROLE_ARN.exec(roleArn);
    if (!match) {
      problems.push(`${roleWhere}: "${roleArn}" is not an IAM role ARN`);
    } else if (typeof accountId === "string" && match[2] !== accountId) {
      problems.push(`${roleWhere}: the role is in account ${match[2]}, but stack ${stack} deploys to account ${accountId}`);
    }
  }
  const github = githubScope(stack, config, problems);
  if (problems.length > 0) throw new DeliveryConfigError(problems);
  return { backendUrl, roleArn, region, accountId, ...github, policyConfig: policyConfigFile(rootDir, stack, config["gitops-platform:production"] === true) };
}

/**
 * The policy pack config a stack runs with: its own policies/config/<stack>.json, else the levels
 * its kind implies. The same rule as policyConfigFile in components/config/environments.ts.
 */
function policyConfigFile(rootDir, stack, production) {
  const own = `policies/config/${stack}.json`;
  if (fs.existsSync(path.join(rootDir, own))) return own;
  return `policies/config/${production ? "production" : "non-production"}.json`;
}

/**
 * The GitHub owner and the repositories a stack manages (its config repo, then each app's repo), as
 * names for actions/create-github-app-token's `owner` and `repositories`: an App token minted for
 * exactly these and no other repository of the installation.
 */
function githubScope(stack, config, problems) {
  const github = config["gitops-platform:github"];
  const owner = github && typeof github === "object" ? github.owner : undefined;
  const repos = [github && github.configRepo && github.configRepo.repo, ...(Array.isArray(config["gitops-platform:apps"]) ? config["gitops-platform:apps"] : []).map((app) => app && app.repo)];
  if (Object.keys(config).length === 0) return { githubOwner: "", githubRepositories: [] };
  if (typeof owner !== "string" || !/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/.test(owner)) {
    problems.push(`Pulumi.${stack}.yaml: gitops-platform:github.owner: expected a GitHub user or organization name`);
    return { githubOwner: "", githubRepositories: [] };
  }
  const names = [];
  for (const repo of repos) {
    const match = typeof repo === "string" ? /^([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+)$/.exec(repo) : null;
    if (!match) {
      problems.push(`Pulumi.${stack}.yaml: repository ${JSON.stringify(repo ?? null)}: expected owner/name`);
    } else if (match[1] !== owner) {
      problems.push(`Pulumi.${stack}.yaml: repository ${repo} is not owned by ${owner}: one App installation token covers one owner`);
    } else if (!names.includes(match[2])) {
      names.push(match[2]);
    }
  }
  return { githubOwner: owner, githubRepositories: names };
}

// ---------------------------------------------------------------------------------------------
// Text that fits
// ---------------------------------------------------------------------------------------------

function byteLength(text) {
  return Buffer.byteLength(text, "utf8");
}

/** Removes ANSI colour and cursor sequences. */
function stripAnsi(text) {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, "");
}

/** The longest prefix of `text` of at most `maxBytes` UTF-8 bytes, cut between code points. */
function headBytes(text, maxBytes) {
  let bytes = 0;
  let end = 0;
  for (const char of text.slice(0, maxBytes)) {
    const size = byteLength(char);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}

/** The longest suffix of `text` of at most `maxBytes` UTF-8 bytes, cut between code points. */
function tailBytes(text, maxBytes) {
  const chars = Array.from(text.slice(-maxBytes));
  let bytes = 0;
  let start = chars.length;
  while (start > 0) {
    const size = byteLength(chars[start - 1]);
    if (bytes + size > maxBytes) break;
    bytes += size;
    start -= 1;
  }
  // A slice may begin inside a surrogate pair; such a half is dropped rather than sent broken.
  return chars.slice(start).join("").replace(/^[\udc00-\udfff]/, "");
}

/**
 * `text` in at most `maxBytes` UTF-8 bytes: when too long, the start (a third) and the end (the rest,
 * where Pulumi prints the policy verdicts and the resource summary) around a line that says how much
 * was left out and where the whole log is.
 */
function truncateMiddle(text, maxBytes, runUrl) {
  if (byteLength(text) <= maxBytes) return text;
  const omitted = (n) => `\n… ${n} characters omitted here; the full output is in the run log: ${runUrl}\n`;
  const noteBytes = byteLength(omitted(text.length));
  const room = Math.max(0, maxBytes - noteBytes);
  let head = headBytes(text, Math.floor(room / 3));
  let tail = tailBytes(text, room - byteLength(head));
  // Cut at line ends where that loses little, so no line is shown half.
  const lastNewline = head.lastIndexOf("\n");
  if (lastNewline > head.length * 0.8) head = head.slice(0, lastNewline);
  const firstNewline = tail.indexOf("\n");
  if (firstNewline >= 0 && firstNewline < tail.length * 0.2) tail = tail.slice(firstNewline + 1);
  return head + omitted(text.length - head.length - tail.length) + tail;
}

/** A fenced code block whose fence is longer than any backtick run inside `text`. */
function codeBlock(text, language = "text") {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}${language}\n${text.replace(/\n+$/, "")}\n${fence}`;
}

/** Pulumi's closing `Resources:` block (`~ 1 to update`, `12 unchanged`), or "" when absent. */
function resourceSummary(log) {
  const lines = log.split("\n");
  const start = lines.findIndex((line) => /^Resources:\s*$/.test(line));
  if (start < 0) return "";
  const block = [];
  for (const line of lines.slice(start + 1)) {
    if (!/^\s+\S/.test(line)) break;
    block.push(line.trim());
  }
  return block.join(", ");
}

/** Counts of `[mandatory]` and `[advisory]` policy violations in a Pulumi log. */
function policyCounts(log) {
  return {
    mandatory: (log.match(/\[mandatory\]/g) ?? []).length,
    advisory: (log.match(/\[advisory\]/g) ?? []).length,
  };
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function shortSha(sha) {
  return sha ? `\`${sha.slice(0, 12)}\`` : "unknown commit";
}

// ---------------------------------------------------------------------------------------------
// Preview comment
// ---------------------------------------------------------------------------------------------

function planVerdict(exitCode) {
  if (exitCode === 0) return "✅ passed";
  if (exitCode === 1) return "❌ failed (exit 1: config error or mandatory policy violation)";
  if (exitCode === null || exitCode === undefined) return "⚠️ did not run";
  return `❌ failed (exit ${exitCode})`;
}

function previewVerdict(preview) {
  if (!preview) {
    return "⏭️ skipped: pull requests from forks get no cloud credentials (the offline policy check still ran)";
  }
  const counts = policyCounts(preview.log);
  const violations =
    counts.mandatory + counts.advisory > 0
      ? `: ${plural(counts.mandatory, "mandatory violation")}, ${plural(counts.advisory, "advisory violation")}`
      : "";
  if (preview.exitCode === 0) return `✅ passed${violations}`;
  if (preview.exitCode === null || preview.exitCode === undefined) return "⚠️ did not run";
  return `❌ failed (exit ${preview.exitCode})${violations}`;
}

/**
 * The offline diff in a plan log (`plan --diff <base>`): its changes, its resource counts and its
 * verdict line, or "" when the plan printed no diff.
 */
function planChanges(planLog) {
  const section = (pattern) => {
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
function previewComment({ stack, sha, runUrl, plan, preview }) {
  const planLog = stripAnsi(plan.log ?? "");
  const previewLog = preview ? stripAnsi(preview.log ?? "") : "";
  const passed = plan.exitCode === 0 && (preview === null || preview.exitCode === 0);
  const summary = preview ? resourceSummary(previewLog) : "";
  // The offline diff against the stack's branch comes first: every pull request has it, forks too.
  const changes = planChanges(planLog);
  const changesBlock = changes
    ? ["", "<details open><summary>offline diff: what changes against the deployed branch (no credentials used)</summary>", "", codeBlock(byteLength(changes) > 20_000 ? truncateMiddle(changes, 20_000, runUrl) : changes), "", "</details>"]
    : [];

  const render = (planText, previewText) =>
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

/** Last resort: a body that is still too long is cut hard, with a pointer to the log. */
function fitBody(body, runUrl) {
  if (byteLength(body) <= BODY_LIMIT) return body;
  const note = `\n\n… cut to GitHub's size limit; the full output is in the run log: ${runUrl}\n`;
  return headBytes(body, BODY_LIMIT - byteLength(note)) + note;
}

// ---------------------------------------------------------------------------------------------
// Drift
// ---------------------------------------------------------------------------------------------

// `--expect-no-changes` ends with one of these, depending on the CLI version; any other failure
// (credentials, a locked stack, a broken program) is an error, not drift.
const NO_CHANGES_EXPECTED = /no changes were expected(?: for \w+)? but changes (?:were proposed|occurred)/;

/** clean (exit 0), drift (changes found) or error (anything else). */
function classifyDrift(exitCode, log) {
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
function driftedResources(log) {
  const lines = stripAnsi(log).split("\n");
  const found = [];
  const seen = new Set();
  for (let i = 0; i < lines.length; i += 1) {
    const head = /^\s*(?:[-+~<>*]{1,2}\s+)?([A-Za-z][\w.-]*:[\w./-]*:[\w.-]+): \(([a-z-]+)\)\s*$/.exec(lines[i]);
    if (!head || !DRIFT_OPERATIONS.has(head[2])) continue;
    let urn = "";
    for (let j = i + 1; j < Math.min(lines.length, i + 6); j += 1) {
      const match = /^\s*\[urn=(urn:pulumi:[^\]]+)\]\s*$/.exec(lines[j]);
      if (match) {
        urn = match[1];
        break;
      }
    }
    const key = `${urn || head[1]}|${head[2]}`;
    if (seen.has(key)) continue;
    seen.add(key);
    found.push({ operation: head[2], type: head[1], name: urn ? urn.slice(urn.lastIndexOf("::") + 2) : "(name not shown)", urn });
  }
  return found;
}

/** Table cells must not break the table. */
function cell(text) {
  return String(text).replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The body of the drift issue of `stack`: which resources differ, the run that found it, the log. */
function driftIssueBody({ stack, sha, runUrl, log, detectedAt }) {
  const text = stripAnsi(log);
  const summary = resourceSummary(text);
  const resources = driftedResources(text);
  const table = resources.length
    ? ["| resource | type | change |", "| --- | --- | --- |", ...resources.map((r) => `| \`${cell(r.name)}\` | \`${cell(r.type)}\` | ${r.operation} |`)]
    : ["The log names no changed resource; see the output below."];
  const render = (shown) =>
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
function driftIssueTitle(stack) {
  return `Drift detected: ${stack}`;
}

/**
 * Opens, updates or closes the drift issue of `stack` through an octokit (`github` of
 * actions/github-script): on drift, updates the open issue this workflow opened, or opens one
 * (creating the label once); when clean, comments with the run link and closes it; anything else
 * fails the step. Issues opened by people, and pull requests, are left alone. Returns what it did.
 */
async function syncDriftIssue({ github, core, owner, repo, stack, outcome, body, runUrl }) {
  const title = driftIssueTitle(stack);
  const open = await github.paginate(github.rest.issues.listForRepo, { owner, repo, state: "open", labels: DRIFT_LABEL, per_page: 100 });
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
      if (error.status !== 404) throw error;
      await github.rest.issues.createLabel({ owner, repo, name: DRIFT_LABEL, color: "d93f0b", description: "The cloud differs from a stack's state" });
    }
    const { data } = await github.rest.issues.create({ owner, repo, title, body, labels: [DRIFT_LABEL] });
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

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

function runUrlFrom(env) {
  const server = env.GITHUB_SERVER_URL ?? "https://github.com";
  return env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
    ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
    : "(local run, no run log)";
}

function setOutput(env, name, value) {
  if (!env.GITHUB_OUTPUT) return;
  if (!value.includes("\n")) {
    fs.appendFileSync(env.GITHUB_OUTPUT, `${name}=${value}\n`);
    return;
  }
  // A random delimiter, so no line of the value can end the block early.
  const delimiter = `EOF_${crypto.randomBytes(16).toString("hex")}`;
  fs.appendFileSync(env.GITHUB_OUTPUT, `${name}<<${delimiter}\n${value}\n${delimiter}\n`);
}

function appendSummary(env, text) {
  if (env.GITHUB_STEP_SUMMARY) fs.appendFileSync(env.GITHUB_STEP_SUMMARY, `${text}\n`);
}

function exitCodeOption(value, name) {
  if (value === undefined || value === "") return null;
  if (!/^\d+$/.test(value)) throw new DeliveryConfigError([`--${name} "${value}": expected an exit status`]);
  return Number(value);
}

function readLog(file) {
  return file && fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
}

const USAGE = [
  "usage: node tools/delivery.cjs stack-settings --stack <s> --role preview|drift|deploy [--root <dir>]",
  "       node tools/delivery.cjs preview-comment --stack <s> --plan-exit <n> --plan-log <f> [--preview-exit <n> --preview-log <f>] [--sha <sha>] --out <f>",
  "       node tools/delivery.cjs drift-report --stack <s> --exit-code <n> --log <f> [--sha <sha>] --out <f>",
  "       node tools/delivery.cjs automation-scope [--plan <f>]...",
].join("\n");

/**
 * Runs one command; returns the exit status (0 ok, 1 failed, 2 usage). `io.stdout`/`io.stderr`
 * receive text; `env` supplies VARS, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and the run's identity.
 */
function main(argv, env, io = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) }, rootDir = path.resolve(__dirname, "..")) {
  const [command, ...rest] = argv;
  let values;
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
    io.stderr(`${error.message}\n${USAGE}\n`);
    return 2;
  }
  const runUrl = runUrlFrom(env);
  try {
    switch (command) {
      case "stack-settings": {
        let vars;
        try {
          vars = JSON.parse(env.VARS ?? "{}");
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
          let plan;
          try {
            plan = JSON.parse(fs.readFileSync(file, "utf8"));
          } catch (error) {
            throw new DeliveryConfigError([`${file}: expected the JSON of \`npm run plan -- --json\` (${error.message})`]);
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

module.exports = {
  BODY_LIMIT,
  PREVIEW_MARKER,
  DRIFT_MARKER,
  DRIFT_LABEL,
  DeliveryConfigError,
  automationScope,
  stackSettings,
  stripAnsi,
  truncateMiddle,
  codeBlock,
  planChanges,
  resourceSummary,
  policyCounts,
  previewComment,
  classifyDrift,
  driftedResources,
  driftIssueBody,
  driftIssueTitle,
  syncDriftIssue,
  main,
};

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2), process.env);
}
