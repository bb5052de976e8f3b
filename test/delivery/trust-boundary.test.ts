/**
 * The delivery trust boundary, as an attacker with write access to the config repository would
 * probe it: open a pull request whose code (the program, or a workflow file it adds) prints what it
 * can reach. The credential table is derived from the workflows and both stacks' declared roles
 * (tools/generate/credential-table.ts); no row that runs pull-request code may reach a credential that writes
 * to GitHub, AWS or the cluster. Each check is also shown to catch a bad setup.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import { beforeAll, describe, expect, it } from "vitest";
import { CiIdentity } from "../../components/aws/ci-identity";
import { runProgram } from "../../tools/engine";
import {
  APPS,
  CONFIG_SECRETS,
  deriveCredentials,
  isReadAction,
  jobsOf,
  pullRequestAttacker,
  reachableRoles,
  renderTable,
  rolesOf,
  trustBoundaryProblems,
  withTable,
  type JobCredentials,
  type RoleAccess,
  type StateSecret,
} from "../../tools/generate/credential-table";

const root = path.resolve(__dirname, "..", "..");
let derived: { jobs: JobCredentials[]; roles: RoleAccess[]; stateSecrets: StateSecret[] };

beforeAll(async () => {
  derived = await deriveCredentials(root);
}, 60_000);

const CONFIG_REPO = "acme-corp/gitops-platform";

describe("the declared setup", () => {
  it("lets no pull-request code reach a credential that writes", () => {
    expect(trustBoundaryProblems(derived.jobs, derived.roles, derived.stateSecrets)).toEqual([]);
  });

  it("gives pull-request code exactly the preview roles of both stacks, both read-only, and the reader App", () => {
    const attacker = derived.jobs.find((job) => job.workflow.startsWith("(any workflow file"));
    expect(attacker).toEqual(pullRequestAttacker(CONFIG_REPO));
    // Its token is what its own workflow asks for: only forks' tokens are capped at read.
    expect(renderTable([pullRequestAttacker(CONFIG_REPO)], [])).toContain(
      "| the pull request's | what its workflow asks for, write included (its author's own access, but written as GitHub Actions: see Same-repository branches) |",
    );
    const reached = reachableRoles(pullRequestAttacker(CONFIG_REPO), derived.roles);
    expect(reached.map((role) => [role.stack, role.name, role.writes, role.kubernetes])).toEqual([
      ["staging", "staging-ci-preview", [], "view (no Secrets)"],
      ["prod", "prod-ci-preview", [], "view (no Secrets)"],
    ]);
    expect(attacker?.secrets.map((secret) => APPS[secret]?.writes)).toEqual([false]);
  });

  it("keeps every writing credential behind a push to an environment branch", () => {
    const writers = derived.roles.filter((role) => role.writes.length > 0 || role.kubernetesWrites);
    expect(writers.map((role) => `${role.stack} ${role.name}`)).toEqual(expect.arrayContaining(["staging staging-ci-deploy", "prod prod-ci-deploy"]));
    for (const role of writers) {
      for (const subject of role.subjects) {
        // The config repo's protected environments, or an app repo's branch and release environment.
        expect(subject).toMatch(/^repo:acme-corp\/gitops-platform:environment:(staging|prod)$|^repo:acme-corp\/(orders|payments):(ref:refs\/heads\/main|environment:release)$/);
      }
    }
    const deploy = derived.jobs.filter((job) => job.secrets.includes("DEPLOY_APP_PRIVATE_KEY"));
    expect(deploy.map((job) => [job.workflow, job.job, job.runsPullRequestCode])).toEqual([
      ["automation.yml", "automation-pr", false],
      ["deploy.yml", "deploy", false],
      ["deploy.yml", "promote", false],
    ]);
  });

  it("is the table docs/threat-model.md shows", () => {
    const page = fs.readFileSync(path.join(root, "docs", "threat-model.md"), "utf8");
    const table = renderTable(derived.jobs, derived.roles, derived.stateSecrets);
    expect(withTable(page, table)).toBe(page);
  });
});

describe("each check catches its violation", () => {
  const previewRole: RoleAccess = {
    stack: "staging",
    name: "staging-ci-preview",
    subjects: [`repo:${CONFIG_REPO}:pull_request`],
    writes: [],
    kubernetes: "view (no Secrets)",
    kubernetesWrites: false,
    readsState: true,
  };
  const prJob: JobCredentials = {
    workflow: "preview.yml",
    job: "preview",
    trigger: "pull request",
    code: "the pull request's",
    runsPullRequestCode: true,
    tokenWrites: [],
    subjects: [`repo:${CONFIG_REPO}:pull_request`],
    secrets: [],
  };

  it("a role that pull requests may assume and that writes, or writes to the cluster", () => {
    const writing = { ...previewRole, writes: ["s3:PutObject"], kubernetes: "cluster-admin", kubernetesWrites: true };
    expect(trustBoundaryProblems([prJob], [writing])).toEqual([
      "preview.yml preview: can assume staging staging-ci-preview, which allows more than reads: s3:PutObject",
      "preview.yml preview: can assume staging staging-ci-preview, which writes to the cluster (cluster-admin)",
    ]);
    // The same role behind a push-only subject is no finding.
    expect(trustBoundaryProblems([prJob], [{ ...writing, subjects: [`repo:${CONFIG_REPO}:environment:staging`] }])).toEqual([]);
  });

  it("a pull-request job with a writing token, or the deploy App's key", () => {
    expect(trustBoundaryProblems([{ ...prJob, tokenWrites: ["contents"], secrets: ["DEPLOY_APP_PRIVATE_KEY", "NPM_TOKEN", "READER_APP_PRIVATE_KEY"] }], [])).toEqual([
      "preview.yml preview: runs pull-request code with a GITHUB_TOKEN that may write contents",
      "preview.yml preview: reads DEPLOY_APP_PRIVATE_KEY, the key of the deploy App (Administration, Webhooks, Variables, Pull requests, Contents: write)",
      "preview.yml preview: reads NPM_TOKEN, a stored secret",
    ]);
    // A job that runs no pull-request code may hold them.
    expect(trustBoundaryProblems([{ ...prJob, runsPullRequestCode: false, tokenWrites: ["pull-requests"], secrets: ["DEPLOY_APP_PRIVATE_KEY"] }], [])).toEqual([]);
  });

  it("a pull-request job with a writing token that checks out the pull request's code, not its base", ({ onTestFinished }) => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), "trust-boundary-"));
    onTestFinished(() => fs.rmSync(copy, { recursive: true, force: true }));
    fs.mkdirSync(path.join(copy, ".github", "workflows"), { recursive: true });
    const preview = fs.readFileSync(path.join(root, ".github", "workflows", "preview.yml"), "utf8");
    const baseRef = "          ref: ${{ github.event.pull_request.base.sha || github.sha }}\n";
    expect(preview).toContain(baseRef);
    const comment = (text: string) => {
      fs.writeFileSync(path.join(copy, ".github", "workflows", "preview.yml"), text);
      return jobsOf(copy, CONFIG_REPO, "staging").filter((job) => job.job === "comment");
    };
    // As shipped: the base commit's scripts on a pull request, the dispatched commit's otherwise.
    expect(comment(preview).map((job) => [job.code, job.runsPullRequestCode])).toEqual([
      ["the base commit's tools/ci/delivery (github-script)", false],
      ["the default branch's tools/ci/delivery (github-script)", false],
    ]);
    for (const bent of [preview.replace(baseRef, ""), preview.replace(baseRef, "          ref: ${{ github.event.pull_request.head.sha }}\n")]) {
      const [pullRequest] = comment(bent);
      expect(pullRequest?.code).toBe("the pull request's tools/ci/delivery (github-script)");
      expect(trustBoundaryProblems(pullRequest ? [pullRequest] : [], [])).toEqual(["preview.yml comment: runs pull-request code with a GITHUB_TOKEN that may write pull-requests"]);
    }
  });

  it("the attack of the old preview role: ReadOnlyAccess on a role that pull requests assume", async () => {
    const plan = (preview: boolean) =>
      runProgram({
        stack: "staging",
        config: { "aws:region": "eu-west-1" },
        preview,
        program: () => {
          const identity = new CiIdentity("ci", {
            accountId: "111111111111",
            region: "eu-west-1",
            environment: "staging",
            configRepo: CONFIG_REPO,
            apps: [],
            stateBucket: "acme-state",
            secretsKeyArn: "arn:aws:kms:eu-west-1:111111111111:key/0b7c2a52-6a7e-4f0e-9d8a-3c1f5e2b7a10",
            clusterName: "platform-staging",
          });
          // The ARN is unknown offline; what matters is that the attachment depends on the preview role.
          const role = identity.previewRoleArn.apply((arn) => String(arn ?? "").split("/").pop() ?? "");
          new aws.iam.RolePolicyAttachment("old-read-only", { role, policyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess" }, { dependsOn: [identity] });
        },
      });
    const roles = rolesOf("staging", await plan(true), await plan(false));
    const preview = roles.find((role) => role.name === "ci-preview");
    expect(preview?.writes).toEqual(["managed policy ReadOnlyAccess"]);
    expect(trustBoundaryProblems([prJob], roles)).toEqual([
      "preview.yml preview: can assume staging ci-preview, which allows more than reads: managed policy ReadOnlyAccess",
    ]);
    // Without it, the same identity is clean, and its deploy role (which writes) is out of reach.
    const clean = roles.map((role) => (role.name === "ci-preview" ? { ...role, writes: [] } : role));
    expect(trustBoundaryProblems([prJob], clean)).toEqual([]);
    expect(roles.find((role) => role.name === "ci-deploy")?.writes).toContain("managed policy PowerUserAccess");
  });

  it("a writing credential in the state the preview role decrypts: a GitHub token, anything unclassified", () => {
    const secrets: StateSecret[] = [
      { stack: "staging", name: "config gitops-platform:githubToken", writes: CONFIG_SECRETS["gitops-platform:githubToken"] ?? null },
      { stack: "prod", name: "config gitops-platform:notificationsAppPrivateKey", writes: CONFIG_SECRETS["gitops-platform:notificationsAppPrivateKey"] ?? null },
      { stack: "staging", name: "config gitops-platform:somethingNew", writes: "unclassified stack secret gitops-platform:somethingNew" },
      { stack: "staging", name: "generated staging-reconciler-webhook-token", writes: null },
      { stack: "staging", name: "deploy key staging-config-repo-key-gen0", writes: "pushes to acme-corp/gitops-platform, past the ruleset of refs/heads/staging (deploy keys may bypass it)", deployKey: true },
    ];
    const prodPreview = { ...previewRole, stack: "prod", name: "prod-ci-preview" };
    expect(trustBoundaryProblems([prJob], [previewRole, prodPreview], secrets)).toEqual([
      "preview.yml preview: can read staging config gitops-platform:githubToken from the state through staging-ci-preview, which writes: GitHub, with every right of the token",
      "preview.yml preview: can read staging config gitops-platform:somethingNew from the state through staging-ci-preview, which writes: unclassified stack secret gitops-platform:somethingNew",
    ]);
    // A role that cannot decrypt the state reaches none of it.
    expect(trustBoundaryProblems([prJob], [{ ...previewRole, readsState: false }], secrets)).toEqual([]);
  });

  it("classifies every credential the declared stacks keep in their state", () => {
    expect(derived.stateSecrets.filter((secret) => String(secret.writes).startsWith("unclassified"))).toEqual([]);
    const keys = derived.stateSecrets.filter((secret) => secret.deployKey === true);
    // One per repository and stack; what a read-write one may push is read from the rulesets.
    expect(keys.map((k) => `${k.stack} ${k.name}`)).toEqual(expect.arrayContaining(["staging deploy key staging-config-repo-key-gen0", "prod deploy key prod-app-orders-key-gen0"]));
    expect(keys.filter((k) => k.writes !== null).every((k) => /^pushes to acme-corp\/gitops-platform/.test(String(k.writes)))).toBe(true);
  });

  it("tells read actions from the rest", () => {
    expect(["ec2:DescribeSecurityGroups", "s3:GetObject", "iam:ListRolePolicies", "kms:Decrypt", "secretsmanager:BatchGetSecretValue"].every(isReadAction)).toBe(true);
    expect(["s3:PutObject", "kms:GenerateDataKey", "iam:PassRole", "sts:AssumeRole", "ecr:BatchCheckLayerAvailability", "kms:ReEncryptFrom"].some(isReadAction)).toBe(false);
  });
});
