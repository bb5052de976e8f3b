import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { main } from "../tools/plan/main";

const root = path.resolve(__dirname, "..");
const fixture = (name: string) => path.join(__dirname, "fixtures", "programs", name);

async function plan(argv: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { cwd: root, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
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
        "3 resources (2 custom, 1 component) · stack staging · offline preview",
        "",
        "Outputs:",
        "    bucketName: [unknown]",
        "    prefix: logs-",
        "",
        "Policies: no violations.",
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
    expect(await plan(["--stack", "qa"])).toEqual({ code: 2, stdout: "", stderr: 'plan: no stack config Pulumi.qa.yaml for stack "qa"\n' });
    expect(await plan(["--stack", "staging", "--entry", "missing.ts"])).toEqual({ code: 2, stdout: "", stderr: "plan: --entry missing.ts: no such file\n" });
  });

  it("runs as a command through npm's entry with the same exit status", () => {
    const run = spawnSync(process.execPath, [path.join(root, "tools", "plan.cjs"), "--stack", "staging", "--entry", fixture("fails.ts")], {
      cwd: root,
      encoding: "utf8",
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe("error: invalid stack config (1 problem):\n  - gitops-platform:environment: must equal the stack name\n");
  });
});
