/**
 * `npm run bench`: start-up and scale benchmarks of `plan`, and the test command's wall time.
 *
 * Every measurement is a whole process, timed from spawn to exit, peak memory from GNU time's
 * maximum resident set size. Pairs are interleaved (A B A B …) after one warm-up run of each, and
 * the median of the runs is reported, so a busy machine slows both sides alike.
 *
 *   P1  plan --stack prod --json  vs  the floor: node loading the SDKs the program uses, then exiting
 *   P2  plan of a prod config with 50 applications  vs  the same config with 1
 *   P3  the whole test command (node tools/build/test.mts)
 *   P4  plan --stack prod --diff HEAD --json  vs  plan --stack prod --json (the diff plans twice)
 *
 * Targets live here, not in tests: P1 ≤ 1.25× floor, P2 ≤ 1.5×, P3 ≤ 60 s, P4 ≤ 2.2× (two plans + 10 %).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { dump, load } from "js-yaml";
import { splitRepository } from "../../policies/vocabulary";

// npm runs scripts from the package root; the benchmark measures the project it is run in.
const root = process.cwd();

/** The SDK packages the program loads; the floor loads exactly these. */
export const PROGRAM_SDKS = ["@pulumi/pulumi", "@pulumi/aws", "@pulumi/kubernetes", "@pulumi/github", "@pulumi/tls", "@pulumi/random"];

interface Sample {
  readonly seconds: number;
  readonly peakMb: number | undefined;
  readonly stdout: string;
}

interface Command {
  readonly label: string;
  readonly argv: string[];
}

const timeBinary = ["/usr/bin/time", "/bin/time"].find((file) => fs.existsSync(file));

/** The Node flags `npm run plan` passes (package.json is their one home), so P1 and P2 time what users run. */
export function planNodeFlags(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { scripts?: Record<string, string> };
  const words = (pkg.scripts?.plan ?? "").split(/\s+/);
  return words.slice(1, words.findIndex((word) => word.endsWith(".cjs"))).filter((word) => word.startsWith("--"));
}

function measure(command: Command): Sample {
  const [exe, ...args] = command.argv as [string, ...string[]];
  const report = path.join(os.tmpdir(), `bench-rss-${process.pid}.txt`);
  const argv = timeBinary ? [timeBinary, "-f", "%M", "-o", report, exe, ...args] : [exe, ...args];
  const start = process.hrtime.bigint();
  const run = spawnSync(argv[0] as string, argv.slice(1), { cwd: root, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (run.status !== 0) {
    throw new Error(`${command.label} failed (exit ${run.status}):\n${run.stderr.slice(-2000)}`);
  }
  let peakMb: number | undefined;
  if (timeBinary) {
    const kb = Number(fs.readFileSync(report, "utf8").trim().split("\n").pop());
    peakMb = Number.isFinite(kb) ? kb / 1024 : undefined;
    fs.rmSync(report, { force: true });
  }
  return { seconds, peakMb, stdout: run.stdout };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

interface Summary {
  readonly label: string;
  readonly medianSeconds: number;
  readonly runs: number[];
  readonly peakMb: number | undefined;
}

function summarize(label: string, samples: Sample[]): Summary {
  const peaks = samples.map((s) => s.peakMb).filter((v): v is number => v !== undefined);
  return {
    label,
    medianSeconds: median(samples.map((s) => s.seconds)),
    runs: samples.map((s) => Number(s.seconds.toFixed(3))),
    peakMb: peaks.length ? Math.max(...peaks) : undefined,
  };
}

/** Runs A and B alternately after one warm-up of each. */
function paired(a: Command, b: Command, runs: number, log: (text: string) => void): [Sample[], Sample[]] {
  measure(a);
  measure(b);
  const as: Sample[] = [];
  const bs: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    as.push(measure(a));
    bs.push(measure(b));
    log(".");
  }
  return [as, bs];
}

/** Writes the prod stack config with `count` applications, for the scale benchmark. */
export function scaledConfig(count: number, dir: string): string {
  const base = load(fs.readFileSync(path.join(root, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, unknown> };
  const template = ((base.config["gitops-platform:apps"] as Record<string, unknown>[] | undefined) ?? [])[0];
  if (!template) throw new Error("Pulumi.prod.yaml has no application to scale");
  const { owner } = splitRepository(String(template.repo));
  if (owner === undefined) throw new Error("Pulumi.prod.yaml's first application names its repository without an owner");
  const apps = Array.from({ length: count }, (_, i) => {
    const name = `app-${String(i + 1).padStart(2, "0")}`;
    return { ...template, name, repo: `${owner}/${name}` };
  });
  const file = path.join(dir, `Pulumi.prod.${count}-apps.yaml`);
  fs.writeFileSync(file, dump({ config: { ...base.config, "gitops-platform:apps": apps } }));
  return file;
}

const resourceCount = (sample: Sample): number => (JSON.parse(sample.stdout) as { resources: unknown[] }).resources.length;

export function main(argv: string[]): Promise<number> {
  return Promise.resolve(run(argv));
}

function run(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: "string", default: "7" },
      json: { type: "string" },
      only: { type: "string", default: "P1,P2,P3,P4" },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write("bench: --runs expects a positive integer\n");
    return 2;
  }
  const only = new Set((values.only ?? "").split(",").map((s) => s.trim().toUpperCase()));
  const log = (text: string) => process.stderr.write(text);
  const node = process.execPath;
  const plan = path.join(root, "tools", "plan", "cli.mts");
  const planFlags = planNodeFlags();
  const rows: Record<string, unknown>[] = [];

  if (only.has("P1")) {
    log("P1 plan vs floor ");
    const floor: Command = { label: "floor", argv: [node, "-e", `for (const m of ${JSON.stringify(PROGRAM_SDKS)}) require(m)`] };
    const planProd: Command = { label: "plan prod", argv: [node, ...planFlags, plan, "--stack", "prod", "--json"] };
    const [floors, plans] = paired(floor, planProd, runs, log);
    const a = summarize("plan --stack prod --json", plans);
    const b = summarize("floor (load SDKs)", floors);
    rows.push({ id: "P1", a, b, ratio: a.medianSeconds / b.medianSeconds, target: 1.25, resources: resourceCount(plans[0] as Sample) });
    log("\n");
  }
  if (only.has("P2")) {
    log("P2 50 apps vs 1 ");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-configs-"));
    const one: Command = { label: "1 app", argv: [node, ...planFlags, plan, "--stack", "prod", "--json", "--config", scaledConfig(1, dir)] };
    const fifty: Command = { label: "50 apps", argv: [node, ...planFlags, plan, "--stack", "prod", "--json", "--config", scaledConfig(50, dir)] };
    const [ones, fifties] = paired(one, fifty, runs, log);
    const a = summarize("plan prod, 50 apps", fifties);
    const b = summarize("plan prod, 1 app", ones);
    rows.push({
      id: "P2",
      a,
      b,
      ratio: a.medianSeconds / b.medianSeconds,
      target: 1.5,
      resources: { fiftyApps: resourceCount(fifties[0] as Sample), oneApp: resourceCount(ones[0] as Sample) },
    });
    fs.rmSync(dir, { recursive: true, force: true });
    log("\n");
  }
  if (only.has("P4")) {
    log("P4 plan --diff vs plan ");
    const single: Command = { label: "plan", argv: [node, ...planFlags, plan, "--stack", "prod", "--json"] };
    const diff: Command = { label: "plan --diff", argv: [node, ...planFlags, plan, "--stack", "prod", "--json", "--diff", "HEAD"] };
    const [singles, diffs] = paired(single, diff, runs, log);
    const a = summarize("plan --stack prod --diff HEAD --json", diffs);
    const b = summarize("plan --stack prod --json", singles);
    rows.push({ id: "P4", a, b, ratio: a.medianSeconds / b.medianSeconds, target: 2.2 });
    log("\n");
  }
  if (only.has("P3")) {
    log("P3 test command ");
    const tests: Command = { label: "tests", argv: [node, path.join(root, "tools", "build", "test.mts")] };
    measure(tests);
    const samples: Sample[] = [];
    for (let i = 0; i < runs; i++) {
      samples.push(measure(tests));
      log(".");
    }
    rows.push({ id: "P3", a: summarize("node tools/build/test.mts", samples), targetSeconds: 60 });
    log("\n");
  }

  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverage: os.loadavg().map((v) => Number(v.toFixed(2))),
    runs,
  };
  process.stdout.write(renderTable(rows, machine));
  if (values.json) fs.writeFileSync(values.json, `${JSON.stringify({ machine, results: rows }, null, 2)}\n`);
  return 0;
}

function renderTable(rows: Record<string, unknown>[], machine: Record<string, unknown>): string {
  const fmt = (s: Summary | undefined) => (s ? `${s.medianSeconds.toFixed(2)} s` : "");
  const mem = (s: Summary | undefined) => (s?.peakMb === undefined ? "n/a" : `${s.peakMb.toFixed(0)} MB`);
  const lines = [
    `machine: ${String(machine.cpus)} cores (${String(machine.cpuModel)}), ${String(machine.memoryGiB)} GiB, node ${String(machine.node)}, median of ${String(machine.runs)} runs`,
    "",
    "| id | measured | median | against | median | ratio | target | peak memory | verdict |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const row of rows) {
    const a = row.a as Summary;
    const b = row.b as Summary | undefined;
    if (row.id === "P3") {
      const ok = a.medianSeconds <= (row.targetSeconds as number);
      lines.push(`| P3 | ${a.label} | ${fmt(a)} | | | | ≤ 60 s | ${mem(a)} | ${ok ? "met" : "MISSED"} |`);
      continue;
    }
    const ratio = row.ratio as number;
    const ok = ratio <= (row.target as number);
    lines.push(
      `| ${String(row.id)} | ${a.label} | ${fmt(a)} | ${b?.label ?? ""} | ${fmt(b)} | ${ratio.toFixed(2)}× | ≤ ${String(row.target)}× | ${mem(a)} / ${mem(b)} | ${ok ? "met" : "MISSED"} |`,
    );
  }
  const p2 = rows.find((r) => r.id === "P2");
  if (p2) {
    const counts = p2.resources as { fiftyApps: number; oneApp: number };
    lines.push("", `P2 resources: ${counts.fiftyApps} with 50 apps, ${counts.oneApp} with 1 app.`);
  }
  const p1 = rows.find((r) => r.id === "P1");
  if (p1) lines.push(`P1 resources: ${String(p1.resources)} in the prod stack.`);
  return `${lines.join("\n")}\n`;
}
