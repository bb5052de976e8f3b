/**
 * The workflow simulator the per-workflow tests stand on (test/support/workflow-sim.ts): each part of
 * GitHub's behaviour it models, on small workflows written here.
 */
import { describe, expect, it } from "vitest";
import { parseWorkflow } from "../../tools/build/workflow-hardening.mts";
import { commands, job, jobs, option, simulate, stepRunning, unknown, type JobRun } from "../support/workflow-sim";

const wf = (yaml: string) => parseWorkflow(yaml);

describe("triggers", () => {
  const pushes = wf(`
on:
  push:
    branches: [staging, "release/*", "!release/old"]
jobs:
  a: { runs-on: x, steps: [{ run: "true" }] }
`);

  it("runs for the listed branches and globs, minus the negated ones", () => {
    expect(simulate(pushes, { name: "push", branch: "staging" }).triggered).toBe(true);
    expect(simulate(pushes, { name: "push", branch: "release/1" }).triggered).toBe(true);
    expect(simulate(pushes, { name: "push", branch: "release/old" }).triggered).toBe(false);
    expect(simulate(pushes, { name: "push", branch: "release/1/x" }).triggered).toBe(false);
    expect(simulate(pushes, { name: "push", branch: "main" })).toEqual({ triggered: false, jobs: [], skipped: ["a"], errors: [] });
    // A branch filter alone never matches tags, and another event never matches.
    expect(simulate(pushes, { name: "push", tag: "v1.0.0" }).triggered).toBe(false);
    expect(simulate(pushes, { name: "pull_request", base: "staging" }).triggered).toBe(false);
  });

  it("matches tags and pull request base branches", () => {
    const tags = wf(`
on:
  push: { tags: ["v*.*.*"] }
  pull_request: { branches: [prod] }
jobs:
  a: { runs-on: x, steps: [{ run: "true" }] }
`);
    expect(simulate(tags, { name: "push", tag: "v1.2.3" }).triggered).toBe(true);
    expect(simulate(tags, { name: "push", tag: "latest" }).triggered).toBe(false);
    expect(simulate(tags, { name: "push", branch: "main" }).triggered).toBe(false);
    expect(simulate(tags, { name: "pull_request", base: "prod" }).triggered).toBe(true);
    expect(simulate(tags, { name: "pull_request", base: "staging" }).triggered).toBe(false);
  });
});

describe("jobs", () => {
  const flow = wf(`
on: [push, workflow_dispatch]
permissions: { contents: read }
env: { TOP: top }
jobs:
  first:
    runs-on: x
    outputs: { targets: "\${{ steps.read.outputs.targets }}" }
    steps: [{ id: read, run: "echo" }]
  fan:
    needs: first
    if: needs.first.outputs.targets != '[]'
    strategy: { matrix: { target: "\${{ fromJSON(needs.first.outputs.targets) }}" } }
    runs-on: x
    environment: \${{ github.ref_name }}
    permissions: { contents: read, id-token: write }
    concurrency: { group: "fan-\${{ matrix.target }}", cancel-in-progress: true }
    env: { TARGET: "\${{ matrix.target }}" }
    steps:
      - name: deploy
        env: { MODE: "\${{ inputs.mode }}" }
        run: |
          tool deploy --to "$TARGET" --mode "$MODE" \\
            --top "$TOP" | tee "$RUNNER_TEMP/log"
      - name: only on failure
        if: failure()
        run: tool report
      - name: always
        if: \${{ !cancelled() }}
        run: tool summary "$(tool version --short)"
  cleanup:
    needs: fan
    if: always()
    runs-on: x
    steps: [{ run: tool cleanup }]
  after:
    needs: fan
    runs-on: x
    steps: [{ run: tool after }]
`);

  it("fans a job out over a matrix read from another job's output, with the context of each", () => {
    const run = simulate(flow, { name: "push", branch: "staging" }, { outputs: { first: { targets: '["a","b"]' } } });
    const fans = jobs(run, "fan") as [JobRun, JobRun];
    expect(fans.map((j) => j.matrix)).toEqual([{ target: "a" }, { target: "b" }]);
    expect(fans.map((j) => j.concurrency)).toEqual([
      { group: "fan-a", cancelInProgress: true },
      { group: "fan-b", cancelInProgress: true },
    ]);
    expect(fans[0].environment).toBe("staging");
    expect(fans[0].permissions).toEqual({ contents: "read", "id-token": "write" });
    expect(job(run, "first").permissions).toEqual({ contents: "read" });
    // env is inherited workflow → job → step, and the shell words are expanded from it.
    expect(commands(fans[1])).toEqual([
      ["tool", "deploy", "--to", "b", "--mode", "", "--top", "top"],
      ["tee", `${unknown("runner.temp")}/log`],
      ["tool", "summary", "$(tool version --short)"],
      ["tool", "version", "--short"],
    ]);
    expect(fans[0].skipped).toEqual(["only on failure"]);
    expect(option(stepRunning(fans[0], "tool", "deploy")?.commands[0] ?? [], "--to")).toBe("a");
  });

  it("skips a job whose if is false, and its dependants unless they ask for a status", () => {
    const run = simulate(flow, { name: "push", branch: "staging" }, { outputs: { first: { targets: "[]" } } });
    expect(run.jobs.map((j) => j.id)).toEqual(["first", "cleanup"]);
    expect(run.skipped).toEqual(["fan", "after"]);
  });

  it("skips the dependants of a failing job unless they ask for a status", () => {
    const run = simulate(flow, { name: "push", branch: "staging" }, { outputs: { first: { targets: '["a"]' } }, failing: ["fan"] });
    expect(run.jobs.map((j) => j.id)).toEqual(["first", "fan", "cleanup"]);
    expect(run.skipped).toEqual(["after"]);
  });

  it("leaves what only a run knows as a symbol naming its source", () => {
    const run = simulate(flow, { name: "workflow_dispatch", branch: "main", inputs: { mode: "fast" } }, { failing: ["first"] });
    expect(job(run, "first").outputs).toEqual({ targets: unknown("steps.read.outputs.targets") });
    expect(run.skipped).toEqual(["fan", "after"]);
    // fromJSON of a symbol is no list: the matrix fails loudly rather than inventing targets.
    const unread = simulate(flow, { name: "push" });
    expect(unread.errors).toEqual(["job fan: Error parsing JSON when evaluating fromJson"]);
    expect(unread.skipped).toEqual(["fan", "after"]);
  });
});

describe("pull requests and dispatch", () => {
  const preview = wf(`
on:
  pull_request: { branches: [staging] }
  workflow_dispatch:
    inputs:
      stack: { type: choice, options: [staging], default: staging }
jobs:
  check:
    runs-on: x
    env:
      STACK: \${{ github.event_name == 'workflow_dispatch' && inputs.stack || github.base_ref }}
      TRUSTED: \${{ github.event_name == 'workflow_dispatch' || github.event.pull_request.head.repo.full_name == github.repository }}
    steps:
      - run: tool check "$STACK"
      - if: env.TRUSTED == 'true'
        env: { TOKEN: "\${{ secrets.CLOUD }}", VAR: "\${{ vars.ROLE }}" }
        run: tool cloud "$STACK" "$TOKEN" "$VAR"
`);

  it("tells a fork's pull request from the repository's own", () => {
    const own = job(simulate(preview, { name: "pull_request", base: "staging" }), "check");
    expect(own.env).toEqual({ STACK: "staging", TRUSTED: "true" });
    expect(commands(own)).toEqual([
      ["tool", "check", "staging"],
      ["tool", "cloud", "staging", unknown("secrets.CLOUD"), unknown("vars.ROLE")],
    ]);
    const fork = job(simulate(preview, { name: "pull_request", base: "staging", fork: true }), "check");
    expect(fork.env.TRUSTED).toBe("false");
    expect(commands(fork)).toEqual([["tool", "check", "staging"]]);
    expect(fork.skipped).toEqual(["step 1"]);
  });

  it("gives a dispatch its inputs, defaults included", () => {
    expect(job(simulate(preview, { name: "workflow_dispatch" }), "check").env.STACK).toBe("staging");
    expect(job(simulate(preview, { name: "workflow_dispatch", inputs: { stack: "other" } }), "check").env.STACK).toBe("other");
  });
});

describe("steps after a failure, and pull request numbers", () => {
  const steps = wf(`
on: { pull_request: {} }
concurrency: { group: "pr-\${{ github.event.pull_request.number }}" }
jobs:
  a:
    runs-on: x
    steps:
      - { name: plain, run: tool one }
      - { name: always, if: "\${{ !cancelled() }}", run: tool two }
      - { name: on failure, if: failure(), continue-on-error: true, run: tool three }
`);

  it("runs what a failed earlier step leaves running, and tells continue-on-error apart", () => {
    expect(job(simulate(steps, { name: "pull_request", base: "main" }), "a").steps.map((s) => [s.name, s.continueOnError])).toEqual([
      ["plain", false],
      ["always", false],
    ]);
    const failed = job(simulate(steps, { name: "pull_request", base: "main" }, { afterFailure: true }), "a");
    expect(failed.steps.map((s) => [s.name, s.continueOnError])).toEqual([
      ["always", false],
      ["on failure", true],
    ]);
    expect(failed.skipped).toEqual(["plain"]);
  });

  it("gives each pull request its number", () => {
    expect(simulate(steps, { name: "pull_request", base: "main", number: 7 }).concurrency).toEqual({ group: "pr-7", cancelInProgress: false });
    expect(simulate(steps, { name: "pull_request", base: "main" }).concurrency?.group).toBe("pr-1");
  });
});

describe("GitHub's behaviour where a simpler model would let a workflow pass", () => {
  const one = "jobs:\n  a: { runs-on: x, steps: [{ run: \"true\" }] }\n";

  it("starts a pull_request workflow only for its activity types (opened, synchronize, reopened unless listed)", () => {
    const closedOnly = wf(`on:\n  pull_request: { types: [closed] }\n${one}`);
    expect(simulate(closedOnly, { name: "pull_request", base: "main" }).triggered).toBe(false);
    expect(simulate(closedOnly, { name: "pull_request", base: "main", action: "closed" }).triggered).toBe(true);
    const plain = wf(`on: pull_request\n${one}`);
    expect(["opened", "synchronize", "reopened", "closed", "edited"].map((action) => simulate(plain, { name: "pull_request", base: "main", action }).triggered)).toEqual([true, true, true, false, false]);
  });

  it("starts a path-filtered workflow only for a change that touches a path it admits", () => {
    const filtered = wf(`on:\n  pull_request: { paths: ["docs/**", "!docs/internal/**"] }\n  push: { branches: [main], paths-ignore: ["**.md"] }\n${one}`);
    expect(simulate(filtered, { name: "pull_request", base: "main" }).triggered).toBe(false);
    expect(simulate(filtered, { name: "pull_request", base: "main", paths: ["index.ts"] }).triggered).toBe(false);
    expect(simulate(filtered, { name: "pull_request", base: "main", paths: ["docs/internal/a.md"] }).triggered).toBe(false);
    expect(simulate(filtered, { name: "pull_request", base: "main", paths: ["index.ts", "docs/a.md"] }).triggered).toBe(true);
    expect(simulate(filtered, { name: "push", branch: "main", paths: ["README.md"] }).triggered).toBe(false);
    expect(simulate(filtered, { name: "push", branch: "main", paths: ["README.md", "index.ts"] }).triggered).toBe(true);
  });

  it("extends every combination with an include entry of new keys only, removes excluded ones, and fails an empty axis", () => {
    const matrix = (m: string) => jobs(simulate(wf(`on: push\njobs:\n  a: { runs-on: x, strategy: { matrix: ${m} }, steps: [{ run: "true" }] }\n`), { name: "push" }), "a").map((j) => j.matrix);
    expect(matrix("{ fruit: [apple, pear], animal: [cat, dog], include: [{ color: green }, { color: pink, animal: cat }, { fruit: apple, shape: circle }, { fruit: banana }, { fruit: banana, animal: cat }] }")).toEqual([
      { fruit: "apple", animal: "cat", color: "pink", shape: "circle" },
      { fruit: "apple", animal: "dog", color: "green", shape: "circle" },
      { fruit: "pear", animal: "cat", color: "pink" },
      { fruit: "pear", animal: "dog", color: "green" },
      { fruit: "banana" },
      { fruit: "banana", animal: "cat" },
    ]);
    expect(matrix("{ os: [a, b], node: [1, 2], exclude: [{ os: a, node: 2 }, { os: b }] }")).toEqual([{ os: "a", node: 1 }]);
    const empty = simulate(wf(`on: push\njobs:\n  a: { runs-on: x, strategy: { matrix: { base: "\${{ fromJSON('[]') }}" } }, steps: [{ run: "true" }] }\n  b: { needs: a, runs-on: x, steps: [{ run: "true" }] }\n`), { name: "push" });
    expect(empty.errors).toEqual(["job a: Matrix vector 'base' does not contain any values"]);
    expect(empty.skipped).toEqual(["a", "b"]);
  });

  it("skips a job when a job two hops up failed or was skipped, and reads status functions in any case", () => {
    const chain = wf(`
on: push
jobs:
  a: { runs-on: x, steps: [{ run: "true" }] }
  b: { needs: a, if: always(), runs-on: x, steps: [{ run: "true" }] }
  c: { needs: b, runs-on: x, steps: [{ run: "true" }] }
  d: { needs: b, if: failure(), runs-on: x, steps: [{ run: "true" }] }
  e: { needs: a, if: "Always()", runs-on: x, steps: [{ run: "true" }] }
`);
    const run = simulate(chain, { name: "push" }, { failing: ["a"] });
    expect(run.jobs.map((j) => j.id)).toEqual(["a", "b", "d", "e"]);
    expect(run.skipped).toEqual(["c"]);
    // A failing job with continue-on-error is a success to the jobs that need it.
    const tolerated = wf(`on: push\njobs:\n  a: { runs-on: x, continue-on-error: true, steps: [{ run: "true" }] }\n  b: { needs: a, runs-on: x, steps: [{ run: "true" }] }\n`);
    expect(simulate(tolerated, { name: "push" }, { failing: ["a"] }).jobs.map((j) => j.id)).toEqual(["a", "b"]);
  });

  it("keeps the runner's GITHUB_* variables whatever the workflow's env says, and names an unset token's permissions", () => {
    const bent = wf(`on: push\njobs:\n  a: { runs-on: x, env: { GITHUB_REF_NAME: prod, OWN: mine }, steps: [{ run: "deploy \\"$GITHUB_REF_NAME\\" \\"$OWN\\"" }] }\n`);
    const a = job(simulate(bent, { name: "push", branch: "staging" }), "a");
    expect(commands(a)).toEqual([["deploy", "staging", "mine"]]);
    expect(a.permissions).toBe("the repository's default");
    expect(job(simulate(wf(`on: push\npermissions: {}\n${one}`), { name: "push" }), "a").permissions).toEqual({});
  });
});

describe("how a step runs", () => {
  it("names the shell command line of each run step, and an action whatever the case of its name", () => {
    const flow = wf(`
on: push
defaults: { run: { shell: bash } }
jobs:
  a:
    runs-on: x
    steps:
      - { uses: Actions/Checkout@0000000000000000000000000000000000000000 }
      - { run: "a | tee log" }
      - { run: "b", shell: sh }
  b:
    runs-on: x
    defaults: { run: { shell: "bash -e {0}" } }
    steps: [{ run: "c" }]
`);
    const run = simulate(flow, { name: "push" });
    expect(job(run, "a").steps.map((s) => [s.action, s.shell])).toEqual([
      ["actions/checkout", undefined],
      [undefined, "bash --noprofile --norc -eo pipefail {0}"],
      [undefined, "sh -e {0}"],
    ]);
    expect(job(run, "b").steps[0]?.shell).toBe("bash -e {0}");
    expect(job(simulate(wf(`on: push\njobs:\n  a: { runs-on: x, steps: [{ run: "d" }] }\n`), { name: "push" }), "a").steps[0]?.shell).toBe("bash -e {0}");
  });
});
