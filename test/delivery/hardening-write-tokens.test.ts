/**
 * The hardening rules for jobs that hold a write-capable token (tools/build/workflow-hardening.mts):
 * such a job runs no shell, and in a workflow that pull requests trigger it checks out only the pull
 * request's base commit, the code its github-script loads. Each rule shown to catch a bent fixture.
 */
import { describe, expect, it } from "vitest";
import { auditWorkflow } from "../../tools/build/workflow-hardening.mts";

/** A job that holds a write token and loads its github-script from a checkout of trusted code. */
const WRITE_JOB = `
name: fixture
on:
  pull_request:
  workflow_dispatch:
permissions:
  contents: read
jobs:
  comment:
    runs-on: ubuntu-24.04
    timeout-minutes: 5
    permissions:
      contents: read
      pull-requests: write
    steps:
      - name: Check out the script
        uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0
        with:
          persist-credentials: false
          ref: \${{ github.event.pull_request.base.sha || github.sha }}
          sparse-checkout: tools/ci/delivery
          path: tooling
      - uses: actions/github-script@ed597411d8f924073f98dfc5c65a23a2325f34cd # v8.0.0
        env:
          DELIVERY_TOOLS: \${{ github.workspace }}/tooling/tools/ci/delivery/preview.mts
        with:
          script: await require(process.env.DELIVERY_TOOLS).runStep({ github, context, core }, process.env);
`;

describe("jobs holding a write-capable token", () => {

  const writeJob = (replace: string, by: string) => {
    expect(WRITE_JOB).toContain(replace);
    return WRITE_JOB.replace(replace, by);
  };
  const BASE_REF = "          ref: ${{ github.event.pull_request.base.sha || github.sha }}\n";

  it("a job holding a write token checks out the pull request's base only, without credentials, and runs no shell", () => {
    expect(auditWorkflow(WRITE_JOB)).toEqual([]);
    expect(auditWorkflow(writeJob(BASE_REF, "          ref: ${{ github.event.pull_request.base.sha }}\n"))).toEqual([]);
    expect(auditWorkflow(writeJob("          persist-credentials: false\n", ""))).toEqual([
      "job comment step 1 (Check out the script): actions/checkout without persist-credentials: false",
    ]);
    expect(auditWorkflow(writeJob("      - uses: actions/github-script", "      - run: cat tooling/README.md\n      - uses: actions/github-script"))).toEqual([
      "job comment: pull-requests: write in a job with run: steps",
    ]);
  });

  it("a job holding a write token that checks out the pull request's code, in a workflow that pull requests trigger", () => {
    const rule = "in a job holding pull-requests: write, in a workflow that pull requests trigger: only ref: ${{ github.event.pull_request.base.sha }} (the base, never the pull request's code)";
    expect(auditWorkflow(writeJob(BASE_REF, ""))).toEqual([`job comment step 1 (Check out the script): checks out the default ref (the pull request's merge commit) ${rule}`]);
    for (const ref of ["${{ github.event.pull_request.head.sha }}", "${{ github.sha }}", "${{ github.ref }}", "${{ github.head_ref }}", "${{ github.sha || github.event.pull_request.base.sha }}", "refs/pull/1/merge", "staging"]) {
      expect(auditWorkflow(writeJob(BASE_REF, `          ref: ${ref}\n`))).toEqual([`job comment step 1 (Check out the script): checks out ref: ${ref} ${rule}`]);
    }
    // A ref from an env variable, an input or a differently spelled checkout action is no way round it.
    for (const ref of ["${{ env.REF }}", "${{ inputs.ref }}", "${{ github.event.workflow_run.head_sha }}", "refs/pull/${{ github.event.issue.number }}/head"]) {
      expect(auditWorkflow(writeJob(BASE_REF, `          ref: ${ref}\n`))).toEqual([`job comment step 1 (Check out the script): checks out ref: ${ref} ${rule}`]);
    }
    expect(auditWorkflow(writeJob(BASE_REF, "").replace("uses: actions/checkout@", "uses: Actions/Checkout@").replace("          persist-credentials: false\n", ""))).toEqual([
      "job comment step 1 (Check out the script): actions/checkout without persist-credentials: false",
      `job comment step 1 (Check out the script): checks out the default ref (the pull request's merge commit) ${rule}`,
    ]);
    // workflow_run and issue_comment run beside pull requests: the same rule.
    for (const trigger of ["  workflow_run:\n    workflows: [preview]\n", "  issue_comment:\n"]) {
      expect(auditWorkflow(writeJob("  pull_request:\n  workflow_dispatch:\n", trigger).replace(BASE_REF, "          ref: refs/pull/1/head\n"))).toEqual([
        `job comment step 1 (Check out the script): checks out ref: refs/pull/1/head ${rule}`,
      ]);
    }
    // The same checkout in a job with a read-only token, or of a workflow pull requests do not trigger, is no finding.
    expect(auditWorkflow(writeJob(BASE_REF, "").replace("      pull-requests: write\n", ""))).toEqual([]);
    expect(auditWorkflow(writeJob(BASE_REF, "").replace("  pull_request:\n", ""))).toEqual([]);
    // Every write-capable token counts, not only pull-requests (issues: write has its own rule in such a workflow).
    expect(auditWorkflow(writeJob(BASE_REF, "").replace("      pull-requests: write\n", "      issues: write\n"))).toEqual([
      "job comment: issues: write in a workflow that pull requests trigger",
      `job comment step 1 (Check out the script): checks out the default ref (the pull request's merge commit) ${rule.replace("pull-requests: write", "issues: write")}`,
    ]);
  });

  it("a job holding a write token uses no action but the checkout of the base and github-script, in a workflow that pull requests trigger", () => {
    const rule = "in a job holding pull-requests: write, in a workflow that pull requests trigger: only actions/checkout of the base and actions/github-script";
    for (const action of ["actions/download-artifact@634f93cb2916e3fdff6788551b99b062d0335ce0 # v5.0.0", "actions/cache@0400d5f644dc74513175e3cd8d07132dd4860809 # v4.2.4", "./.github/actions/comment"]) {
      const bent = writeJob("      - uses: actions/github-script", `      - name: Bring the tools\n        uses: ${action}\n      - uses: actions/github-script`);
      expect(auditWorkflow(bent)).toEqual([`job comment step 2 (Bring the tools): uses ${action.split("@")[0] ?? ""} ${rule}`]);
    }
  });

  const appToken = (key: string) =>
    `      - id: app\n        uses: actions/create-github-app-token@1b10c78c7865c340bc4f6099eb2f838309f1e8c3 # v3.1.1\n        with:\n          client-id: x\n          private-key: \${{ secrets.${key} }}\n`;

  it("an App token as a github-script's token in a job with run: steps; a checkout of the script is none", () => {
    // The promotion job's shape: no shell, a checkout of the script the github-script loads.
    const scriptJob = writeJob("  pull_request:\n  workflow_dispatch:\n", "  push:\n")
      .replace("    permissions:\n      contents: read\n      pull-requests: write\n", "    environment: staging\n    permissions:\n      contents: read\n")
      .replace("    steps:\n", `    steps:\n${appToken("DEPLOY_APP_PRIVATE_KEY")}`)
      .replace("        with:\n          script:", "        with:\n          github-token: ${{ steps.app.outputs.token }}\n          script:");
    expect(scriptJob).toContain("github-token: ${{ steps.app.outputs.token }}");
    expect(auditWorkflow(scriptJob)).toEqual([]);
    expect(auditWorkflow(scriptJob.replace("      - uses: actions/github-script", "      - run: cat tooling/README.md\n      - uses: actions/github-script"))).toEqual([
      "job comment step 4: the App token may only be the GITHUB_TOKEN of a step that runs pulumi, or the github-token of a github-script in a job without run: steps",
    ]);
  });
});

describe("the module a github-script loads", () => {
  /** A job whose github-script loads a delivery module from the base's checkout. */
  const JOB = WRITE_JOB.replace("  workflow_dispatch:\n", "")
    .replace("base.sha || github.sha", "base.sha")
    .replace("      - uses: actions/github-script", "      - name: Comment\n        uses: actions/github-script");
  const MODULE = "          DELIVERY_TOOLS: ${{ github.workspace }}/tooling/tools/ci/delivery/preview.mts\n";
  const bent = (replace: string, by: string) => {
    expect(JOB).toContain(replace);
    return JOB.replace(replace, by);
  };
  const expected = "expected ${{ github.workspace }}/<path>/tools/ci/delivery/<module>.mts, <path> the path: of an actions/checkout of this repository earlier in the job";

  it("is a delivery module of a checkout the job made before the step", () => {
    expect(auditWorkflow(JOB)).toEqual([]);
    expect(auditWorkflow(bent(MODULE, "          DELIVERY_TOOLS: ${{ github.workspace }}/tooling/tools/ci/delivery/promote.mts\n"))).toEqual([]);
  });

  it("refuses a module outside the checkout's delivery modules, or named by an expression", () => {
    for (const value of [
      "${{ github.workspace }}/node_modules/x.js",
      "${{ github.workspace }}/tooling/node_modules/x.mts",
      "${{ github.workspace }}/tooling/tools/ci/delivery/../../../node_modules/x.mts",
      "${{ github.workspace }}/../tooling/tools/ci/delivery/preview.mts",
      "${{ env.X }}",
      "${{ github.event.pull_request.head.ref }}",
      "${{ github.workspace }}/${{ github.head_ref }}/tools/ci/delivery/preview.mts",
      "/tmp/tooling/tools/ci/delivery/preview.mts",
      "tooling/tools/ci/delivery/preview.mts",
    ]) {
      expect(auditWorkflow(bent(MODULE, `          DELIVERY_TOOLS: ${value}\n`))).toEqual([`job comment step 2 (Comment): DELIVERY_TOOLS is ${value}; ${expected}`]);
    }
  });

  it("refuses a module from a directory no earlier checkout of this repository wrote", () => {
    expect(auditWorkflow(bent(MODULE, "          DELIVERY_TOOLS: ${{ github.workspace }}/cache/tools/ci/delivery/preview.mts\n"))).toEqual([
      `job comment step 2 (Comment): DELIVERY_TOOLS is \${{ github.workspace }}/cache/tools/ci/delivery/preview.mts; ${expected}`,
    ]);
    expect(auditWorkflow(bent("          path: tooling\n", ""))).toEqual([`job comment step 2 (Comment): DELIVERY_TOOLS is \${{ github.workspace }}/tooling/tools/ci/delivery/preview.mts; ${expected}`]);
    expect(auditWorkflow(bent("          path: tooling\n", "          path: tooling\n          repository: someone/else\n"))).toEqual([
      `job comment step 2 (Comment): DELIVERY_TOOLS is \${{ github.workspace }}/tooling/tools/ci/delivery/preview.mts; ${expected}`,
    ]);
  });

  it("is set in the github-script step's own env: and nowhere else", () => {
    expect(auditWorkflow(bent(MODULE, ""))).toEqual([
      `job comment step 2 (Comment): DELIVERY_TOOLS is not set in the step's env:; ${expected}`,
    ]);
    const jobEnv = bent(MODULE, "").replace("    steps:\n", "    env:\n      DELIVERY_TOOLS: ${{ github.workspace }}/tooling/tools/ci/delivery/preview.mts\n    steps:\n");
    expect(auditWorkflow(jobEnv)).toEqual([
      "job comment: env: sets DELIVERY_TOOLS for every step; only a github-script step's own env: names the module it runs",
      `job comment step 2 (Comment): DELIVERY_TOOLS is not set in the step's env:; ${expected}`,
    ]);
    expect(auditWorkflow(bent("permissions:\n  contents: read\njobs:\n", `permissions:\n  contents: read\nenv:\n  DELIVERY_TOOLS: x\njobs:\n`))).toEqual([
      "env: sets DELIVERY_TOOLS for every job; only a github-script step's own env: names the module it runs",
    ]);
    expect(auditWorkflow(bent("      - name: Comment\n", '      - env:\n          DELIVERY_TOOLS: x\n        run: echo "DELIVERY_TOOLS=$DELIVERY_TOOLS" >> "$GITHUB_ENV"\n      - name: Comment\n'))).toEqual([
      "job comment: pull-requests: write in a job with run: steps",
      "job comment step 2: run: names DELIVERY_TOOLS; only a github-script step's own env: names the module it runs",
      "job comment step 2: env: sets DELIVERY_TOOLS outside a github-script step; only a github-script step's own env: names the module it runs",
    ]);
  });
  it("gets only its script and its token: base-url would send the token to another host", () => {
    const SCRIPT = "          script: await require";
    expect(auditWorkflow(bent(SCRIPT, "          github-token: ${{ github.token }}\n          script: await require"))).toEqual([]);
    expect(auditWorkflow(bent(SCRIPT, "          base-url: https://api.example.test\n          result-encoding: string\n          script: await require"))).toEqual([
      "job comment step 2 (Comment): a github-script with base-url, result-encoding; only script and github-token",
    ]);
  });

  it("starts without NODE_OPTIONS, which would load a file into its Node process", () => {
    const rule = "it would load code into every Node process it reaches, a github-script's included";
    expect(auditWorkflow(bent(MODULE, `${MODULE}          NODE_OPTIONS: --require ./preload.js\n`))).toEqual([`job comment step 2 (Comment): env: sets NODE_OPTIONS; ${rule}`]);
    expect(auditWorkflow(bent("    steps:\n", "    env:\n      NODE_OPTIONS: --import ./preload.mjs\n    steps:\n"))).toEqual([`job comment: env: sets NODE_OPTIONS; ${rule}`]);
    expect(auditWorkflow(bent("jobs:\n", "env:\n  NODE_OPTIONS: --require ./preload.js\njobs:\n"))).toEqual([`env: sets NODE_OPTIONS; ${rule}`]);
  });
});
