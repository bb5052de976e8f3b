import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { main } from "../../tools/plan/main";

const root = path.resolve(__dirname, "..", "..");
const fixture = (name: string) => path.join(__dirname, "..", "fixtures", "programs", name);

async function plan(argv: string[], userCwd = root) {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { cwd: root, userCwd, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

/** A scratch directory removed after the test. */
function scratch(onTestFinished: (fn: () => void) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-test-"));
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("plan", () => {
  it("prints the resource tree with inputs, flags, masked secrets and unknown outputs", async () => {
    const { code, stdout, stderr } = await plan(["--stack", "staging", "--entry", fixture("bucket-and-secret.ts"), "--no-policy"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        "pulumi:pulumi:Stack  gitops-platform-staging  [component]",
        "├─ aws:s3/bucket:Bucket  logs  [protect, retainOnDelete]",
        "│       bucketPrefix: logs-",
        "└─ kubernetes:core/v1:Secret  git",
        "        apiVersion: v1",
        "        kind: Secret",
        '        metadata: {"name":"git","namespace":"flux-system"}',
        '        stringData: {"identity":"[secret]","identity.pub":"[secret]"}',
        "",
        "Outputs:",
        "    bucketName: [unknown]",
        "    prefix: logs-",
        "",
        "Resources:",
        "    + 3 to create (2 custom, 1 component)",
        "",
        "Policies: 0 mandatory, 0 advisory, 0 notes",
        "",
        "Verdict: OK: no mandatory policy violation · stack staging · offline plan, no credentials used",
        "",
      ].join("\n"),
    );
    expect(stdout).not.toContain("not-a-real-key");
  });

  it("prints one JSON document with the documented shape", async () => {
    const { code, stdout } = await plan(["--stack", "staging", "--entry", fixture("bucket-and-secret.ts"), "--json", "--no-policy"]);
    expect(code).toBe(0);
    const doc = JSON.parse(stdout) as Record<string, unknown> & { resources: Record<string, unknown>[] };
    expect(Object.keys(doc)).toEqual(["project", "stack", "resources", "outputs", "policyViolations"]);
    expect(doc.project).toBe("gitops-platform");
    expect(doc.stack).toBe("staging");
    expect(doc.outputs).toEqual({ bucketName: "[unknown]", prefix: "logs-" });
    expect(doc.policyViolations).toEqual([]);
    expect(doc.resources[1]).toEqual({
      urn: "urn:pulumi:staging::gitops-platform::aws:s3/bucket:Bucket::logs",
      type: "aws:s3/bucket:Bucket",
      name: "logs",
      parent: "urn:pulumi:staging::gitops-platform::pulumi:pulumi:Stack::gitops-platform-staging",
      custom: true,
      inputs: { bucketPrefix: "logs-" },
      protect: true,
      retainOnDelete: true,
      additionalSecretOutputs: [],
      dependencies: [],
    });
    expect(stdout).not.toContain("not-a-real-key");
  });

  it("is deterministic: the same inputs give byte-identical output", async () => {
    const argv = ["--stack", "staging", "--entry", fixture("bucket-and-secret.ts"), "--json", "--no-policy"];
    expect((await plan(argv)).stdout).toBe((await plan(argv)).stdout);
    // The real program with its policy verdicts, as text and as JSON.
    for (const format of [[], ["--json"]]) {
      const first = await plan(["--stack", "prod", ...format]);
      expect(first.stdout.length).toBeGreaterThan(10_000);
      expect((await plan(["--stack", "prod", ...format])).stdout).toBe(first.stdout);
    }
  });

  it("writes each Kubernetes object as YAML with secrets redacted, plus a kustomization", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "plan-out-"));
    fs.rmSync(out, { recursive: true });
    const { code } = await plan(["--stack", "staging", "--entry", fixture("bucket-and-secret.ts"), "--out", out, "--no-policy"]);
    expect(code).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual([".gitops-platform-plan", "kustomization.yaml", "secret-flux-system-git.yaml"]);
    expect(fs.readFileSync(path.join(out, "secret-flux-system-git.yaml"), "utf8")).toBe(
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: git\n  namespace: flux-system\nstringData:\n  identity: '[secret]'\n  identity.pub: '[secret]'\n",
    );
    // A second run into the same directory replaces what the first wrote.
    expect((await plan(["--stack", "staging", "--entry", fixture("bucket-and-secret.ts"), "--out", out, "--no-policy"])).code).toBe(0);
    const foreign = fs.mkdtempSync(path.join(os.tmpdir(), "plan-foreign-"));
    fs.writeFileSync(path.join(foreign, "keep.txt"), "mine");
    const refused = await plan(["--stack", "staging", "--entry", fixture("bucket-and-secret.ts"), "--out", foreign, "--no-policy"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(`plan: --out ${foreign}: directory is not empty and was not written by plan; choose another\n`);
  });

  it("exits 1 with every config problem listed when the program rejects its config", async () => {
    const { code, stdout, stderr } = await plan(["--stack", "staging", "--entry", fixture("fails.ts")]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe("error: invalid stack config (1 problem):\n  - gitops-platform:environment: must equal the stack name\n");
  });

  it.each([
    [[], "plan: --stack <name> is required\n"],
    [["--stack"], "plan: Option '--stack <value>' argument missing\n"],
    [["--stack", "staging", "--bogus"], "plan: Unknown option '--bogus'\n"],
    [["--stack", "../etc"], 'plan: --stack: expected a stack name (letters, digits, \'-\', \'_\', \'.\'), got "../etc"\n'],
    [["--stack", "staging", "--policy-pack-config", "x.json"], "plan: --policy-pack-config: each one needs a --policy-pack before it\n"],
  ])("exits 2 on bad usage %j", async (argv, first) => {
    const { code, stderr } = await plan(argv);
    expect(code).toBe(2);
    expect(stderr.split("\n\n")[0] + "\n").toBe(first);
    expect(stderr).toContain("usage: npm run plan -- --stack <name> [options]");
  });

  it("exits 2 for a stack without config and an entry that does not exist", async () => {
    expect(await plan(["--stack", "qa"])).toEqual({ code: 2, stdout: "", stderr: 'plan: no stack config Pulumi.qa.yaml for stack "qa"; stacks here: prod, staging\n' });
    expect(await plan(["--stack", "staging", "--entry", "missing.ts"])).toEqual({ code: 2, stdout: "", stderr: "plan: --entry missing.ts: no such file\n" });
  });

  it("runs as a command through npm's entry with the same exit status", () => {
    const run = spawnSync(process.execPath, [path.join(root, "tools", "plan", "cli.mts"), "--stack", "staging", "--entry", fixture("fails.ts")], {
      cwd: root,
      encoding: "utf8",
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe("error: invalid stack config (1 problem):\n  - gitops-platform:environment: must equal the stack name\n");
  });

  it("prints long values whole: JSON documents pretty-printed under their key, long strings unbroken", async () => {
    const { code, stdout } = await plan(["--stack", "staging", "--entry", fixture("long-values.ts"), "--no-policy"]);
    expect(code).toBe(0);
    expect(stdout.split("\n").slice(0, 22)).toEqual([
      "pulumi:pulumi:Stack  gitops-platform-staging  [component]",
      "└─ aws:iam/role:Role  ci",
      "        assumeRolePolicy: (JSON)",
      "            {",
      '              "Version": "2012-10-17",',
      '              "Statement": [',
      "                {",
      '                  "Effect": "Allow",',
      '                  "Principal": {',
      '                    "Federated": "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"',
      "                  },",
      '                  "Action": "sts:AssumeRoleWithWebIdentity",',
      '                  "Condition": {',
      '                    "StringEquals": {',
      '                      "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",',
      '                      "token.actions.githubusercontent.com:sub": "repo:acme-corp/orders:ref:refs/heads/main"',
      "                    }",
      "                  }",
      "                }",
      "              ]",
      "            }",
      "        description: Pushes images of acme-corp/orders to its ECR repository; assumed only by GitHub Actions runs of that repository's main branch",
    ]);
    expect(stdout).not.toContain("…");
  });

  it("ends like a preview: counts, policy summary and a verdict naming the mandatory violations, also on stderr", async () => {
    const { code, stdout, stderr } = await plan(["--stack", "staging", "--entry", fixture("insecure.ts")]);
    expect(code).toBe(1);
    expect(stdout.slice(stdout.lastIndexOf("\nResources:\n"))).toBe(
      [
        "",
        "Resources:",
        "    + 7 to create (6 custom, 1 component)",
        "",
        "Policies: 6 mandatory, 4 advisory, 0 notes",
        "",
        "Verdict: BLOCKED: 6 mandatory policy violations (github-deploy-key-unique, s3-no-public-principal, s3-ownership-enforced, s3-public-access-block, s3-tls-only, sg-no-world-admin-ports) · stack staging · offline plan, no credentials used",
        "",
      ].join("\n"),
    );
    expect(stderr.split("\n")).toHaveLength(7);
    expect(stderr.split("\n")[5]).toBe(
      "plan: mandatory policy violation: [gitops-platform] sg-no-world-admin-ports urn:pulumi:staging::gitops-platform::aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::ssh: rule lets 0.0.0.0/0 reach port 22 (tcp 22)",
    );
  });

  it("sets policy notes (values unknown before deployment) apart from advisory violations", async () => {
    const { code, stdout } = await plan(["--stack", "staging"]);
    expect(code).toBe(0);
    // A section the plan does not print (e.g. no advisory violation) reads as its header alone.
    const section = (title: string) => (stdout.includes(`\n${title} (`) ? (stdout.slice(stdout.indexOf(`\n${title} (`) + 1).split("\n\n")[0] ?? "") : title);
    const notes = section("Policy notes, not judged offline").split("\n");
    const advisory = section("Policy violations, advisory").split("\n");
    const count = Number(/^Policy notes, not judged offline \((\d+)\):$/.exec(notes[0] ?? "")?.[1]);
    expect(count).toBeGreaterThan(0);
    // Each entry is a header line and a message line; every note's message is the analyzer's "can't run".
    expect(notes).toHaveLength(1 + 2 * count);
    expect(notes.filter((line, i) => i > 0 && i % 2 === 0).every((line) => /^ {8}can't run policy '.*' during preview: /.test(line))).toBe(true);
    expect(advisory.some((line) => line.includes("can't run policy"))).toBe(false);
    expect(stdout).toContain(`\nPolicies: 0 mandatory, ${(advisory.length - 1) / 2} advisory, ${count} notes\n\nVerdict: OK: no mandatory policy violation`);
  });

  it("names the file, line and column of a YAML syntax error, relative to where the user ran the command", async ({ onTestFinished }) => {
    const dir = scratch(onTestFinished);
    fs.writeFileSync(path.join(dir, "bad.yaml"), "config:\n  aws:region: eu-west-1\n  gitops-platform:x: [1,\n  y: 2\n");
    const { code, stdout, stderr } = await plan(["--stack", "staging", "--config", "bad.yaml"], dir);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe(
      ["error: bad.yaml:4:3: deficient indentation", " 1 | config:", " 2 |   aws:region: eu-west-1", " 3 |   gitops-platform:x: [1,", " 4 |   y: 2", "-------^", ""].join("\n"),
    );
  });

  it("says an empty stack file is empty, naming it", async ({ onTestFinished }) => {
    const dir = scratch(onTestFinished);
    fs.writeFileSync(path.join(dir, "empty.yaml"), "# nothing yet\n\n");
    expect(await plan(["--stack", "staging", "--config", "empty.yaml"], dir)).toEqual({
      code: 1,
      stdout: "",
      stderr: "error: empty.yaml: the file is empty; expected a YAML mapping\n",
    });
    fs.writeFileSync(path.join(dir, "list.yaml"), "- a\n");
    expect((await plan(["--stack", "staging", "--config", "list.yaml"], dir)).stderr).toBe("error: list.yaml: expected a YAML mapping, got a list\n");
    fs.writeFileSync(path.join(dir, "scalar-config.yaml"), "config: 3\n");
    expect((await plan(["--stack", "staging", "--config", "scalar-config.yaml"], dir)).stderr).toBe("error: scalar-config.yaml: config: expected a mapping of keys to values\n");
  });

  it("resolves --entry, --config and --out from the directory the user ran it in", async ({ onTestFinished }) => {
    const dir = scratch(onTestFinished);
    fs.copyFileSync(path.join(root, "Pulumi.staging.yaml"), path.join(dir, "mine.yaml"));
    fs.copyFileSync(fixture("bucket-and-secret.ts"), path.join(dir, "program.ts"));
    const { code, stderr } = await plan(["--stack", "staging", "--entry", "program.ts", "--config", "mine.yaml", "--out", "rendered", "--no-policy"], dir);
    expect(stderr).toBe("wrote 1 Kubernetes objects to rendered\n");
    expect(code).toBe(0);
    expect(fs.readdirSync(path.join(dir, "rendered")).sort()).toEqual([".gitops-platform-plan", "kustomization.yaml", "secret-flux-system-git.yaml"]);
    expect((await plan(["--stack", "staging", "--config", "nope.yaml"], dir)).stderr).toBe("plan: --config nope.yaml: no such file\n");
  });

  it("takes the user's directory from INIT_CWD when npm runs it from the project directory", ({ onTestFinished }) => {
    const dir = scratch(onTestFinished);
    fs.writeFileSync(path.join(dir, "empty.yaml"), "");
    const run = spawnSync(process.execPath, [path.join(root, "tools", "plan", "cli.mts"), "--stack", "staging", "--config", "empty.yaml"], {
      cwd: root,
      env: { ...process.env, INIT_CWD: dir },
      encoding: "utf8",
    });
    expect(run.stderr).toBe("error: empty.yaml: the file is empty; expected a YAML mapping\n");
    expect(run.status).toBe(1);
  });

  it("with --json, reports an error as a JSON document too", async ({ onTestFinished }) => {
    const dir = scratch(onTestFinished);
    fs.writeFileSync(path.join(dir, "bad.yaml"), "config:\n  a: [\n");
    const bad = await plan(["--stack", "staging", "--config", "bad.yaml", "--json"], dir);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toEqual({
      error: { message: bad.stderr.slice("error: ".length, -1), exitCode: 1, file: "bad.yaml", line: 3, column: 1 },
    });
    expect(bad.stderr.split("\n")[0]).toBe("error: bad.yaml:3:1: deficient indentation");
    const usage = await plan(["--stack", "nosuch", "--json"]);
    expect(usage).toEqual({
      code: 2,
      stdout: `${JSON.stringify({ error: { message: 'no stack config Pulumi.nosuch.yaml for stack "nosuch"; stacks here: prod, staging', exitCode: 2 } }, null, 2)}\n`,
      stderr: 'plan: no stack config Pulumi.nosuch.yaml for stack "nosuch"; stacks here: prod, staging\n',
    });
    const config = await plan(["--stack", "staging", "--entry", fixture("fails.ts"), "--json"]);
    expect(config.code).toBe(1);
    expect(JSON.parse(config.stdout)).toEqual({ error: { message: "invalid stack config (1 problem):\n  - gitops-platform:environment: must equal the stack name", exitCode: 1 } });
  });

  it("lists the SDK's warnings under Diagnostics, before the summary", async ({ onTestFinished }) => {
    const dir = scratch(onTestFinished);
    fs.writeFileSync(path.join(dir, "program.ts"), "export default () => ({ missing: undefined, present: 1 });\n");
    const { code, stdout, stderr } = await plan(["--stack", "staging", "--entry", "program.ts", "--no-policy"], dir);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toContain("\nOutputs:\n    present: 1\n\nDiagnostics (1):\n    warning: Undefined value (missing) will not show as a stack output.\n\nResources:\n");
  });

  it("says in one line to run npm ci when the dependencies are missing", ({ onTestFinished }) => {
    const dir = scratch(onTestFinished);
    fs.mkdirSync(path.join(dir, "tools", "plan"), { recursive: true });
    fs.copyFileSync(path.join(root, "tools", "plan", "cli.mts"), path.join(dir, "tools", "plan", "cli.mts"));
    const run = spawnSync(process.execPath, [path.join(dir, "tools", "plan", "cli.mts"), "--stack", "staging"], { cwd: dir, encoding: "utf8" });
    expect(run.status).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(`plan: the project's dependencies are not installed (esbuild is missing); run \`npm ci\` in ${dir} first\n`);
  });
});
