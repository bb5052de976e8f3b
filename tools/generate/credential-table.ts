/**
 * `npm run credential-table`: what each delivery job — and any workflow a pull request brings along —
 * can reach, derived from the workflows (.github/workflows), the program's roles and their trust
 * (every stack's plan, as `pulumi up` would declare it) and the App keys the workflows may use.
 * Prints the markdown table of docs/threat-model.md; `--write` replaces it between the page's
 * `<!-- credential-table:start -->` and `<!-- credential-table:end -->` markers.
 *
 * The same derivation backs test/delivery/trust-boundary.test.ts: no job that runs pull-request code, and no
 * workflow a pull request could add, reaches a credential that writes to GitHub, AWS or the cluster.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";
import { readEnvironments } from "../../components/config/environments";
import { loadStackConfig, runProgram } from "../engine";
import { asList, rolesOf, stateSecretsOf, type Json, type RoleAccess, type StateSecret } from "./credential-roles";
import { checksOutPullRequestBase, usesAction } from "../build/workflow-hardening.mts";

export { CONFIG_SECRETS, isReadAction, rolesOf, stateSecretsOf, type RoleAccess, type StateSecret } from "./credential-roles";

const projectRoot = path.resolve(__dirname, "..", "..");
export const TABLE_START = "<!-- credential-table:start -->";
export const TABLE_END = "<!-- credential-table:end -->";
/** What the github-script steps check out: the delivery scripts they load, nothing else. */
const DELIVERY_SCRIPTS = "tools/ci/delivery";

/**
 * The GitHub App keys the workflows may use (the only stored secrets), what the App may do, and
 * where the key is kept. docs/delivery.md creates the Apps with exactly these permissions.
 */
export const APPS: Readonly<Record<string, { readonly app: string; readonly writes: boolean; readonly environmentSecret: boolean }>> = {
  DEPLOY_APP_PRIVATE_KEY: { app: "deploy App (Administration, Webhooks, Variables, Pull requests, Contents: write)", writes: true, environmentSecret: true },
  READER_APP_PRIVATE_KEY: { app: "reader App (Administration, Webhooks, Variables: read)", writes: false, environmentSecret: false },
};

/**
 * Writing config secrets a pull request's code may reach through the state, on purpose and bounded:
 * docs/threat-model.md says why. Any other writing config secret is a finding.
 */
export const ACKNOWLEDGED_STATE_WRITES: readonly RegExp[] = [
  // The commit-status App: statuses only, no code, settings or environment.
  /^commit statuses on the config and app repositories \(the commit-status App\)$/,
  // The alert channel's webhook URL: messages to that channel, nothing in Git, AWS or the cluster.
  /^messages to the alert channel it addresses \(a chat webhook URL\)$/,
];

/** One workflow job and what it holds. */
export interface JobCredentials {
  readonly workflow: string;
  readonly job: string;
  /** Who can start it. */
  readonly trigger: string;
  /** Whose code it runs. */
  readonly code: string;
  readonly runsPullRequestCode: boolean;
  /** Write scopes of its GITHUB_TOKEN (id-token aside). */
  readonly tokenWrites: readonly string[];
  /**
   * Its GITHUB_TOKEN is whatever its own workflow file asks for: a same-repository pull request's
   * workflow may ask for write scopes (only forks' tokens are capped at read). Bounded by what its
   * author can do already (pushing a branch takes write access), but it writes as GitHub Actions,
   * the identity of the shipped workflows' comments, issues and required checks.
   */
  readonly tokenAsAuthor?: boolean;
  /** OIDC subjects it can present, when it may request a token. */
  readonly subjects: readonly string[];
  /** The App keys it reads. */
  readonly secrets: readonly string[];
}

interface Step {
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, unknown>;
}
interface Job {
  readonly permissions?: unknown;
  readonly environment?: unknown;
  readonly steps?: readonly Step[];
  readonly uses?: string;
}
interface Workflow {
  readonly on?: unknown;
  readonly jobs?: Record<string, Job>;
}

function triggersOf(workflow: Workflow): Record<string, Json> {
  const on = workflow.on;
  if (typeof on === "string") return { [on]: {} };
  if (Array.isArray(on)) return Object.fromEntries(on.map((t) => [String(t), {}]));
  return Object.fromEntries(Object.entries((on ?? {}) as Record<string, unknown>).map(([k, v]) => [k, (v ?? {}) as Json]));
}

/** The jobs of the delivery workflows, as the credential table shows them. */
export function jobsOf(rootDir: string, configRepo: string, defaultBranch: string): JobCredentials[] {
  const dir = path.join(rootDir, ".github", "workflows");
  const rows: JobCredentials[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const workflow = load(fs.readFileSync(path.join(dir, file), "utf8")) as Workflow;
    const triggers = triggersOf(workflow);
    const names = Object.keys(triggers);
    // One row per way a job starts: its subject, its code and who may start it differ.
    const kinds = [
      names.includes("pull_request") ? "pull_request" : "",
      triggers.push ? "push" : "",
      names.includes("schedule") || names.includes("workflow_dispatch") ? "default branch" : "",
    ].filter(Boolean);
    for (const [jobId, job] of Object.entries(workflow.jobs ?? {})) {
      const steps = job.steps ?? [];
      const runs = steps.some((s) => typeof s.run === "string");
      const checkouts = steps.filter((s) => usesAction(s, "actions/checkout"));
      const runsCode = runs || checkouts.length > 0;
      // No shell, only checkouts of the delivery scripts a github-script step loads: the scripts of
      // the checked-out commit run, on a pull request the base's when the checkout names it.
      const scriptsOnly = !runs && checkouts.length > 0 && checkouts.every((s) => s.with?.["sparse-checkout"] === DELIVERY_SCRIPTS);
      const grants = (typeof job.permissions === "object" && job.permissions ? job.permissions : {}) as Record<string, string>;
      const secrets = [...new Set([...JSON.stringify(steps).matchAll(/secrets\.([A-Za-z0-9_]+)/g)].map((m) => m[1] ?? ""))];
      const tokenWrites = Object.entries(grants).filter(([scope, level]) => level === "write" && scope !== "id-token").map(([scope]) => scope);
      for (const kind of kinds) {
        const subjects: string[] = [];
        if (grants["id-token"] === "write") {
          if (kind === "pull_request") subjects.push(`repo:${configRepo}:pull_request`);
          if (kind === "push" && typeof job.environment === "string") {
            // `environment: ${{ github.ref_name }}`: one environment per pushed branch.
            for (const branch of asList(triggers.push?.branches)) {
              subjects.push(`repo:${configRepo}:environment:${job.environment.includes("github.ref_name") ? branch : job.environment}`);
            }
          }
          if (kind === "default branch") subjects.push(`repo:${configRepo}:ref:refs/heads/${defaultBranch}`);
        }
        const trigger =
          kind === "pull_request"
            ? "pull request (same repo: anyone with write access; forks: no OIDC token, no secrets)"
            : kind === "push"
              ? `push to ${asList(triggers.push?.branches).join("/")} (a merged pull request)`
              : names.includes("schedule")
                ? "schedule; dispatch on the default branch (write access)"
                : "dispatch on the default branch (write access)";
        // On a pull request, checkout's default is the merge commit: the pull request's code.
        const runsPullRequestCode = kind === "pull_request" && (runs || !checkouts.every(checksOutPullRequestBase));
        const whose =
          kind === "pull_request"
            ? runsPullRequestCode
              ? "the pull request's"
              : "the base commit's"
            : kind === "push"
              ? "the pushed branch's"
              : file === "drift.yml"
                ? "the default branch's tooling, each stack branch's program"
                : "the default branch's";
        const code = !runsCode ? "none (API calls only)" : scriptsOnly ? `${whose} ${DELIVERY_SCRIPTS} (github-script)` : whose;
        rows.push({ workflow: file, job: jobId, trigger, code, runsPullRequestCode, tokenWrites, subjects, secrets });
      }
    }
  }
  return rows;
}

/**
 * What any workflow a same-repository pull request adds or edits can reach: GitHub runs the pull
 * request's own workflow files, so it may request any OIDC token (subject `pull_request`; an
 * environment's subject only past that environment's deployment branch rule, which admits only its
 * own branch) and read every repository-level secret (environment secrets stay behind the rule).
 */
export function pullRequestAttacker(configRepo: string): JobCredentials {
  return {
    workflow: "(any workflow file in a same-repo pull request)",
    job: "(any)",
    trigger: "pull request by anyone with write access",
    code: "the pull request's",
    runsPullRequestCode: true,
    // GitHub caps only forks' tokens at read ("Permissions for the GITHUB_TOKEN", docs.github.com):
    // a same-repository pull request's workflow gets the write scopes it asks for. The GitHub-side
    // limit that matters (Actions may not approve pull requests) is declared by the stack with
    // github.configRepo.actionsSettings on (docs/threat-model.md).
    tokenWrites: [],
    tokenAsAuthor: true,
    subjects: [`repo:${configRepo}:pull_request`],
    secrets: Object.entries(APPS).filter(([, app]) => !app.environmentSecret).map(([name]) => name),
  };
}

/** The roles a job can assume: those trusting one of its subjects exactly. */
export function reachableRoles(job: JobCredentials, roles: readonly RoleAccess[]): RoleAccess[] {
  return roles.filter((role) => role.subjects.some((subject) => job.subjects.includes(subject)));
}

/** Every path from pull-request code to a credential that writes, one message each. */
export function trustBoundaryProblems(jobs: readonly JobCredentials[], roles: readonly RoleAccess[], stateSecrets: readonly StateSecret[] = []): string[] {
  const problems: string[] = [];
  for (const job of jobs.filter((j) => j.runsPullRequestCode)) {
    const where = `${job.workflow} ${job.job}`;
    for (const scope of job.tokenWrites) problems.push(`${where}: runs pull-request code with a GITHUB_TOKEN that may write ${scope}`);
    for (const role of reachableRoles(job, roles)) {
      if (role.writes.length > 0) problems.push(`${where}: can assume ${role.stack} ${role.name}, which allows more than reads: ${role.writes.join(", ")}`);
      if (role.kubernetesWrites) problems.push(`${where}: can assume ${role.stack} ${role.name}, which writes to the cluster (${role.kubernetes})`);
      if (!role.readsState) continue;
      for (const secret of stateSecrets.filter((s) => s.stack === role.stack && s.writes !== null && s.deployKey !== true)) {
        const writes = secret.writes ?? "";
        if (!ACKNOWLEDGED_STATE_WRITES.some((bound) => bound.test(writes))) {
          problems.push(`${where}: can read ${secret.stack} ${secret.name} from the state through ${role.name}, which writes: ${writes}`);
        }
      }
    }
    for (const secret of job.secrets) {
      const app = APPS[secret];
      if (!app || app.writes) problems.push(`${where}: reads ${secret}${app ? `, the key of the ${app.app}` : ", a stored secret"}`);
    }
  }
  return problems;
}

function describeRoles(job: JobCredentials, roles: readonly RoleAccess[]): string {
  const reached = reachableRoles(job, roles);
  if (reached.length === 0) return "none";
  return reached
    .map((role) => `${role.stack} \`${role.name}\`: ${role.writes.length > 0 ? "writes" : "read-only"}; Kubernetes ${role.kubernetes}`)
    .join("<br>");
}

/** What a job's GITHUB_TOKEN may write, as the table says it. */
function tokenColumn(job: JobCredentials): string {
  if (job.tokenAsAuthor) return "what its workflow asks for, write included (its author's own access, but written as GitHub Actions: see Same-repository branches)";
  return job.tokenWrites.length > 0 ? job.tokenWrites.map((s) => `${s}: write`).join(", ") : "read only";
}

/** The markdown table: one row per job, then the pull-request attacker; then the state's credentials. */
export function renderTable(jobs: readonly JobCredentials[], roles: readonly RoleAccess[], stateSecrets: readonly StateSecret[] = []): string {
  const row = (job: JobCredentials) =>
    `| ${job.workflow} | ${job.job} | ${job.trigger} | ${job.code} | ${tokenColumn(job)} | ${describeRoles(job, roles)} | ${
      job.secrets.length > 0 ? job.secrets.map((s) => `${APPS[s]?.app ?? s}`).join("<br>") : "none"
    } |`;
  return [
    "Generated by `npm run credential-table` from `.github/workflows/` and every stack's declared roles.",
    "",
    "| workflow | job | who starts it | whose code runs | GITHUB_TOKEN | AWS roles it can assume (and their Kubernetes access) | GitHub App keys |",
    "|---|---|---|---|---|---|---|",
    ...jobs.map(row),
    "",
    "Credentials in each stack's state, which every role that decrypts the state can read (deploy keys are listed; which may write is the policy pack's rule `github-deploy-key-read-only` and the rulesets'):",
    "",
    "| stack | secret | what it can write |",
    "|---|---|---|",
    ...stateSecrets.map((secret) => `| ${secret.stack} | ${secret.name} | ${secret.writes ?? "nothing"} |`),
  ].join("\n");
}

/** Every stack's roles, the jobs, and the attacker row, from the repository at `rootDir`. */
export async function deriveCredentials(rootDir: string = projectRoot): Promise<{ jobs: JobCredentials[]; roles: RoleAccess[]; stateSecrets: StateSecret[] }> {
  const roles: RoleAccess[] = [];
  const stateSecrets: StateSecret[] = [];
  let configRepo = "";
  let defaultBranch = "";
  for (const { stack } of readEnvironments(rootDir).list) {
    const loaded = loadStackConfig(rootDir, stack);
    const github = loaded.config["gitops-platform:github"] as { configRepo: { repo: string } };
    const ci = loaded.config["gitops-platform:ci"] as { defaultBranch?: string };
    configRepo = github.configRepo.repo;
    defaultBranch = ci.defaultBranch ?? stack;
    const run = (preview: boolean) => runProgram({ stack, config: loaded.config, secretKeys: loaded.secretKeys, program: path.join(rootDir, "index.ts"), preview });
    const preview = await run(true);
    roles.push(...rolesOf(stack, preview, await run(false)));
    stateSecrets.push(...stateSecretsOf(stack, preview, loaded.secretKeys));
  }
  return { jobs: [...jobsOf(rootDir, configRepo, defaultBranch), pullRequestAttacker(configRepo)], roles, stateSecrets };
}

/** The page text with the table between the markers replaced, or undefined without markers. */
export function withTable(page: string, table: string): string | undefined {
  const start = page.indexOf(TABLE_START);
  const end = page.indexOf(TABLE_END);
  if (start < 0 || end < start) return undefined;
  return `${page.slice(0, start + TABLE_START.length)}\n${table}\n${page.slice(end)}`;
}

export async function main(argv: readonly string[]): Promise<number> {
  const { jobs, roles, stateSecrets } = await deriveCredentials();
  const table = renderTable(jobs, roles, stateSecrets);
  const problems = trustBoundaryProblems(jobs, roles, stateSecrets);
  for (const problem of problems) process.stderr.write(`trust boundary: ${problem}\n`);
  if (!argv.includes("--write")) {
    process.stdout.write(`${table}\n`);
    return problems.length > 0 ? 1 : 0;
  }
  const file = path.join(projectRoot, "docs", "threat-model.md");
  const updated = fs.existsSync(file) ? withTable(fs.readFileSync(file, "utf8"), table) : undefined;
  if (updated === undefined) {
    process.stderr.write(`credential-table: docs/threat-model.md has no ${TABLE_START} ... ${TABLE_END} markers\n`);
    return 1;
  }
  fs.writeFileSync(file, updated);
  return problems.length > 0 ? 1 : 0;
}
