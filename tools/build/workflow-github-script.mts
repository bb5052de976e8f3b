/**
 * Hardening rules for the github-script steps and what they load (run by auditWorkflow in
 * ./workflow-hardening.mts, beside the rule that holds their script to the one-line glue): the
 * module the glue requires, the inputs the action gets and the environment its Node process starts
 * with. Each is a way to run code nobody reviewed, or to send the step's token elsewhere.
 */
import { GITHUB_SCRIPT, jobsOf, stepLabel, stepsOf, usesAction, type Step, type Workflow } from "./workflow-model.mts";

/**
 * The module a github-script loads: a delivery module of a checkout of this repository that the job
 * made before the step, written in the step's own env:. No other expression, no `..`: a value from
 * the event, another env, a cache or node_modules would run unreviewed code with the step's token.
 */
const DELIVERY_TOOLS_VALUE = /^\$\{\{ github\.workspace \}\}\/([A-Za-z0-9_-]+)\/tools\/ci\/delivery\/([a-z][a-z0-9-]*)\.mts$/;
const DELIVERY_TOOLS_RULE = "${{ github.workspace }}/<path>/tools/ci/delivery/<module>.mts, <path> the path: of an actions/checkout of this repository earlier in the job";

const setsDeliveryTools = (env: unknown): boolean => env !== null && typeof env === "object" && "DELIVERY_TOOLS" in env;

function checkDeliveryTools(workflow: Workflow): string[] {
  const problems: string[] = [];
  const only = "only a github-script step's own env: names the module it runs";
  if (setsDeliveryTools((workflow as { env?: unknown }).env)) problems.push(`env: sets DELIVERY_TOOLS for every job; ${only}`);
  for (const [jobId, job] of jobsOf(workflow)) {
    if (setsDeliveryTools(job.env)) problems.push(`job ${jobId}: env: sets DELIVERY_TOOLS for every step; ${only}`);
    const steps = stepsOf(job);
    steps.forEach((step, index) => {
      const label = stepLabel(jobId, step, index);
      // A run: step could rewrite it for the steps after it through $GITHUB_ENV.
      if (typeof step.run === "string" && step.run.includes("DELIVERY_TOOLS")) problems.push(`${label}: run: names DELIVERY_TOOLS; ${only}`);
      if (!usesAction(step, GITHUB_SCRIPT)) {
        if (setsDeliveryTools(step.env)) problems.push(`${label}: env: sets DELIVERY_TOOLS outside a github-script step; ${only}`);
        return;
      }
      const value = step.env?.DELIVERY_TOOLS;
      const dir = typeof value === "string" ? DELIVERY_TOOLS_VALUE.exec(value.trim())?.[1] : undefined;
      // A checkout of this repository: `repository:` would load another repository's code.
      const ownCheckout = (earlier: Step) => usesAction(earlier, "actions/checkout") && earlier.with?.path === dir && earlier.with?.repository === undefined;
      if (dir !== undefined && steps.slice(0, index).some(ownCheckout)) return;
      const given = value === undefined ? "not set in the step's env:" : typeof value === "string" ? value : JSON.stringify(value);
      problems.push(`${label}: DELIVERY_TOOLS is ${given}; expected ${DELIVERY_TOOLS_RULE}`);
    });
  }
  return problems;
}

/**
 * A github-script gets its script and, where it needs more than the job's GITHUB_TOKEN, its token.
 * `base-url` would send that token to another host; the other inputs change nothing this repository needs.
 */
const GITHUB_SCRIPT_INPUTS = new Set(["script", "github-token"]);

function checkGithubScriptInputs(workflow: Workflow): string[] {
  const problems: string[] = [];
  for (const [jobId, job] of jobsOf(workflow)) {
    stepsOf(job).forEach((step, index) => {
      if (!usesAction(step, GITHUB_SCRIPT)) return;
      const extra = Object.keys(step.with ?? {}).filter((key) => !GITHUB_SCRIPT_INPUTS.has(key));
      if (extra.length > 0) problems.push(`${stepLabel(jobId, step, index)}: a github-script with ${extra.join(", ")}; only script and github-token`);
    });
  }
  return problems;
}

/** NODE_OPTIONS (`--require`, `--import`) would load a file into the Node process of a github-script, or of any node the job starts. */
function checkNodeOptions(workflow: Workflow): string[] {
  const problems: string[] = [];
  const sets = (env: unknown): boolean => env !== null && typeof env === "object" && "NODE_OPTIONS" in env;
  const rule = "it would load code into every Node process it reaches, a github-script's included";
  if (sets((workflow as { env?: unknown }).env)) problems.push(`env: sets NODE_OPTIONS; ${rule}`);
  for (const [jobId, job] of jobsOf(workflow)) {
    if (sets(job.env)) problems.push(`job ${jobId}: env: sets NODE_OPTIONS; ${rule}`);
    stepsOf(job).forEach((step, index) => {
      if (sets(step.env)) problems.push(`${stepLabel(jobId, step, index)}: env: sets NODE_OPTIONS; ${rule}`);
    });
  }
  return problems;
}

/** Every problem of the github-script steps of one workflow. */
export function checkGithubScriptSteps(workflow: Workflow): string[] {
  return [...checkDeliveryTools(workflow), ...checkGithubScriptInputs(workflow), ...checkNodeOptions(workflow)];
}
