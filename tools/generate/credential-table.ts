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
import { DRIFT_READER_GROUP } from "../../components/aws/ci-identity";
import { readEnvironments } from "../../components/config/environments";
import { loadStackConfig, runProgram, type PlanResult, type RecordedResource } from "../engine";

const projectRoot = path.resolve(__dirname, "..", "..");
export const TABLE_START = "<!-- credential-table:start -->";
export const TABLE_END = "<!-- credential-table:end -->";
const GITHUB_HOST = "token.actions.githubusercontent.com";

/**
 * The GitHub App keys the workflows may use (the only stored secrets), what the App may do, and
 * where the key is kept. docs/delivery.md creates the Apps with exactly these permissions.
 */
export const APPS: Readonly<Record<string, { readonly app: string; readonly writes: boolean; readonly environmentSecret: boolean }>> = {
  DEPLOY_APP_PRIVATE_KEY: { app: "deploy App (Administration, Webhooks, Variables, Pull requests, Contents: write)", writes: true, environmentSecret: true },
  READER_APP_PRIVATE_KEY: { app: "reader App (Administration, Webhooks, Variables: read)", writes: false, environmentSecret: false },
};

/**
 * Stack config secrets, which any role that decrypts the state (the preview and drift roles) can
 * read, and what each can write (null: nothing). A secret key missing here fails the trust-boundary
 * test until it is classified.
 */
export const CONFIG_SECRETS: Readonly<Record<string, string | null>> = {
  "gitops-platform:githubToken": "GitHub, with every right of the token",
  "gitops-platform:notificationsAppPrivateKey": "commit statuses on the config and app repositories (the commit-status App)",
  "gitops-platform:notificationsAlertAddress": null,
  "gitops-platform:notificationsAlertHmacKey": null,
};

/**
 * Writing config secrets a pull request's code may reach through the state, on purpose and bounded:
 * docs/threat-model.md says why. Any other writing config secret is a finding.
 */
export const ACKNOWLEDGED_STATE_WRITES: readonly RegExp[] = [
  // The commit-status App: statuses only, no code, settings or environment.
  /^commit statuses on the config and app repositories \(the commit-status App\)$/,
];

/** A secret in a stack's state that a role decrypting the state can read. */
export interface StateSecret {
  readonly stack: string;
  readonly name: string;
  /** What it can write, or null. */
  readonly writes: string | null;
  /**
   * A deploy key's private half. Listed, not judged here: which keys may be read-write and where
   * they may push is the policy pack's (`github-deploy-key-read-only`) and the rulesets' business.
   */
  readonly deployKey?: boolean;
}

/** The credentials in one stack's state: config secrets, deploy keys' private halves, generated tokens. */
export function stateSecretsOf(stack: string, plan: PlanResult, secretKeys: readonly string[]): StateSecret[] {
  const secrets: StateSecret[] = secretKeys.map((key) => ({
    stack,
    name: `config ${key}`,
    writes: key in CONFIG_SECRETS ? (CONFIG_SECRETS[key] ?? null) : `unclassified stack secret ${key}`,
  }));
  const text = (value: unknown) => (typeof value === "string" ? value : "?");
  const owner = text(plan.resources.find((r) => r.type === "pulumi:providers:github")?.inputs.owner);
  for (const key of plan.resources.filter((r) => r.type === "tls:index/privateKey:PrivateKey")) {
    const deployKey = plan.resources.find((r) => r.type === "github:index/repositoryDeployKey:RepositoryDeployKey" && (r.propertyDependencies.key ?? []).includes(key.urn));
    if (deployKey === undefined) {
      secrets.push({ stack, name: `private key ${key.name}`, writes: `unclassified private key ${key.name}` });
      continue;
    }
    const repository = text(deployKey.inputs.repository);
    // Where a ruleset lets deploy keys bypass it, the key pushes straight to the guarded branch.
    const bypassed = plan.resources
      .filter((r) => r.type === "github:index/repositoryRuleset:RepositoryRuleset" && r.inputs.repository === repository)
      .filter((r) => asList(r.inputs.bypassActors).length > 0 && JSON.stringify(r.inputs.bypassActors).includes("DeployKey"))
      .flatMap((r) => asList(((r.inputs.conditions ?? {}) as { refName?: { includes?: unknown } }).refName?.includes));
    const writes =
      deployKey.inputs.readOnly !== false
        ? null
        : bypassed.length > 0
          ? `pushes to ${owner}/${repository}, past the ruleset of ${bypassed.join(", ")} (deploy keys may bypass it)`
          : `pushes to ${owner}/${repository} where no ruleset guards the branch (the automation branch)`;
    secrets.push({ stack, name: `deploy key ${key.name}`, writes, deployKey: true });
  }
  for (const password of plan.resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword")) {
    // The receiver's token: it can only make Flux fetch sooner.
    secrets.push({ stack, name: `generated ${password.name}`, writes: null });
  }
  return secrets;
}

/** An AWS identity the program declares, with what it allows. */
export interface RoleAccess {
  readonly stack: string;
  readonly name: string;
  /** The GitHub OIDC subjects it trusts (`repo:o/r:pull_request`, ...). */
  readonly subjects: readonly string[];
  /** Allowed actions that change something, and managed policies that allow such actions. */
  readonly writes: readonly string[];
  /** Its Kubernetes access on the cluster: `cluster-admin`, `view`, `drift reader (get/list/watch)`, `none`. */
  readonly kubernetes: string;
  readonly kubernetesWrites: boolean;
  /** It may decrypt the stack's state (and so read every secret in it). */
  readonly readsState: boolean;
}

type Json = Record<string, unknown>;

/** An IAM action that only reads: describe, get, list, and decrypting with the one key a role may use. */
export function isReadAction(action: string): boolean {
  return /^[a-z0-9-]+:(Get|List|Describe|BatchGet|Head)[A-Za-z]*$/.test(action) || action === "kms:Decrypt";
}

function statementsOf(document: unknown): Json[] {
  const parsed = (typeof document === "string" ? JSON.parse(document) : document) as { Statement?: Json | Json[] };
  return ([] as Json[]).concat(parsed.Statement ?? []);
}

function asList(value: unknown): string[] {
  return ([] as unknown[]).concat(value ?? []).map(String);
}

/**
 * The roles of one stack: which resource belongs to which role from a preview run (it records the
 * dependencies), the documents from `settled`, a run with provider outputs where every document is
 * known, as at `up` (matched by resource name).
 */
export function rolesOf(stack: string, plan: PlanResult, settled: PlanResult = plan): RoleAccess[] {
  const dependsOn = (resource: RecordedResource, key: string, urn: string) => (resource.propertyDependencies[key] ?? []).includes(urn);
  const documentOf = (resource: RecordedResource): unknown =>
    typeof resource.inputs.policy === "string" ? resource.inputs.policy : settled.resources.find((r) => r.type === resource.type && r.name === resource.name)?.inputs.policy;
  return plan.resources
    .filter((r) => r.type === "aws:iam/role:Role")
    .map((role) => {
      const subjects = statementsOf(role.inputs.assumeRolePolicy).flatMap((s) => {
        const condition = (s.Condition ?? {}) as Record<string, Record<string, unknown>>;
        return Object.values(condition).flatMap((test) => asList(test[`${GITHUB_HOST}:sub`]));
      });
      const writes: string[] = [];
      let readsState = false;
      for (const policy of plan.resources.filter((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && dependsOn(r, "role", role.urn))) {
        const document = documentOf(policy);
        if (typeof document !== "string") {
          writes.push(`${policy.name}: a document not known before deploy`);
          continue;
        }
        for (const statement of statementsOf(document)) {
          if (statement.Effect !== "Allow") continue;
          writes.push(...asList(statement.Action).filter((action) => !isReadAction(action)));
          if (asList(statement.Action).includes("kms:Decrypt")) readsState = true;
        }
      }
      for (const attachment of plan.resources.filter((r) => r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment" && dependsOn(r, "role", role.urn))) {
        // Not judged: an AWS managed policy writes (PowerUserAccess) or reads data (ReadOnlyAccess
        // reads every object and secret value), neither of which a pull request's credential may.
        writes.push(`managed policy ${String(attachment.inputs.policyArn).split("/").pop()}`);
      }
      const associations = plan.resources.filter((r) => r.type === "aws:eks/accessPolicyAssociation:AccessPolicyAssociation" && dependsOn(r, "principalArn", role.urn));
      const entries = plan.resources.filter((r) => r.type === "aws:eks/accessEntry:AccessEntry" && dependsOn(r, "principalArn", role.urn));
      const kinds = associations.map((a) => String(a.inputs.policyArn).split("/").pop() ?? "");
      const groups = entries.flatMap((e) => asList(e.inputs.kubernetesGroups));
      let kubernetes = "none";
      let kubernetesWrites = false;
      if (kinds.length > 0) {
        kubernetes = kinds.map((k) => (k === "AmazonEKSViewPolicy" ? "view (no Secrets)" : k === "AmazonEKSClusterAdminPolicy" ? "cluster-admin" : k)).join(", ");
        kubernetesWrites = kinds.some((k) => k !== "AmazonEKSViewPolicy");
      } else if (groups.length > 0) {
        kubernetes = groups.map((g) => (g === DRIFT_READER_GROUP ? "drift reader (get/list/watch the managed kinds, get the managed Secrets)" : `group ${g}`)).join(", ");
        kubernetesWrites = groups.some((g) => g !== DRIFT_READER_GROUP);
      }
      // A managed policy may decrypt too.
      if (writes.some((w) => w.startsWith("managed policy"))) readsState = true;
      return { stack, name: role.name, subjects, writes: [...new Set(writes)], kubernetes, kubernetesWrites, readsState };
    });
}

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
      const runsCode = steps.some((s) => typeof s.run === "string" || (s.uses ?? "").startsWith("actions/checkout@"));
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
        const code = !runsCode
          ? "none (API calls only)"
          : kind === "pull_request"
            ? "the pull request's"
            : kind === "push"
              ? "the pushed branch's"
              : file === "drift.yml"
                ? "the default branch's tooling, each stack branch's program"
                : "the default branch's";
        rows.push({ workflow: file, job: jobId, trigger, code, runsPullRequestCode: kind === "pull_request" && runsCode, tokenWrites, subjects, secrets });
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
    // The GitHub-side limits (no Actions approvals, read-only default token) are settings, listed in docs/threat-model.md.
    tokenWrites: [],
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

/** The markdown table: one row per job, then the pull-request attacker; then the state's credentials. */
export function renderTable(jobs: readonly JobCredentials[], roles: readonly RoleAccess[], stateSecrets: readonly StateSecret[] = []): string {
  const row = (job: JobCredentials) =>
    `| ${job.workflow} | ${job.job} | ${job.trigger} | ${job.code} | ${job.tokenWrites.length > 0 ? job.tokenWrites.map((s) => `${s}: write`).join(", ") : "read only"} | ${describeRoles(job, roles)} | ${
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
