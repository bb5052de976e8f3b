/**
 * The delivery workflows (.github/workflows): each is checked against the hardening rules of
 * tools/build/workflow-hardening.mts and test/support/lint/workflow-rules.ts, and every rule is
 * shown to catch a bad fixture. The inline github-scripts are run against a fake GitHub API, as
 * actions/github-script runs them (an async function body).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { DRIFT_MARKER } from "../../tools/ci/delivery/drift.mts";
import { PREVIEW_MARKER } from "../../tools/ci/delivery/preview.mts";
import { BODY_LIMIT } from "../../tools/ci/delivery/text.mts";
import { APP_RELEASE_ENVIRONMENT } from "../../components/aws/ci-identity";
import { ciVariableNames } from "../../components/github/github-wiring";
import {
  appCiRules,
  auditWorkflow,
  automationRules,
  deployRules,
  driftRules,
  parseWorkflow,
  previewRules,
  tagChangesRules,
  usesLines,
  type Step,
  type Workflow,
} from "../support/lint/workflow-rules";

const root = path.resolve(__dirname, "..", "..");
const workflowDir = path.join(root, ".github", "workflows");
const WORKFLOW_FILES = ["automation.yml", "deploy.yml", "drift.yml", "preview.yml"];
const linter = path.join(root, "tools", "build", "lint-workflows.mts");

function raw(file: string): string {
  return fs.readFileSync(path.join(workflowDir, file), "utf8");
}

function workflow(file: string): Workflow {
  return parseWorkflow(raw(file));
}

const REMOVE = Symbol("remove");
type Key = string | number;
type Edit = [path: Key[], value: unknown];

/**
 * A copy of a workflow with a few things broken: each edit sets the value at a path (a function gets
 * the old value), or removes it (REMOVE).
 */
function broken(file: string, ...edits: Edit[]): Workflow {
  const copy = structuredClone(workflow(file)) as unknown as Record<Key, unknown>;
  for (const [keys, value] of edits) {
    let node = copy;
    for (const key of keys.slice(0, -1)) node = node[key] as Record<Key, unknown>;
    const last = keys[keys.length - 1] ?? "";
    const next = typeof value === "function" ? (value as (old: unknown) => unknown)(node[last]) : value;
    if (next === REMOVE) delete node[last];
    else node[last] = next;
  }
  return copy;
}

/** The index of a job's step by name, for edits. */
function step(file: string, jobId: string, name: string): number {
  const index = workflow(file).jobs?.[jobId]?.steps?.findIndex((s) => s.name === name) ?? -1;
  if (index < 0) throw new Error(`${file} ${jobId}: no step ${name}`);
  return index;
}

const replaced = (from: string, to: string) => (old: unknown) => String(old).replace(from, to);

/** A minimal workflow that passes every generic rule; fixtures change one thing each. */
const GOOD = `
name: fixture
on:
  push:
    branches: [staging]
permissions:
  contents: read
concurrency:
  group: pulumi-\${{ github.ref_name }}
  cancel-in-progress: false
jobs:
  up:
    runs-on: ubuntu-24.04
    timeout-minutes: 10
    permissions:
      contents: read
      id-token: write
    env:
      STACK: \${{ github.ref_name }}
    steps:
      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0
        with:
          persist-credentials: false
      - uses: actions/setup-node@2028fbc5c25fe9cf00d9f06a71cc4710d4507903 # v6.0.0
        with:
          node-version-file: .nvmrc
      - run: npm ci
      - uses: aws-actions/configure-aws-credentials@a03048d87541d1d9fcf2ecf528a4a65ba9bd7838 # v5.0.0
        with:
          role-to-assume: arn:aws:iam::111111111111:role/deploy
          aws-region: eu-west-1
      - env:
          POLICY_CONFIG: \${{ steps.stack.outputs.policy-config }}
        run: |
          pulumi up --yes --stack "$STACK" \\
            --policy-pack policies --policy-pack-config "$POLICY_CONFIG"
`;

function fixture(replace: string, by: string): string {
  expect(GOOD).toContain(replace);
  return GOOD.replace(replace, by);
}

describe("the workflow files", () => {
  it("are exactly the four delivery workflows", () => {
    expect(fs.readdirSync(workflowDir).sort()).toEqual(WORKFLOW_FILES);
  });

  it("pass the hardening linter, which reads every workflow file there is (npm test runs it too)", () => {
    const run = spawnSync(process.execPath, [linter, "hardening"], { cwd: root, encoding: "utf8" });
    expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({ status: 0, stdout: "hardening: 5 workflow file(s) clean\n", stderr: "" });
  });

  it("the hardening linter lints a workflow file a pull request adds, whatever its name", ({ onTestFinished }) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hardening-"));
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.mkdirSync(path.join(dir, ".github", "workflows"), { recursive: true });
    fs.copyFileSync(path.join(workflowDir, "deploy.yml"), path.join(dir, ".github", "workflows", "deploy.yml"));
    fs.writeFileSync(path.join(dir, ".github", "workflows", "release-notes.yaml"), GOOD.replace("permissions:\n  contents: read\nconcurrency", "permissions: write-all\nconcurrency"));
    const run = spawnSync(process.execPath, [linter, "hardening", "--root", dir], { encoding: "utf8" });
    expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({
      status: 1,
      stdout: '.github/workflows/release-notes.yaml: permissions: expected exactly { contents: read } at the top level, got "write-all"\n',
      stderr: "hardening: 1 problem(s) in 2 workflow file(s)\n",
    });
  });

  it("the good fixture passes every hardening rule", () => {
    expect(auditWorkflow(GOOD)).toEqual([]);
  });

  it("pin each action to one commit across all workflows", () => {
    const pins = new Map<string, Set<string>>();
    for (const file of WORKFLOW_FILES) {
      for (const { ref, comment } of usesLines(raw(file))) {
        const [action] = ref.split("@");
        // A zizmor suppression after the version is not part of the pin.
        pins.set(action ?? "", (pins.get(action ?? "") ?? new Set()).add(`${ref} ${comment.replace(/\s+#\s*zizmor:.*$/, "")}`));
      }
    }
    expect([...pins.keys()].sort()).toEqual([
      "actions/checkout",
      "actions/create-github-app-token",
      "actions/github-script",
      "actions/setup-node",
      "aws-actions/configure-aws-credentials",
      "pulumi/actions",
    ]);
    for (const [action, refs] of pins) expect({ action, refs: refs.size }).toEqual({ action, refs: 1 });
  });

  it("install the Pulumi CLI of the same version as the SDK in the lockfile", () => {
    const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8")) as {
      packages: Record<string, { version?: string }>;
    };
    const sdk = lock.packages["node_modules/@pulumi/pulumi"]?.version;
    const versions = new Set<string>();
    for (const file of WORKFLOW_FILES) {
      for (const job of Object.values(workflow(file).jobs ?? {})) {
        for (const step of (job.steps ?? []) as Step[]) {
          if (step.uses?.startsWith("pulumi/actions@")) versions.add(String(step.with?.["pulumi-version"]));
        }
      }
    }
    expect(sdk).toMatch(/^\d+\.\d+\.\d+$/);
    expect([...versions]).toEqual([sdk]);
  });

  it("run on Node 24 from .nvmrc", () => {
    expect(fs.readFileSync(path.join(root, ".nvmrc"), "utf8").trim()).toBe("24");
  });

  it("name only stacks that have a stack config", () => {
    const preview = workflow("preview.yml").on as { pull_request: { branches: string[] }; workflow_dispatch: { inputs: { stack: { options: string[] } } } };
    const named = [
      ...(workflow("deploy.yml").on as { push: { branches: string[] } }).push.branches,
      ...preview.pull_request.branches,
      ...preview.workflow_dispatch.inputs.stack.options,
      ...((workflow("drift.yml").jobs?.drift?.strategy?.matrix?.stack as string[] | undefined) ?? []),
    ];
    expect(named.length).toBeGreaterThanOrEqual(8);
    for (const stack of new Set(named)) expect(fs.existsSync(path.join(root, `Pulumi.${stack}.yaml`)), stack).toBe(true);
  });
});

describe("templates/app-ci.yml, the app repositories' CI", () => {
  const template = () => fs.readFileSync(path.join(root, "templates", "app-ci.yml"), "utf8");
  const variables = { staging: ciVariableNames("staging"), prod: ciVariableNames("prod") };

  it("passes every hardening rule of the project's workflows", () => {
    expect(auditWorkflow(template())).toEqual([]);
  });

  it("pushes only from version tags, in the release environment the app roles trust, with the variables the program writes", () => {
    expect(appCiRules(parseWorkflow(template()), APP_RELEASE_ENVIRONMENT, variables)).toEqual([]);
    expect(variables.staging).toEqual({ roleArn: "AWS_ROLE_ARN_STAGING", ecrRepositoryUrl: "ECR_REPOSITORY_URL_STAGING", region: "AWS_REGION_STAGING" });
  });

  it("catches a release outside the environment, a build with an OIDC token and variables the program does not write", () => {
    const bad = structuredClone(parseWorkflow(template())) as unknown as {
      jobs: Record<string, { environment?: string; permissions: Record<string, string>; strategy: { matrix: { include: Record<string, string>[] } } }>;
    };
    delete bad.jobs.release!.environment;
    bad.jobs.build!.permissions["id-token"] = "write";
    bad.jobs.release!.strategy.matrix.include[0]!.roleArn = "${{ vars.AWS_ROLE_ARN }}";
    expect(appCiRules(bad as unknown as Workflow, APP_RELEASE_ENVIRONMENT, variables)).toEqual([
      "job build: only the release job may request an OIDC token",
      "job release: environment must be release (the OIDC subject the app roles trust)",
      `job release: expected the matrix ${JSON.stringify([
        { environment: "staging", roleArn: "${{ vars.AWS_ROLE_ARN_STAGING }}", repositoryUrl: "${{ vars.ECR_REPOSITORY_URL_STAGING }}", region: "${{ vars.AWS_REGION_STAGING }}" },
        { environment: "prod", roleArn: "${{ vars.AWS_ROLE_ARN_PROD }}", repositoryUrl: "${{ vars.ECR_REPOSITORY_URL_PROD }}", region: "${{ vars.AWS_REGION_PROD }}" },
      ])}`,
    ]);
    // The generic rules catch the rest: a build job with id-token: write has no AWS step.
    expect(auditWorkflow(template().replace("    permissions:\n      contents: read\n    outputs:", "    permissions:\n      contents: read\n      id-token: write\n    outputs:"))).toEqual([
      "job build: id-token: write without an AWS credentials step",
    ]);
  });

  it("builds once and pushes that image's bytes to every environment, checking the digest", () => {
    const wf = parseWorkflow(template());
    expect(wf.jobs?.build?.steps?.map((s) => s.name)).toEqual([
      "Check out",
      "Check the version tag",
      "Build the image",
      "Save the release image as an OCI archive",
      "Keep the release image for the release jobs",
    ]);
    expect(wf.jobs?.release?.steps?.map((s) => s.name)).toEqual([
      "Check the build's output and the variables gitops-platform set",
      "Fetch the release image the build job saved",
      "Assume the app's push role (OIDC)",
      "Push the release image",
    ]);
    const bad = structuredClone(wf) as unknown as { jobs: Record<string, { env: Record<string, string>; steps: Step[] }> };
    const release = bad.jobs.release!;
    release.steps = release.steps.map((s) => (s.name === "Push the release image" ? { ...s, run: "docker build --tag \"$REPOSITORY_URL:$VERSION\" .\ndocker push \"$REPOSITORY_URL:$VERSION\"" } : s));
    release.env.DIGEST = "";
    expect(appCiRules(bad as unknown as Workflow, APP_RELEASE_ENVIRONMENT, variables)).toEqual([
      "jobs: expected exactly one image build, in the job build (found in: build, release)",
      "job release: expected needs: build, the artifact release-image and DIGEST from needs.build.outputs.digest",
      "job release: expected skopeo copy --preserve-digests of the archive, checking the archive's and the pushed digest against DIGEST",
    ]);
    const unchecked = template().replace('if [ "$pushed" != "$DIGEST" ]; then', 'if false; then');
    expect(appCiRules(parseWorkflow(unchecked), APP_RELEASE_ENVIRONMENT, variables)).toEqual([
      "job release: expected skopeo copy --preserve-digests of the archive, checking the archive's and the pushed digest against DIGEST",
    ]);
    const noArtifact = template().replace("name: release-image\n          path: ${{ runner.temp }}", "name: image\n          path: ${{ runner.temp }}");
    expect(appCiRules(parseWorkflow(noArtifact), APP_RELEASE_ENVIRONMENT, variables)).toEqual([
      "job build: expected the release image kept as the artifact release-image, and its digest as the output digest",
    ]);
  });

  it("catches a release on branch pushes", () => {
    const bad = template().replace('tags: ["v*.*.*"]', 'tags: ["*"]').replace("\n    if: github.event_name == 'push' && startsWith(github.ref, 'refs/tags/v')", "\n    if: true");
    expect(appCiRules(parseWorkflow(bad), APP_RELEASE_ENVIRONMENT, variables)).toEqual([
      'on: expected push of tags ["v*.*.*"]',
      "job release: must run only for pushed version tags",
    ]);
  });
});

describe("each hardening rule catches its violation", () => {
  it("top-level permissions other than exactly { contents: read }", () => {
    expect(auditWorkflow(fixture("permissions:\n  contents: read\nconcurrency", "permissions: write-all\nconcurrency"))).toEqual([
      'permissions: expected exactly { contents: read } at the top level, got "write-all"',
    ]);
    expect(auditWorkflow(fixture("permissions:\n  contents: read\nconcurrency", "permissions:\n  contents: write\nconcurrency"))).toEqual([
      'permissions: expected exactly { contents: read } at the top level, got {"contents":"write"}',
    ]);
  });

  it("pull_request_target", () => {
    expect(auditWorkflow(fixture("on:\n  push:", "on:\n  pull_request_target:\n  push:"))).toEqual([
      "on: pull_request_target runs pull request code with a write token and secrets: use pull_request",
    ]);
  });

  it("id-token: write on a job without AWS, and AWS without id-token", () => {
    const noAws = fixture(
      "      - uses: aws-actions/configure-aws-credentials@a03048d87541d1d9fcf2ecf528a4a65ba9bd7838 # v5.0.0\n        with:\n          role-to-assume: arn:aws:iam::111111111111:role/deploy\n          aws-region: eu-west-1\n",
      "",
    );
    expect(auditWorkflow(noAws)).toEqual(["job up: id-token: write without an AWS credentials step"]);
    expect(auditWorkflow(fixture("      id-token: write\n", ""))).toEqual(["job up: AWS credentials step without id-token: write"]);
  });

  it("write scopes no delivery job needs, and write-all on a job", () => {
    expect(auditWorkflow(fixture("      contents: read\n      id-token", "      contents: write\n      id-token"))).toEqual([
      "job up: contents: write is needed by no delivery job",
    ]);
    expect(auditWorkflow(fixture("    permissions:\n      contents: read\n      id-token: write\n", "    permissions: write-all\n"))).toEqual([
      "job up: permissions: write-all instead of a list of scopes",
    ]);
  });

  it("pull-requests or actions write in a job that runs repository code", () => {
    expect(auditWorkflow(fixture("      id-token: write\n", "      id-token: write\n      pull-requests: write\n      actions: write\n"))).toEqual([
      "job up: pull-requests: write in a job that runs repository code (checkout or run:)",
      "job up: actions: write in a job that runs repository code (checkout or run:)",
    ]);
  });

  it("issues: write in a workflow that pull requests trigger", () => {
    const bad = fixture("      id-token: write\n", "      id-token: write\n      issues: write\n").replace(
      "on:\n  push:",
      "on:\n  pull_request:\n  push:",
    );
    expect(auditWorkflow(bad)).toEqual(["job up: issues: write in a workflow that pull requests trigger"]);
  });

  it("actions not pinned to a full commit SHA, or without a version comment", () => {
    expect(auditWorkflow(fixture("actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0", "actions/checkout@v5 # v5.0.0"))).toEqual([
      "job up step 1: uses actions/checkout@v5 is not pinned to a full commit SHA",
    ]);
    expect(auditWorkflow(fixture("actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0", "actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8"))).toEqual([
      'line 21: uses actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 has no "# vX.Y.Z" version comment',
    ]);
    expect(auditWorkflow(fixture("actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0", "actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5"))).toEqual([
      'line 21: uses actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 has no "# vX.Y.Z" version comment',
    ]);
  });

  it("a uses: the line scan cannot see (flow style)", () => {
    const flow = fixture("      - run: npm ci\n", "      - run: npm ci\n      - { uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8, with: { persist-credentials: false } }\n");
    expect(auditWorkflow(flow)).toEqual(['uses: 4 references parsed but 3 written one per line as "uses: <ref> # vX.Y.Z"']);
  });

  it("expressions inside run: and github-script scripts", () => {
    expect(auditWorkflow(fixture("      - run: npm ci\n", '      - run: npm ci\n      - run: echo "${{ github.event.pull_request.title }}"\n'))).toEqual([
      "job up step 4: untrusted ${{ github.event.pull_request.title }} inside run: (pass it through env:)",
    ]);
    expect(auditWorkflow(fixture("      - run: npm ci\n", "      - run: npm ci\n      - run: git checkout ${{github.head_ref}}\n"))).toEqual([
      "job up step 4: untrusted ${{github.head_ref}} inside run: (pass it through env:)",
    ]);
    expect(auditWorkflow(fixture("      - run: npm ci\n", "      - run: npm ci\n      - run: echo ${{ inputs.stack }}\n"))).toEqual([
      "job up step 4: ${{ inputs.stack }} inside run: (pass values through env:)",
    ]);
    const script = fixture(
      "      - run: npm ci\n",
      "      - run: npm ci\n      - uses: actions/github-script@ed597411d8f924073f98dfc5c65a23a2325f34cd # v8.0.0\n        with:\n          script: console.log(\"${{ github.event.issue.title }}\")\n",
    );
    expect(auditWorkflow(script)).toEqual(["job up step 4: untrusted ${{ github.event.issue.title }} inside script: (pass it through env:)"]);
  });

  it("npm install instead of npm ci", () => {
    expect(auditWorkflow(fixture("      - run: npm ci\n", "      - run: npm install\n"))).toEqual([
      'job up step 3: "npm install" instead of npm ci with the lockfile',
      "job up: sets up Node but never runs npm ci",
    ]);
  });

  it("checkout that keeps the token in .git/config", () => {
    expect(auditWorkflow(fixture("          persist-credentials: false\n", ""))).toEqual([
      "job up step 1: actions/checkout without persist-credentials: false",
    ]);
  });

  it("Node not from .nvmrc", () => {
    expect(auditWorkflow(fixture("node-version-file: .nvmrc", "node-version: 22"))).toEqual([
      "job up step 2: actions/setup-node must take the version from node-version-file: .nvmrc",
    ]);
  });

  it("static AWS keys", () => {
    expect(auditWorkflow(fixture("          role-to-assume: arn:aws:iam::111111111111:role/deploy\n", "          aws-access-key-id: AKIAEXAMPLE\n"))).toEqual([
      "job up step 4: static AWS keys instead of OIDC",
      "job up step 4: no role-to-assume",
    ]);
  });

  it("a job without a timeout", () => {
    expect(auditWorkflow(fixture("    timeout-minutes: 10\n", ""))).toEqual(["job up: timeout-minutes: expected 1 to 120, got null"]);
  });

  it("pulumi without a concurrency group, or with one that cancels", () => {
    expect(auditWorkflow(fixture("  cancel-in-progress: false", "  cancel-in-progress: true"))).toEqual([
      "job up: runs pulumi with a concurrency group that may cancel it (cancel-in-progress must be false)",
    ]);
    expect(auditWorkflow(fixture("concurrency:\n  group: pulumi-${{ github.ref_name }}\n  cancel-in-progress: false\n", ""))).toEqual([
      "job up: runs pulumi without a concurrency group per stack or pull request",
    ]);
  });

  it("pulumi up or preview without the policy pack, the stack's policy config or the stack", () => {
    expect(auditWorkflow(fixture(' \\\n            --policy-pack policies --policy-pack-config "$POLICY_CONFIG"', ""))).toEqual([
      "job up: pulumi up without --policy-pack policies",
      'job up: pulumi up without --policy-pack-config "$POLICY_CONFIG"',
    ]);
    // A file named after the stack would skip the kind's levels of a stack without its own config.
    expect(auditWorkflow(fixture('"$POLICY_CONFIG"', '"policies/config/$STACK.json"'))).toEqual([
      'job up: pulumi up without --policy-pack-config "$POLICY_CONFIG"',
    ]);
    expect(auditWorkflow(fixture("steps.stack.outputs.policy-config", "steps.stack.outputs.region"))).toEqual([
      "job up: pulumi up: POLICY_CONFIG must be ${{ steps.stack.outputs.policy-config }} (the stack's own policy config, else its kind's)",
    ]);
    expect(auditWorkflow(fixture('pulumi up --yes --stack "$STACK"', "pulumi up --yes --stack prod"))).toEqual([
      'job up: pulumi up without --stack "$STACK"',
    ]);
  });

  it("pulumi refresh or destroy", () => {
    expect(auditWorkflow(fixture("      - run: npm ci\n", '      - run: npm ci\n      - run: pulumi refresh --yes --stack "$STACK"\n'))).toEqual([
      "job up: pulumi refresh has no place in the delivery workflows",
    ]);
  });

  it("stored secrets other than the App keys, or the keys anywhere but an App token step", () => {
    expect(auditWorkflow(fixture("      STACK: ${{ github.ref_name }}\n", "      STACK: ${{ github.ref_name }}\n      TOKEN: ${{ secrets.PULUMI_ACCESS_TOKEN }}\n"))).toEqual([
      "secrets: 1 reference(s) outside the private-key of actions/create-github-app-token (OIDC, the workflow token and App tokens only)",
    ]);
    const asInput = fixture("          aws-region: eu-west-1\n", "          aws-region: eu-west-1\n          role-session-name: ${{ secrets.READER_APP_PRIVATE_KEY }}\n");
    expect(auditWorkflow(asInput)).toEqual([
      "job up step 4: secrets.READER_APP_PRIVATE_KEY: the only stored secrets are the GitHub App keys, as the private-key of actions/create-github-app-token",
    ]);
  });

  const appToken = (key: string) =>
    `      - id: app\n        uses: actions/create-github-app-token@1b10c78c7865c340bc4f6099eb2f838309f1e8c3 # v3.1.1\n        with:\n          client-id: x\n          private-key: \${{ secrets.${key} }}\n`;

  it("the deploy App's key outside a protected environment, and App tokens in pull request workflows", () => {
    const withApp = fixture("      - run: npm ci\n", `      - run: npm ci\n${appToken("DEPLOY_APP_PRIVATE_KEY")}`);
    expect(auditWorkflow(withApp)).toEqual([
      "job up step 4: secrets.DEPLOY_APP_PRIVATE_KEY is a secret of the protected environments: the job needs environment:",
    ]);
    expect(auditWorkflow(withApp.replace("    timeout-minutes: 10\n", "    timeout-minutes: 10\n    environment: staging\n"))).toEqual([]);
    const inPr = fixture("      - run: npm ci\n", `      - run: npm ci\n${appToken("READER_APP_PRIVATE_KEY")}`).replace("on:\n  push:", "on:\n  pull_request:\n  push:");
    expect(auditWorkflow(inPr)).toEqual([
      "secrets: a workflow that pull requests trigger holds no stored secret",
      "job up: mints a GitHub App token in a workflow that pull requests trigger",
    ]);
  });

  it("an App token handed to anything but pulumi's GITHUB_TOKEN", () => {
    const base = fixture("      - run: npm ci\n", `      - run: npm ci\n${appToken("READER_APP_PRIVATE_KEY")}`);
    const leaked = base.replace("      - env:\n          POLICY_CONFIG:", "      - env:\n          TOKEN: ${{ steps.app.outputs.token }}\n          POLICY_CONFIG:");
    expect(auditWorkflow(leaked)).toEqual([
      "job up step 6: the App token may only be the GITHUB_TOKEN of a step that runs pulumi, or the github-token of a github-script in a job that runs no code",
    ]);
    const toScript = base.replace("      - run: npm ci\n", "      - run: npm ci\n      - env:\n          GITHUB_TOKEN: ${{ steps.app.outputs.token }}\n        run: ./publish.sh\n");
    expect(auditWorkflow(toScript)).toEqual([
      "job up step 4: the App token may only be the GITHUB_TOKEN of a step that runs pulumi, or the github-token of a github-script in a job that runs no code",
    ]);
    const ok = base.replace("      - env:\n          POLICY_CONFIG:", "      - env:\n          GITHUB_TOKEN: ${{ steps.app.outputs.token }}\n          POLICY_CONFIG:");
    expect(ok).not.toBe(base);
    expect(auditWorkflow(ok)).toEqual([]);
  });
});

describe("preview.yml", () => {
  it("previews the base branch's stack with the policy pack, skips the cloud for forks and comments once", () => {
    expect(previewRules(workflow("preview.yml"))).toEqual([]);
    const job = workflow("preview.yml").jobs?.preview;
    expect(job?.steps?.map((s) => s.name)).toEqual([
      "Check out",
      "Set up Node (.nvmrc)",
      "Install from the lockfile",
      "Offline plan and policy check",
      "Resolve the stack's backend and preview role",
      "Assume the preview role (OIDC)",
      "Install the Pulumi CLI",
      "Log in to the state backend",
      "pulumi preview with the policy pack",
      "Write the report",
      "Fail on a policy violation, a config error or a failed preview",
      "Environments and the lists generated from them",
    ]);
  });

  it("checks every pull request into prod for image tags changed outside a promotion, without credentials", () => {
    expect(tagChangesRules(workflow("preview.yml"))).toEqual([]);
    const job = workflow("preview.yml").jobs?.["tag-changes"];
    expect(job?.steps?.map((s) => s.name)).toEqual(["Check out", "Set up Node (.nvmrc)", "Install from the lockfile", "Image tags change upstream only"]);
  });

  it("catches a tag check that is skipped, privileged, shallow or compares the wrong commits", () => {
    const check = step("preview.yml", "tag-changes", "Image tags change upstream only");
    const bad = broken(
      "preview.yml",
      [["jobs", "tag-changes", "if"], "github.event_name == 'pull_request' && github.base_ref == 'prod' && github.event.pull_request.head.ref != 'staging'"],
      [["jobs", "tag-changes", "permissions", "id-token"], "write"],
      [["jobs", "tag-changes", "steps", 0, "with", "fetch-depth"], REMOVE],
      [["jobs", "tag-changes", "env", "HEAD_SHA"], "${{ github.sha }}"],
      [["jobs", "tag-changes", "steps", check, "continue-on-error"], true],
    );
    expect(tagChangesRules(bad)).toEqual([
      "job tag-changes: must run for every pull request into a promoted production environment (if: github.event_name == 'pull_request' && contains(fromJSON('[\"prod\"]'), github.base_ref))",
      "job tag-changes: expected permissions exactly { contents: read }, no environment and no secrets",
      "job tag-changes: the checkout needs the full history (fetch-depth: 0)",
      "job tag-changes: BASE_SHA and HEAD_SHA must be the pull request's base and head commits, BASE_REF its base branch",
      'job tag-changes: expected the step npm run check-tag-changes -- "$BASE_SHA" "$HEAD_SHA" "origin/$upstream" against the upstream of $BASE_REF, unconditional',
    ]);
    expect(tagChangesRules(broken("preview.yml", [["jobs", "tag-changes", "steps", check, "run"], replaced('"origin/$upstream"', "origin/staging")]))).toEqual([
      'job tag-changes: expected the step npm run check-tag-changes -- "$BASE_SHA" "$HEAD_SHA" "origin/$upstream" against the upstream of $BASE_REF, unconditional',
    ]);
    expect(tagChangesRules(broken("preview.yml", [["jobs", "tag-changes", "name"], "Tag changes"]))).toEqual([
      "jobs: expected a job tag-changes named tag-changes (the check the prod ruleset requires)",
    ]);
  });

  it("catches a trigger other than pull requests to the environment branches", () => {
    const bad = broken("preview.yml", [["on", "pull_request", "branches"], ["main"]]);
    expect(previewRules(bad)).toEqual(["on: expected pull_request to branches [staging, prod]"]);
  });

  it("catches a preview that no longer checks the environments and their generated lists", () => {
    const check = step("preview.yml", "preview", "Environments and the lists generated from them");
    expect(previewRules(broken("preview.yml", [["jobs", "preview", "steps", check, "if"], REMOVE]))).toEqual([
      "job preview: expected a step npm run --silent environments that runs whatever failed before it (if: ${{ !cancelled() }})",
    ]);
    expect(previewRules(broken("preview.yml", [["jobs", "preview", "steps", check, "run"], "npm run --silent environments -- --write"]))).toEqual([
      "job preview: expected a step npm run --silent environments that runs whatever failed before it (if: ${{ !cancelled() }})",
    ]);
  });

  it("catches a renamed check", () => {
    const bad = broken("preview.yml", [["jobs", "preview", "name"], "Preview"]);
    expect(previewRules(bad)).toEqual(["jobs: expected a job preview named preview (the check branch protection requires)"]);
  });

  it("catches cloud steps that forks would run", () => {
    const bad = broken("preview.yml", [["jobs", "preview", "steps", step("preview.yml", "preview", "Assume the preview role (OIDC)"), "if"], REMOVE]);
    expect(previewRules(bad)).toEqual([
      "job preview: step Assume the preview role (OIDC) needs the cloud and must be skipped for forks (if: env.TRUSTED == 'true')",
    ]);
  });

  it("catches an offline check that forks would skip", () => {
    const bad = broken("preview.yml", [["jobs", "preview", "steps", step("preview.yml", "preview", "Offline plan and policy check"), "if"], "env.TRUSTED == 'true'"]);
    expect(previewRules(bad)).toEqual(["job preview: the offline check must run for forks too (no if:)"]);
  });

  it("catches a fork test that trusts everyone, and a stack other than the base branch", () => {
    const bad = broken("preview.yml", [["jobs", "preview", "env", "TRUSTED"], "true"], [["jobs", "preview", "env", "STACK"], "staging"]);
    expect(previewRules(bad)).toEqual([
      "job preview: STACK must be the pull request's base branch (or the dispatched stack)",
      "job preview: TRUSTED must be false for pull requests from forks",
    ]);
  });

  it("catches a comment job with more than pull-requests: write, or one that forks would run", () => {
    const bad = broken(
      "preview.yml",
      [["jobs", "comment", "permissions"], { "pull-requests": "write", contents: "write" }],
      [["jobs", "comment", "if"], "${{ !cancelled() }}"],
    );
    expect(previewRules(bad)).toEqual([
      "job comment: expected permissions exactly { pull-requests: write }",
      "job comment: must be skipped for pull requests from forks",
    ]);
  });

  it("catches the preview job holding pull-requests: write", () => {
    const bad = broken("preview.yml", [["jobs", "preview", "permissions", "pull-requests"], "write"]);
    expect(previewRules(bad)).toEqual(["job preview: expected permissions exactly { contents: read, id-token: write }"]);
  });
});

describe("deploy.yml", () => {
  it("runs pulumi up per environment branch, in its environment, never cancelled", () => {
    expect(deployRules(workflow("deploy.yml"))).toEqual([]);
  });

  it("catches a concurrency group that cancels, or one shared by all stacks", () => {
    const cancels = broken("deploy.yml", [["concurrency", "cancel-in-progress"], true]);
    expect(deployRules(cancels)).toEqual(["concurrency: expected { group: pulumi-${{ github.ref_name }}, cancel-in-progress: false }"]);
    const shared = broken("deploy.yml", [["concurrency", "group"], "pulumi"]);
    expect(deployRules(shared)).toEqual(["concurrency: expected { group: pulumi-${{ github.ref_name }}, cancel-in-progress: false }"]);
  });

  it("catches a missing environment and extra triggers", () => {
    const bad = broken("deploy.yml", [["jobs", "deploy", "environment"], REMOVE], [["on", "workflow_dispatch"], null]);
    expect(deployRules(bad)).toEqual(["on: expected only push to branches [staging, prod]", "job deploy: environment must be ${{ github.ref_name }}"]);
  });

  it("catches the preview role used for up", () => {
    const settings = step("deploy.yml", "deploy", "Resolve the stack's backend and deploy role");
    const bad = broken("deploy.yml", [["jobs", "deploy", "steps", settings, "run"], replaced("--role deploy", "--role preview")]);
    expect(deployRules(bad)).toEqual(["job deploy: the AWS role must be the stack's deploy role (--role deploy)"]);
  });
});

describe("deploy.yml: the GitHub App token and the promotion", () => {
  it("hands pulumi up a token of the deploy App, scoped to the stack's repositories", () => {
    const app = step("deploy.yml", "deploy", "Mint the GitHub App installation token");
    const up = step("deploy.yml", "deploy", "pulumi up with the policy pack");
    expect(workflow("deploy.yml").jobs?.deploy?.steps?.[app]?.with).toEqual({
      "client-id": "${{ vars.DEPLOY_APP_CLIENT_ID }}",
      "private-key": "${{ secrets.DEPLOY_APP_PRIVATE_KEY }}",
      owner: "${{ steps.stack.outputs.github-owner }}",
      repositories: "${{ steps.stack.outputs.github-repositories }}",
    });
    // After everything else is installed, right before the one step that uses it.
    expect(app).toBe(up - 1);
    const noRepos = broken("deploy.yml", [["jobs", "deploy", "steps", app, "with", "repositories"], REMOVE]);
    expect(deployRules(noRepos)).toEqual([
      'job deploy: expected an App token step with {"client-id":"${{ vars.DEPLOY_APP_CLIENT_ID }}","private-key":"${{ secrets.DEPLOY_APP_PRIVATE_KEY }}","owner":"${{ steps.stack.outputs.github-owner }}","repositories":"${{ steps.stack.outputs.github-repositories }}"}',
    ]);
    const noToken = broken("deploy.yml", [["jobs", "deploy", "steps", up, "env"], REMOVE]);
    expect(deployRules(noToken)).toEqual(["job deploy: pulumi must get the App token as GITHUB_TOKEN"]);
  });

  it("promotes only after a successful deploy of an environment that promotes, one pull request per downstream environment, with no more than the promotion needs", () => {
    const bad = broken("deploy.yml", [["jobs", "promote", "if"], "always()"], [["jobs", "promote", "permissions", "pull-requests"], "write"]);
    expect(deployRules(bad)).toEqual([
      "job promote: must run only after a successful deploy of an environment that promotes (needs: deploy, if: needs.deploy.outputs.promotes-to != '[]')",
      "job promote: expected permissions exactly { contents: read } (it writes with the App token)",
    ]);
    // A hand-kept list of downstream environments, a fixed pull request, or a deploy that does not read them.
    const fixed = broken(
      "deploy.yml",
      [["jobs", "promote", "strategy", "matrix", "base"], "[prod]"],
      [["jobs", "promote", "steps", 1, "env", "BASE"], "prod"],
      [["jobs", "deploy", "steps", step("deploy.yml", "deploy", "Read the environments this one promotes to"), "run"], replaced('"$STACK"', "staging")],
    );
    expect(deployRules(fixed)).toEqual([
      'job deploy: expected a step promotion that writes npm run environments -- --promotes-to "$STACK" to the job output promotes-to',
      "job promote: expected a matrix over base: ${{ fromJSON(needs.deploy.outputs.promotes-to) }} (one pull request per downstream environment)",
      "job promote: the pull request must go from HEAD ${{ github.ref_name }} to BASE ${{ matrix.base }}",
    ]);
    expect(deployRules(broken("deploy.yml", [["jobs", "promote", "environment"], "staging"]))).toEqual([
      'job promote: expected environment ${{ github.ref_name }} (the deployed one) and an App token step with {"client-id":"${{ vars.DEPLOY_APP_CLIENT_ID }}","private-key":"${{ secrets.DEPLOY_APP_PRIVATE_KEY }}","repositories":"${{ github.event.repository.name }}","permission-contents":"read","permission-pull-requests":"write"}',
    ]);
    const wider = broken("deploy.yml", [["jobs", "promote", "steps", 0, "with", "permission-administration"], "write"]);
    expect(deployRules(wider)).toEqual([
      'job promote: expected environment ${{ github.ref_name }} (the deployed one) and an App token step with {"client-id":"${{ vars.DEPLOY_APP_CLIENT_ID }}","private-key":"${{ secrets.DEPLOY_APP_PRIVATE_KEY }}","repositories":"${{ github.event.repository.name }}","permission-contents":"read","permission-pull-requests":"write"}',
    ]);
    expect(auditWorkflow(raw("deploy.yml"))).toEqual([]);
    expect(workflow("deploy.yml").jobs?.promote?.steps?.some((s) => s.uses?.startsWith("actions/checkout@") || s.run !== undefined)).toBe(false);
  });

  it("opens the pull request with the App token, so that its preview starts by itself", () => {
    const script = workflow("deploy.yml").jobs?.promote?.steps?.find((s) => s.uses?.startsWith("actions/github-script@"));
    expect(script?.with?.["github-token"]).toBe("${{ steps.promoter.outputs.token }}");
    expect(auditWorkflow(raw("deploy.yml").replace("github-token: ${{ steps.promoter.outputs.token }}", "github-token: ${{ github.token }}"))).toEqual([]);
    // The token anywhere else is refused.
    const leaked = raw("deploy.yml").replace("          DEPLOYED_SHA: ${{ github.sha }}\n", "          DEPLOYED_SHA: ${{ github.sha }}\n          TOKEN: ${{ steps.promoter.outputs.token }}\n");
    expect(leaked).not.toBe(raw("deploy.yml"));
    expect(auditWorkflow(leaked)).toEqual([
      "job promote step 2 (Open or refresh the promotion pull request): the App token may only be the GITHUB_TOKEN of a step that runs pulumi, or the github-token of a github-script in a job that runs no code",
    ]);
  });
});

describe("drift.yml", () => {
  it("checks every stack daily and on demand", () => {
    expect(driftRules(workflow("drift.yml"))).toEqual([]);
  });

  it("catches a missing schedule, a missing stack and a pull request trigger", () => {
    const bad = broken("drift.yml", [["on"], { pull_request: null, workflow_dispatch: null }], [["jobs", "drift", "strategy", "matrix", "stack"], ["staging"]]);
    expect(driftRules(bad)).toEqual([
      "on: expected one daily schedule (cron M H * * *)",
      "on: drift runs on schedule and on demand only",
      "job drift: expected a matrix over stack [staging, prod]",
    ]);
  });

  it("catches the deploy concurrency group and a role other than the drift role", () => {
    const settings = step("drift.yml", "drift", "Resolve the stack's backend and drift role");
    const bad = broken(
      "drift.yml",
      [["jobs", "drift", "concurrency", "group"], "pulumi-${{ matrix.stack }}"],
      [["jobs", "drift", "steps", settings, "run"], replaced("--role drift", "--role preview")],
    );
    expect(driftRules(bad)).toEqual([
      "job drift: must not share the deploy concurrency group (a waiting check would replace a waiting deploy)",
      "job drift: the AWS role must be the stack's drift role (--role drift)",
    ]);
  });

  it("catches a stack checked out from the default branch, and a run of another branch", () => {
    const checkout = step("drift.yml", "drift", "Check out the stack's branch");
    const bad = broken("drift.yml", [["jobs", "drift", "steps", checkout, "with", "ref"], "staging"], [["jobs", "drift", "if"], REMOVE]);
    expect(driftRules(bad)).toEqual([
      "job drift: must run only on the default branch (the drift role trusts nothing else)",
      "job drift: each stack must be checked out from its own branch (ref: ${{ matrix.stack }}, path: stack)",
    ]);
    const detect = step("drift.yml", "drift", "pulumi preview --refresh --expect-no-changes");
    expect(driftRules(broken("drift.yml", [["jobs", "drift", "steps", detect, "working-directory"], REMOVE]))).toEqual([
      "job drift: pulumi must run in the stack's checkout (working-directory: stack)",
    ]);
  });

  it("reads GitHub with the reader App only", () => {
    const app = step("drift.yml", "drift", "Mint a read-only GitHub App token");
    const bad = broken("drift.yml", [["jobs", "drift", "steps", app, "with", "private-key"], "${{ secrets.DEPLOY_APP_PRIVATE_KEY }}"]);
    expect(driftRules(bad)[0]).toMatch(/^job drift: expected an App token step with \{"client-id":"\$\{\{ vars.READER_APP_CLIENT_ID \}\}","private-key":"\$\{\{ secrets.READER_APP_PRIVATE_KEY \}\}"/);
    // The deploy App's key would also need a protected environment.
    expect(auditWorkflow(raw("drift.yml").replace("secrets.READER_APP_PRIVATE_KEY", "secrets.DEPLOY_APP_PRIVATE_KEY"))).toEqual([
      "job drift step 9 (Mint a read-only GitHub App token): secrets.DEPLOY_APP_PRIVATE_KEY is a secret of the protected environments: the job needs environment:",
    ]);
  });

  it("catches a drift check that is not --refresh --expect-no-changes", () => {
    const detect = step("drift.yml", "drift", "pulumi preview --refresh --expect-no-changes");
    const bad = broken("drift.yml", [["jobs", "drift", "steps", detect, "run"], replaced("--refresh --expect-no-changes ", "")]);
    expect(driftRules(bad)).toEqual(['job drift: no pulumi preview --refresh --expect-no-changes --stack "$STACK"']);
  });
});

// ---------------------------------------------------------------------------------------------
// The inline github-scripts, run against a fake GitHub API
// ---------------------------------------------------------------------------------------------

interface Call {
  readonly method: string;
  readonly params: Record<string, unknown>;
}

type Handler = (params: Record<string, unknown>) => unknown;

/** A fake octokit: every method records its call; a method without a handler throws. */
function fakeGitHub(handlers: Record<string, Handler>) {
  const calls: Call[] = [];
  const method = (name: string) => async (params: Record<string, unknown>) => {
    calls.push({ method: name, params });
    const handler = handlers[name];
    if (!handler) throw new Error(`unexpected call ${name}`);
    return { data: await handler(params) };
  };
  const group = (prefix: string, names: string[]) => Object.fromEntries(names.map((n) => [n, method(`${prefix}.${n}`)]));
  const graphql = async (query: string, variables: Record<string, unknown>) => {
    calls.push({ method: "graphql", params: { query, ...variables } });
    const handler = handlers.graphql;
    if (!handler) throw new Error("unexpected call graphql");
    return await handler({ query, ...variables });
  };
  const rest = {
    issues: group("issues", ["listComments", "createComment", "updateComment", "listForRepo", "create", "update", "getLabel", "createLabel"]),
    pulls: group("pulls", ["list", "create", "update"]),
    git: group("git", ["getRef", "deleteRef"]),
    repos: group("repos", ["compareCommits"]),
    actions: group("actions", ["createWorkflowDispatch"]),
  };
  const paginate = async (fn: (p: Record<string, unknown>) => Promise<{ data: unknown }>, params: Record<string, unknown>) => (await fn(params)).data;
  return { github: { rest, paginate, graphql }, calls };
}

function fakeCore() {
  const log: string[] = [];
  return {
    log,
    core: {
      info: (m: string) => log.push(`info: ${m}`),
      warning: (m: string) => log.push(`warning: ${m}`),
      setFailed: (m: string) => log.push(`failed: ${m}`),
    },
  };
}

function scriptOf(file: string, jobId: string): string {
  const step = workflow(file).jobs?.[jobId]?.steps?.find((s) => s.uses?.startsWith("actions/github-script@"));
  const script = step?.with?.script;
  if (typeof script !== "string") throw new Error(`${file} ${jobId}: no github-script`);
  return script;
}

type ScriptFunction = (...args: unknown[]) => Promise<unknown>;
const AsyncFunction = (async () => {}).constructor as unknown as new (...args: string[]) => ScriptFunction;

/** Runs a workflow's inline script the way actions/github-script does: as the body of an async function. */
async function runScript(file: string, jobId: string, args: { github: unknown; context: unknown; core: unknown; env: Record<string, string> }) {
  const fn = new AsyncFunction("github", "context", "core", "process", "require", scriptOf(file, jobId));
  await fn(args.github, args.context, args.core, { env: args.env }, require);
}

const repo = { owner: "acme-corp", repo: "gitops-platform" };
const runEnv = { GITHUB_SERVER_URL: "https://github.com" };
const bot = { login: "github-actions[bot]" };

describe("the preview comment script", () => {
  const body = `${PREVIEW_MARKER}\n### Preview of stack \`staging\`: ✅ passed\n`;
  const pullRequest = { repo, runId: 42, eventName: "pull_request", issue: { number: 7 } };

  it("uses the marker and size limit of tools/ci/delivery/", () => {
    const script = scriptOf("preview.yml", "comment");
    expect(script).toContain(`const marker = "${PREVIEW_MARKER}";`);
    expect(script).toContain(`const limit = ${BODY_LIMIT};`);
  });

  it("creates the comment when the pull request has none of its own", async () => {
    const { github, calls } = fakeGitHub({
      "issues.listComments": () => [{ id: 1, user: { login: "someone" }, body: `${PREVIEW_MARKER} pasted by a person` }],
      "issues.createComment": () => ({ html_url: "https://github.com/c/2" }),
    });
    const { core, log } = fakeCore();
    await runScript("preview.yml", "comment", { github, context: pullRequest, core, env: { ...runEnv, BODY: body } });
    expect(calls.map((c) => c.method)).toEqual(["issues.listComments", "issues.createComment"]);
    expect(calls[1]?.params).toEqual({ ...repo, issue_number: 7, body });
    expect(log).toEqual(["info: created https://github.com/c/2"]);
  });

  it("updates its previous comment instead of adding one", async () => {
    const { github, calls } = fakeGitHub({
      "issues.listComments": () => [
        { id: 5, user: bot, body: "an unrelated bot comment" },
        { id: 9, user: bot, body: `${PREVIEW_MARKER}\nold`, html_url: "https://github.com/c/9" },
      ],
      "issues.updateComment": () => ({}),
    });
    const { core } = fakeCore();
    await runScript("preview.yml", "comment", { github, context: pullRequest, core, env: { ...runEnv, BODY: body } });
    expect(calls.map((c) => c.method)).toEqual(["issues.listComments", "issues.updateComment"]);
    expect(calls[1]?.params).toEqual({ ...repo, comment_id: 9, body });
  });

  it("keeps a body over GitHub's limit under it, with a link to the run", async () => {
    const { github, calls } = fakeGitHub({ "issues.listComments": () => [], "issues.createComment": () => ({}) });
    const { core } = fakeCore();
    await runScript("preview.yml", "comment", { github, context: pullRequest, core, env: { ...runEnv, BODY: `${PREVIEW_MARKER}\n${"é".repeat(70_000)}` } });
    const posted = String(calls[1]?.params.body);
    expect(Buffer.byteLength(posted, "utf8")).toBeLessThanOrEqual(BODY_LIMIT);
    expect(posted.startsWith(PREVIEW_MARKER)).toBe(true);
    expect(posted).not.toContain("\uFFFD");
    expect(posted).toContain("see the [run log](https://github.com/acme-corp/gitops-platform/actions/runs/42)");
  });

  it("still reports when the preview job wrote no report", async () => {
    const { github, calls } = fakeGitHub({ "issues.listComments": () => [], "issues.createComment": () => ({}) });
    const { core } = fakeCore();
    await runScript("preview.yml", "comment", { github, context: pullRequest, core, env: { ...runEnv, BODY: "", PREVIEW_RESULT: "failure" } });
    expect(calls[1]?.params.body).toBe(
      `${PREVIEW_MARKER}\n### Preview: no report\n\nThe preview job ended (failure) before it wrote a report: see the [run log](https://github.com/acme-corp/gitops-platform/actions/runs/42).\n`,
    );
  });

  it("comments on the dispatched pull request, and refuses a missing number", async () => {
    const dispatched = { repo, runId: 43, eventName: "workflow_dispatch", issue: { number: undefined } };
    const ok = fakeGitHub({ "issues.listComments": () => [], "issues.createComment": () => ({}) });
    await runScript("preview.yml", "comment", { github: ok.github, context: dispatched, core: fakeCore().core, env: { ...runEnv, BODY: body, PR_NUMBER: "12" } });
    expect(ok.calls[1]?.params.issue_number).toBe(12);

    const missing = fakeGitHub({});
    const { core, log } = fakeCore();
    await runScript("preview.yml", "comment", { github: missing.github, context: dispatched, core, env: { ...runEnv, BODY: body, PR_NUMBER: "" } });
    expect(missing.calls).toEqual([]);
    expect(log).toEqual(['failed: no pull request to comment on (PR_NUMBER="")']);
  });
});

describe("the promotion script", () => {
  const context = { repo, runId: 50, eventName: "push" };
  const env = { BASE: "prod", HEAD: "staging", DEPLOYED_SHA: "0123456789abcdef0123456789abcdef01234567", DEPLOY_RUN_URL: "https://github.com/acme-corp/gitops-platform/actions/runs/49" };
  const comparison = {
    ahead_by: 2,
    commits: [
      { sha: "aaaaaaa1111111", commit: { message: "Raise the orders interval\n\nbody" } },
      { sha: "bbbbbbb2222222", commit: { message: "Add payments" } },
    ],
  };

  it("opens the pull request staging → prod", async () => {
    const { github, calls } = fakeGitHub({
      "repos.compareCommits": () => comparison,
      "pulls.list": () => [],
      "pulls.create": () => ({ number: 12, html_url: "https://github.com/p/12" }),
    });
    const { core, log } = fakeCore();
    await runScript("deploy.yml", "promote", { github, context, core, env });
    expect(calls.map((c) => c.method)).toEqual(["repos.compareCommits", "pulls.list", "pulls.create"]);
    expect(calls[0]?.params).toEqual({ ...repo, base: "prod", head: "staging" });
    expect(calls[1]?.params).toEqual({ ...repo, state: "open", base: "prod", head: "acme-corp:staging", per_page: 10 });
    const created = calls[2]?.params ?? {};
    expect(created.base).toBe("prod");
    expect(created.head).toBe("staging");
    expect(created.title).toBe("Promote staging to prod");
    expect(created.body).toContain("- `aaaaaaa` Raise the orders interval\n- `bbbbbbb` Add payments");
    expect(created.body).toContain("staging deployed `0123456789ab` successfully ([deploy run](https://github.com/acme-corp/gitops-platform/actions/runs/49)).");
    expect(log).toEqual(["info: opened https://github.com/p/12"]);
  });

  it("opens one pull request per downstream environment: the matrix's base, from the deployed branch", async () => {
    const { github, calls } = fakeGitHub({
      "repos.compareCommits": () => comparison,
      "pulls.list": () => [],
      "pulls.create": () => ({ number: 13, html_url: "https://github.com/p/13" }),
    });
    await runScript("deploy.yml", "promote", { github, context, core: fakeCore().core, env: { ...env, BASE: "prod-us" } });
    expect(calls[0]?.params).toEqual({ ...repo, base: "prod-us", head: "staging" });
    expect(calls[2]?.params.title).toBe("Promote staging to prod-us");
    expect(calls[2]?.params.body).toContain("Promotes what runs on **staging** to **prod-us**.");
  });

  it("refreshes the open pull request instead of opening another", async () => {
    const { github, calls } = fakeGitHub({
      "repos.compareCommits": () => comparison,
      "pulls.list": () => [{ number: 12, html_url: "https://github.com/p/12" }],
      "pulls.update": () => ({}),
    });
    await runScript("deploy.yml", "promote", { github, context, core: fakeCore().core, env });
    expect(calls.map((c) => c.method)).toEqual(["repos.compareCommits", "pulls.list", "pulls.update"]);
    expect(calls[2]?.params.pull_number).toBe(12);
  });

  it("does nothing when prod already has every staging commit", async () => {
    const { github, calls } = fakeGitHub({ "repos.compareCommits": () => ({ ahead_by: 0, commits: [] }), "pulls.list": () => [] });
    const { core, log } = fakeCore();
    await runScript("deploy.yml", "promote", { github, context, core, env });
    expect(calls.map((c) => c.method)).toEqual(["repos.compareCommits", "pulls.list"]);
    expect(log).toEqual(["info: prod already has every commit of staging: nothing to promote"]);
  });
});

// The script hands everything to syncDriftIssue of tools/ci/delivery/drift.mts (tested on its own in
// test/delivery/delivery.test.ts); these run the workflow's script with that module, as the job does.
describe("automation.yml", () => {
  it("proposes from the default branch only, with the deploy App narrowed to this repository", () => {
    expect(automationRules(workflow("automation.yml"))).toEqual([]);
  });

  it("catches a push trigger, another environment, repository code and a wider token", () => {
    const bad = broken(
      "automation.yml",
      [["on"], { push: { branches: ["image-updates/staging"] } }],
      [["jobs", "automation-pr", "environment"], "automation"],
      [["jobs", "automation-pr", "steps", 0, "with", "permission-administration"], "write"],
      [["jobs", "automation-pr", "steps"], (steps: unknown) => [...(steps as Step[]), { run: "npm ci" }]],
    );
    expect(automationRules(bad)).toEqual([
      "on: expected only schedule and workflow_dispatch (never a push of the automation branch)",
      "job automation-pr: environment must be staging (the deploy App's key)",
      "job automation-pr: must run no repository code",
      'job automation-pr: expected an App token step with {"client-id":"${{ vars.DEPLOY_APP_CLIENT_ID }}","private-key":"${{ secrets.DEPLOY_APP_PRIVATE_KEY }}","repositories":"${{ github.event.repository.name }}","permission-contents":"write","permission-pull-requests":"write"}',
    ]);
  });

  it("catches a scope that is not the program's, or a scope job with credentials", () => {
    const script = step("automation.yml", "automation-pr", "Open or refresh the automation pull request");
    const read = step("automation.yml", "scope", "Read the image automations of the stacks that run it");
    const bad = broken(
      "automation.yml",
      [["jobs", "scope", "environment"], "staging"],
      [["jobs", "scope", "steps", read, "run"], replaced('--stack "$stack" --json', "--stack staging --json")],
      [["jobs", "automation-pr", "steps", script, "env", "SCOPE"], '[{"base":"staging","head":"image-updates/staging","paths":["clusters/staging/"],"policies":[]}]'],
    );
    expect(automationRules(bad)).toEqual([
      "job scope: expected permissions exactly { contents: read }, no environment and no secrets",
      "job scope: expected its output scope from `node tools/ci/delivery/main.mts automation-scope` over the plan (--json) of each stack that runs image automation",
      "job automation-pr: expected needs: scope and the script's SCOPE from needs.scope.outputs.scope",
    ]);
    expect(automationRules(broken("automation.yml", [["jobs", "scope", "steps"], (steps: unknown) => [...(steps as Step[]), { run: "echo ${{ secrets.DEPLOY_APP_PRIVATE_KEY }}" }]]))).toEqual([
      "job scope: expected permissions exactly { contents: read }, no environment and no secrets",
    ]);
    expect(automationRules(broken("automation.yml", [["jobs", "scope"], REMOVE]))).toEqual(["jobs: expected a job scope"]);
  });
});

describe("the automation pull request script", () => {
  const context = { repo, runId: 70, eventName: "schedule" };
  // What the scope job computes from the staging stack (test/delivery/delivery.test.ts runs it on the real plan).
  const scope = [{ base: "staging", head: "image-updates/staging", paths: ["clusters/base/"], policies: ["flux-system:orders"] }];
  const env = { SCOPE: JSON.stringify(scope) };
  // The marked line exactly as the config repository holds it, with another tag.
  const ordersFile = "clusters/base/orders-image.yaml";
  const ordersLine = fs.readFileSync(path.join(root, ordersFile), "utf8").split("\n").find((l) => l.includes('"$imagepolicy"')) ?? "";
  const marked = (tag: string) => ordersLine.replace('"1.0.0"', `"${tag}"`);
  const bump = {
    filename: ordersFile,
    status: "modified",
    patch: `@@ -12,3 +12,3 @@ metadata:\n     gitops-platform/app: orders\n data:\n-${marked("1.4.0")}\n+${marked("1.5.0")}\n\\ No newline at end of file`,
  };
  const comparison = (files: unknown[]) => ({ ahead_by: 1, files, commits: [{ sha: "ccccccc3333333", commit: { message: "orders: 1.5.0" } }] });

  it("opens the pull request and turns on auto-merge when only the marked tags of the automation's policies change", async () => {
    expect(ordersLine).toBe('  IMAGE_TAG: "1.0.0" # {"$imagepolicy": "flux-system:orders:tag"}');
    const { github, calls } = fakeGitHub({
      "repos.compareCommits": () => comparison([bump]),
      "pulls.list": () => [],
      "pulls.create": () => ({ number: 20, node_id: "PR_20", html_url: "https://github.com/p/20", auto_merge: null }),
      graphql: () => ({}),
    });
    const { core, log } = fakeCore();
    await runScript("automation.yml", "automation-pr", { github, context, core, env });
    expect(calls.map((c) => c.method)).toEqual(["repos.compareCommits", "pulls.list", "pulls.create", "graphql"]);
    expect(calls[0]?.params).toEqual({ ...repo, base: "staging", head: "image-updates/staging" });
    expect(calls[2]?.params).toMatchObject({ base: "staging", head: "image-updates/staging", title: "Image updates for staging" });
    expect(calls[3]?.params).toEqual({
      query: "mutation($id: ID!) { enablePullRequestAutoMerge(input: { pullRequestId: $id, mergeMethod: MERGE }) { clientMutationId } }",
      id: "PR_20",
    });
    expect(log).toEqual(["info: opened https://github.com/p/20", "info: #20 merges itself once the required checks pass"]);
  });

  it("leaves anything but a tag bump to a person, and turns auto-merge off again", async () => {
    const edit = (filename: string, patch: string, status = "modified") => ({ filename, status, patch });
    const files = [
      edit(ordersFile, `@@ -14 +14 @@\n-${marked("1.4.0")}\n+${marked("1.5.0").replace("IMAGE_TAG", "OTHER_TAG")}`),
      edit("clusters/base/payments-image.yaml", '@@ -14 +14 @@\n-  IMAGE_TAG: "1.0.0"\n+  IMAGE_TAG: "6.6.6"'),
      edit("clusters/base/extra.yaml", `@@ -1 +1 @@\n-${marked("1.4.0").replace("flux-system:orders:tag", "flux-system:payments:tag")}\n+${marked("6.6.6").replace("flux-system:orders:tag", "flux-system:payments:tag")}`),
      edit("clusters/base/image.yaml", '@@ -1 +1 @@\n-  image: r.example/orders:1.4.0 # {"$imagepolicy": "flux-system:orders"}\n+  image: evil.example/orders:1.5.0 # {"$imagepolicy": "flux-system:orders"}'),
      edit("clusters/base/kustomization.yaml", "@@ -1 +1,2 @@\n resources: [a]\n+- rbac.yaml"),
      edit("clusters/base/mode.yaml", ""),
      edit("clusters/base/moved.yaml", `@@ -3,1 +3,0 @@\n-${marked("1.4.0")}\n@@ -20,0 +19,1 @@\n+${marked("1.5.0")}`),
      edit("clusters/staging/apps/orders.yaml", `@@ -3 +3 @@\n-${marked("1.4.0")}\n+${marked("1.5.0")}`),
      edit(".github/workflows/deploy.yml", "@@ -1 +1 @@\n-a\n+b"),
      edit("clusters/base/new.yaml", "@@ +1 @@\n+kind: ClusterRoleBinding", "added"),
    ];
    const { github, calls } = fakeGitHub({
      "repos.compareCommits": () => comparison(files),
      "pulls.list": () => [{ number: 21, node_id: "PR_21", html_url: "https://github.com/p/21", auto_merge: { enabled_by: {} } }],
      "pulls.update": () => ({}),
      graphql: () => ({}),
    });
    const { core, log } = fakeCore();
    await runScript("automation.yml", "automation-pr", { github, context, core, env });
    expect(calls.map((c) => c.method)).toEqual(["repos.compareCommits", "pulls.list", "pulls.update", "graphql"]);
    expect(String(calls[3]?.params.query)).toContain("disablePullRequestAutoMerge");
    const problems = [
      "`clusters/base/orders-image.yaml` changes more than the tags of image policy markers",
      "`clusters/base/payments-image.yaml` changes more than the tags of image policy markers",
      "`clusters/base/extra.yaml` changes tags marked for `flux-system:payments:tag`, not the tag setter of an image policy of this automation (flux-system:orders:tag)",
      "`clusters/base/image.yaml` changes more than the tags of image policy markers",
      "`clusters/base/kustomization.yaml` changes more than the tags of image policy markers",
      "`clusters/base/mode.yaml` changes more than the tags of image policy markers",
      "`clusters/base/moved.yaml` changes more than the tags of image policy markers",
      "`clusters/staging/apps/orders.yaml` is outside clusters/base/",
      "`.github/workflows/deploy.yml` is outside clusters/base/",
      "`clusters/base/new.yaml` is added",
    ];
    expect(calls[2]?.params.body).toContain(["**Not merged automatically**: a person must review it, because:", "", ...problems.map((p) => `- ${p}`)].join("\n"));
    expect(log).toEqual(["info: refreshed https://github.com/p/21", `warning: #21 needs a review: ${problems.join("; ")}`]);
  });

  it("proposes each push branch of the scope into its own base", async () => {
    const two = [...scope, { base: "qa", head: "image-updates/qa", paths: ["clusters/qa-tags/"], policies: ["flux-system:web"] }];
    const { github, calls } = fakeGitHub({
      "repos.compareCommits": (p) => (p.head === "image-updates/qa" ? comparison([{ ...bump, filename: "clusters/qa-tags/web.yaml", patch: bump.patch.replaceAll("flux-system:orders:tag", "flux-system:web:tag") }]) : comparison([bump])),
      "pulls.list": () => [],
      "pulls.create": (p) => ({ number: p.base === "qa" ? 31 : 30, node_id: `PR_${String(p.base)}`, html_url: `https://github.com/p/${String(p.base)}`, auto_merge: null }),
      graphql: () => ({}),
    });
    const { core, log } = fakeCore();
    await runScript("automation.yml", "automation-pr", { github, context, core, env: { SCOPE: JSON.stringify(two) } });
    expect(calls.filter((c) => c.method === "pulls.create").map((c) => [c.params.base, c.params.head, c.params.title])).toEqual([
      ["staging", "image-updates/staging", "Image updates for staging"],
      ["qa", "image-updates/qa", "Image updates for qa"],
    ]);
    expect(log).toEqual([
      "info: opened https://github.com/p/staging",
      "info: #30 merges itself once the required checks pass",
      "info: opened https://github.com/p/qa",
      "info: #31 merges itself once the required checks pass",
    ]);
  });

  it("does nothing without the branch, and fails or stops on a missing or empty scope", async () => {
    const missing = fakeGitHub({
      "repos.compareCommits": () => {
        throw Object.assign(new Error("Not Found"), { status: 404 });
      },
    });
    const { core, log } = fakeCore();
    await runScript("automation.yml", "automation-pr", { github: missing.github, context, core, env });
    expect(log).toEqual(["info: no branch image-updates/staging: nothing to propose"]);

    const none = fakeGitHub({});
    const failed = fakeCore();
    await runScript("automation.yml", "automation-pr", { github: none.github, context, core: failed.core, env: {} });
    await runScript("automation.yml", "automation-pr", { github: none.github, context, core: failed.core, env: { SCOPE: "[]" } });
    expect(failed.log).toEqual(['failed: SCOPE: expected the list the scope job wrote, got ""', "info: the staging stack runs no image automation: nothing to propose"]);
    expect(none.calls).toEqual([]);
  });

  it("deletes the push branch once its pull request merged, and only that one", async () => {
    const tip = "a".repeat(40);
    const merged = (sha: string) =>
      fakeGitHub({
        "repos.compareCommits": () => ({ ahead_by: 0, files: [], commits: [] }),
        "git.getRef": () => ({ ref: "refs/heads/image-updates/staging", object: { sha: tip } }),
        "pulls.list": () => [
          { number: 19, merged_at: null, head: { sha: tip } },
          { number: 20, merged_at: "2026-12-01T10:00:00Z", head: { sha } },
        ],
        "git.deleteRef": () => ({}),
      });
    const done = merged(tip);
    const { core, log } = fakeCore();
    await runScript("automation.yml", "automation-pr", { github: done.github, context, core, env });
    expect(done.calls.map((c) => c.method)).toEqual(["repos.compareCommits", "git.getRef", "pulls.list", "git.deleteRef"]);
    expect(done.calls[1]?.params).toEqual({ ...repo, ref: "heads/image-updates/staging" });
    expect(done.calls[2]?.params).toEqual({ ...repo, state: "closed", base: "staging", head: "acme-corp:image-updates/staging", per_page: 10 });
    expect(done.calls[3]?.params).toEqual({ ...repo, ref: "heads/image-updates/staging" });
    expect(log).toEqual(["info: deleted image-updates/staging: #20 merged it into staging"]);

    // The tip is not what was merged (e.g. merged by another route): the branch stays.
    const other = merged("b".repeat(40));
    const kept = fakeCore();
    await runScript("automation.yml", "automation-pr", { github: other.github, context, core: kept.core, env });
    expect(other.calls.map((c) => c.method)).toEqual(["repos.compareCommits", "git.getRef", "pulls.list"]);
    expect(kept.log).toEqual(["info: staging already has every commit of image-updates/staging: nothing to propose"]);
  });
});

describe("the drift issue script", () => {
  const tools = path.join(root, "tools", "ci", "delivery", "drift.mts");
  const context = { repo, runId: 60, eventName: "schedule" };
  const reportDir = fs.mkdtempSync(path.join(os.tmpdir(), "drift-"));
  const reportFile = path.join(reportDir, "drift.md");
  fs.writeFileSync(reportFile, `${DRIFT_MARKER}\nthe diff`);
  const issue = { number: 3, title: "Drift detected: prod", user: bot, html_url: "https://github.com/i/3" };

  it("opens one issue per stack, labelled drift, creating the label once", async () => {
    const { github, calls } = fakeGitHub({
      "issues.listForRepo": () => [{ ...issue, title: "Drift detected: staging" }, { ...issue, number: 4, pull_request: {} }],
      "issues.getLabel": () => {
        throw Object.assign(new Error("Not Found"), { status: 404 });
      },
      "issues.createLabel": () => ({}),
      "issues.create": () => ({ html_url: "https://github.com/i/5" }),
    });
    const { core, log } = fakeCore();
    await runScript("drift.yml", "drift", { github, context, core, env: { ...runEnv, DELIVERY_TOOLS: tools, STACK: "prod", OUTCOME: "drift", REPORT_FILE: reportFile } });
    expect(calls.map((c) => c.method)).toEqual(["issues.listForRepo", "issues.getLabel", "issues.createLabel", "issues.create"]);
    expect(calls[0]?.params).toEqual({ ...repo, state: "open", labels: "drift", per_page: 100 });
    expect(calls[3]?.params).toEqual({ ...repo, title: "Drift detected: prod", body: `${DRIFT_MARKER}\nthe diff`, labels: ["drift"] });
    expect(log).toEqual(["warning: stack prod has drifted: opened https://github.com/i/5"]);
  });

  it("updates the open issue while the drift lasts", async () => {
    const { github, calls } = fakeGitHub({ "issues.listForRepo": () => [issue], "issues.update": () => ({}) });
    await runScript("drift.yml", "drift", { github, context, core: fakeCore().core, env: { ...runEnv, DELIVERY_TOOLS: tools, STACK: "prod", OUTCOME: "drift", REPORT_FILE: reportFile } });
    expect(calls.map((c) => c.method)).toEqual(["issues.listForRepo", "issues.update"]);
    expect(calls[1]?.params).toEqual({ ...repo, issue_number: 3, body: `${DRIFT_MARKER}\nthe diff` });
  });

  it("closes the issue once the stack is clean, and leaves a person's issue alone", async () => {
    const { github, calls } = fakeGitHub({
      "issues.listForRepo": () => [issue],
      "issues.createComment": () => ({}),
      "issues.update": () => ({}),
    });
    await runScript("drift.yml", "drift", { github, context, core: fakeCore().core, env: { ...runEnv, DELIVERY_TOOLS: tools, STACK: "prod", OUTCOME: "clean", REPORT_FILE: reportFile } });
    expect(calls.map((c) => c.method)).toEqual(["issues.listForRepo", "issues.createComment", "issues.update"]);
    expect(calls[1]?.params.body).toBe("No drift on `prod` any more ([run log](https://github.com/acme-corp/gitops-platform/actions/runs/60)): closing.");
    expect(calls[2]?.params).toEqual({ ...repo, issue_number: 3, state: "closed", state_reason: "completed" });

    const person = fakeGitHub({ "issues.listForRepo": () => [{ ...issue, user: { login: "someone" } }] });
    await runScript("drift.yml", "drift", { github: person.github, context, core: fakeCore().core, env: { ...runEnv, DELIVERY_TOOLS: tools, STACK: "prod", OUTCOME: "clean" } });
    expect(person.calls.map((c) => c.method)).toEqual(["issues.listForRepo"]);
  });

  it("fails on an outcome it does not know", async () => {
    const { github } = fakeGitHub({ "issues.listForRepo": () => [] });
    const { core, log } = fakeCore();
    await runScript("drift.yml", "drift", { github, context, core, env: { ...runEnv, DELIVERY_TOOLS: tools, STACK: "prod", OUTCOME: "" } });
    expect(log).toEqual(['failed: unexpected drift outcome ""']);
  });
});
