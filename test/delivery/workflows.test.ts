/**
 * The delivery workflows (.github/workflows) as a set: the files there are, the actions they pin,
 * and the hardening rules of tools/build/workflow-hardening.mts, each shown to catch a bad fixture
 * (those for jobs holding a write token: hardening-write-tokens.test.ts). What each workflow does on
 * each event is tested in workflows-<name>.test.ts beside this file (test/support/behaviour/), its
 * github-scripts' glue in scripts-<job>.test.ts.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { auditWorkflow, usesLines, type Step } from "../../tools/build/workflow-hardening.mts";
import { raw, root, workflow, workflowDir } from "../support/workflows";
import { EXACT_VERSION } from "../../policies/vocabulary";

const WORKFLOW_FILES = ["automation.yml", "deploy.yml", "drift.yml", "preview.yml"];
const linter = path.join(root, "tools", "build", "lint-workflows.mts");

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
    expect(sdk).toMatch(EXACT_VERSION);
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

  it("pull-requests or actions write in a job with run: steps", () => {
    expect(auditWorkflow(fixture("      id-token: write\n", "      id-token: write\n      pull-requests: write\n      actions: write\n"))).toEqual([
      "job up: pull-requests: write in a job with run: steps",
      "job up: actions: write in a job with run: steps",
    ]);
  });

  it("issues: write in a workflow that pull requests trigger", () => {
    const bad = fixture("      id-token: write\n", "      id-token: write\n      issues: write\n").replace(
      "on:\n  push:",
      "on:\n  pull_request:\n  push:",
    );
    expect(auditWorkflow(bad)).toEqual([
      "job up: issues: write in a workflow that pull requests trigger",
      "job up step 1: checks out the default ref (the pull request's merge commit) in a job holding issues: write, in a workflow that pull requests trigger: only ref: ${{ github.event.pull_request.base.sha }} (the base, never the pull request's code)",
      "job up step 2: uses actions/setup-node in a job holding issues: write, in a workflow that pull requests trigger: only actions/checkout of the base and actions/github-script",
      "job up step 4: uses aws-actions/configure-aws-credentials in a job holding issues: write, in a workflow that pull requests trigger: only actions/checkout of the base and actions/github-script",
    ]);
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
    expect(auditWorkflow(script)).toEqual([
      "job up step 4: a github-script runs exactly `await require(process.env.DELIVERY_TOOLS).runStep({ github, context, core }, process.env);` (its logic belongs in a module of tools/ci/delivery/)",
      "job up step 4: untrusted ${{ github.event.issue.title }} inside script: (pass it through env:)",
      "job up step 4: DELIVERY_TOOLS is not set in the step's env:; expected ${{ github.workspace }}/<path>/tools/ci/delivery/<module>.mts, <path> the path: of an actions/checkout of this repository earlier in the job",
    ]);
  });

  it("a github-script with logic of its own instead of a delivery module's step", () => {
    const glue = "await require(process.env.DELIVERY_TOOLS).runStep({ github, context, core }, process.env);";
    const tooling = "      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0\n        with:\n          persist-credentials: false\n          path: tooling\n";
    const module = "        env:\n          DELIVERY_TOOLS: ${{ github.workspace }}/tooling/tools/ci/delivery/drift.mts\n";
    const step = (script: string) => fixture("      - run: npm ci\n", `      - run: npm ci\n${tooling}      - uses: actions/github-script@ed597411d8f924073f98dfc5c65a23a2325f34cd # v8.0.0\n${module}        with:\n          script: |\n            ${script}\n`);
    expect(auditWorkflow(step(glue))).toEqual([]);
    expect(auditWorkflow(step("const { syncDriftIssue } = require(process.env.DELIVERY_TOOLS);\n            await syncDriftIssue({ github, core });"))).toEqual([
      `job up step 5: a github-script runs exactly \`${glue}\` (its logic belongs in a module of tools/ci/delivery/)`,
    ]);
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
      "job up step 1: checks out the default ref (the pull request's merge commit) in a job holding an App token, in a workflow that pull requests trigger: only ref: ${{ github.event.pull_request.base.sha }} (the base, never the pull request's code)",
      "job up step 2: uses actions/setup-node in a job holding an App token, in a workflow that pull requests trigger: only actions/checkout of the base and actions/github-script",
      "job up step 5: uses aws-actions/configure-aws-credentials in a job holding an App token, in a workflow that pull requests trigger: only actions/checkout of the base and actions/github-script",
    ]);
  });

  it("an App token handed to anything but pulumi's GITHUB_TOKEN", () => {
    const base = fixture("      - run: npm ci\n", `      - run: npm ci\n${appToken("READER_APP_PRIVATE_KEY")}`);
    const leaked = base.replace("      - env:\n          POLICY_CONFIG:", "      - env:\n          TOKEN: ${{ steps.app.outputs.token }}\n          POLICY_CONFIG:");
    expect(auditWorkflow(leaked)).toEqual([
      "job up step 6: the App token may only be the GITHUB_TOKEN of a step that runs pulumi, or the github-token of a github-script in a job without run: steps",
    ]);
    const toScript = base.replace("      - run: npm ci\n", "      - run: npm ci\n      - env:\n          GITHUB_TOKEN: ${{ steps.app.outputs.token }}\n        run: ./publish.sh\n");
    expect(auditWorkflow(toScript)).toEqual([
      "job up step 4: the App token may only be the GITHUB_TOKEN of a step that runs pulumi, or the github-token of a github-script in a job without run: steps",
    ]);
    const ok = base.replace("      - env:\n          POLICY_CONFIG:", "      - env:\n          GITHUB_TOKEN: ${{ steps.app.outputs.token }}\n          POLICY_CONFIG:");
    expect(ok).not.toBe(base);
    expect(auditWorkflow(ok)).toEqual([]);
  });
});
