import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as github from "@pulumi/github";
import * as tls from "@pulumi/tls";
import type { PolicyPackConfig, PolicyResource, ResourceValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { loadStackConfig, runProgram, type PlanResult } from "../../tools/engine";
import { evaluatePolicies, loadPolicyPack, PolicyPackError, projectPolicyPack } from "../../tools/engine/policy";
import { main } from "../../tools/plan/main";
import { policies as projectRules } from "../../policies/rules";
import { isUnknown } from "../../tools/engine/values";
import { plan, res, UNKNOWN } from "../policies/harness";
import { analyzeWithServer } from "../support/crossguard-server";
import { ENVIRONMENTS } from "../support/stacks";

const root = path.resolve(__dirname, "..", "..");
const extraPack = path.join(__dirname, "..", "fixtures", "policy-packs", "extra");

/** A program that breaks the rules on purpose: world-open SSH, an RSA deploy key, a public bucket. */
function insecureProgram() {
  const group = new aws.ec2.SecurityGroup("entry", { description: "Cluster entry point", vpcId: "vpc-0123456789abcdef0" });
  new aws.vpc.SecurityGroupIngressRule("ssh", { securityGroupId: group.id, description: "SSH", ipProtocol: "tcp", fromPort: 0, toPort: 1024, cidrIpv4: "0.0.0.0/0" });
  const key = new tls.PrivateKey("deploy", { algorithm: "RSA", rsaBits: 4096 });
  new github.RepositoryDeployKey("deploy", { repository: "orders", title: "flux", key: key.publicKeyOpenssh, readOnly: true });
  const bucket = new aws.s3.Bucket("public", { acl: "public-read" });
  new aws.s3.BucketPublicAccessBlock("public", { bucket: bucket.id, blockPublicAcls: false, blockPublicPolicy: false, ignorePublicAcls: false, restrictPublicBuckets: false });
}

async function insecurePlan(): Promise<PlanResult> {
  return runProgram({ stack: "staging", config: { "aws:region": "eu-west-1" }, program: insecureProgram });
}

describe("evaluatePolicies over a run", () => {
  it("catches a deliberately insecure program end to end, with the stack's levels", async () => {
    const result = await insecurePlan();
    const found = await evaluatePolicies(result, [projectPolicyPack("staging", root)]);
    const summary = found.map((v) => `${v.enforcementLevel} ${v.policyName} ${v.resource?.split("::").pop() ?? "-"}: ${v.message}`);
    expect(summary).toEqual([
      "mandatory github-deploy-key-unique deploy: deploy key uses the RSA key \"deploy\"; use ED25519 (or ECDSA), never RSA",
      "mandatory s3-ownership-enforced public: bucket \"public\" has no ownership controls; declare an aws.s3.BucketOwnershipControls for it with objectOwnership BucketOwnerEnforced",
      "mandatory s3-ownership-enforced public: bucket \"public\" sets the ACL \"public-read\"; ACLs are disabled with BucketOwnerEnforced, remove it",
      "mandatory s3-public-access-block public: public access block of bucket \"public\" must set blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets to true",
      "mandatory s3-tls-only public: bucket \"public\" has no bucket policy; declare an aws.s3.BucketPolicy that denies s3:* to every principal when aws:SecureTransport is false",
      "mandatory sg-no-world-admin-ports ssh: rule lets 0.0.0.0/0 reach port 22 (tcp 0-1024)",
      "mandatory sg-no-world-risky-ports ssh: rule lets 0.0.0.0/0 reach ports 20, 21, 23, 25, 135, 139 and 445 (tcp 0-1024)",
      "advisory s3-encryption-kms public: bucket \"public\" has no default encryption; declare an aws.s3.BucketServerSideEncryptionConfiguration for it with sseAlgorithm aws:kms, a KMS key declared in this stack and bucketKeyEnabled: true",
      "advisory s3-versioning-lifecycle public: bucket \"public\" has no lifecycle rules; declare an aws.s3.BucketLifecycleConfiguration for it that expires noncurrent versions and aborts incomplete multipart uploads",
      "advisory s3-versioning-lifecycle public: bucket \"public\" is not versioned; declare an aws.s3.BucketVersioning for it with status Enabled",
      "advisory sg-world-ingress-allowlist ssh: rule opens tcp 0-1024 to 0.0.0.0/0; world-open ingress is allowed only on port 443",
    ]);
    expect(found[0]).toMatchObject({ policyPack: "gitops-platform", type: "github:index/repositoryDeployKey:RepositoryDeployKey" });
  });

  it("applies prod's stricter levels to the same program", async () => {
    const found = await evaluatePolicies(await insecurePlan(), [projectPolicyPack("prod", root)]);
    expect(found.filter((v) => v.enforcementLevel === "advisory")).toEqual([]);
    expect(found.filter((v) => v.policyName === "s3-protect-retain").map((v) => v.message)).toEqual([
      "bucket must be protected (protect: true) so that it cannot be deleted",
      "bucket must be retained on delete (retainOnDelete: true)",
    ]);
  });

  it("finds no mandatory violation in any stack of the project", async () => {
    for (const { stack, production } of ENVIRONMENTS) {
      const config = loadStackConfig(root, stack);
      const result = await runProgram({ stack, project: config.project, config: config.config, secretKeys: config.secretKeys, program: config.main });
      const found = await evaluatePolicies(result, [projectPolicyPack(stack, root)]);
      expect(found.filter((v) => v.enforcementLevel === "mandatory").map((v) => `${stack} ${v.policyName}: ${v.message}`)).toEqual([]);
      // In production every rule is mandatory: what remains are values only a real provider computes (explained in the README).
      if (production) for (const v of found) expect(v.message).toMatch(/^can't run policy '[a-z0-9-]+' from policy pack 'gitops-platform@v0\.1\.0' during preview: /);
    }
  });
});

describe("evaluatePolicies, as the CLI's analyzer", () => {
  const bucket = res("aws:s3/bucket:Bucket", "b", { bucket: "data", tags: { team: "platform" } }, { protect: true });
  const block = res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "b-block", { bucket: UNKNOWN }, { deps: { bucket: [bucket] }, parent: bucket });

  it("gives resource policies the inputs, options and type helpers", async () => {
    const seen: ResourceValidationArgs[] = [];
    await evaluatePolicies(plan([bucket]), [
      { name: "probe", policies: [{ name: "probe", description: "Records its arguments.", enforcementLevel: "mandatory", validateResource: (args) => void seen.push(args) }] },
    ]);
    const args = seen.find((a) => a.type === "aws:s3/bucket:Bucket");
    expect(args?.props).toEqual({ bucket: "data", tags: { team: "platform" } });
    expect(args?.urn).toBe(bucket.urn);
    expect(args?.name).toBe("b");
    expect(args?.opts.protect).toBe(true);
    expect(args?.isType(aws.s3.Bucket)).toBe(true);
    expect(args?.asType(aws.kms.Key)).toBeUndefined();
    expect(args?.getConfig()).toEqual({});
  });

  it("gives stack policies every resource joined by parent and property dependencies, and the outputs on the stack", async () => {
    let resources: PolicyResource[] = [];
    const probe: StackValidationPolicy = { name: "probe", description: "Records its arguments.", validateStack: (args) => void (resources = args.resources) };
    await evaluatePolicies(plan([bucket, block], { bucketName: "data" }), [{ policies: [probe] }]);
    const view = resources.find((r) => r.name === "b-block");
    expect(view?.parent?.name).toBe("b");
    expect(view?.propertyDependencies.bucket?.map((r) => r.name)).toEqual(["b"]);
    expect(view?.dependencies.map((r) => r.name)).toEqual(["b"]);
    expect(resources.find((r) => r.type === "pulumi:pulumi:Stack")?.props).toEqual({ bucketName: "data" });
  });

  it("turns a read of an unknown value into an advisory note and never fails the run", async () => {
    const reads = { name: "reads-bucket", description: "Reads the bucket.", enforcementLevel: "mandatory" as const, validateResource: (args: ResourceValidationArgs) => void args.props.bucket };
    const found = await evaluatePolicies(plan([block]), [{ name: "team", version: "2.0.0", policies: [reads] }]);
    expect(found).toEqual([
      {
        policyPack: "team",
        policyName: "reads-bucket",
        enforcementLevel: "advisory",
        resource: block.urn,
        type: block.type,
        message: "can't run policy 'reads-bucket' from policy pack 'team@v2.0.0' during preview: string value at .bucket can't be known during preview",
      },
    ]);
  });

  it("fails on a policy that throws an error of its own, naming it", async () => {
    const broken = { name: "broken", description: "Throws.", validateResource: () => { throw new Error("boom"); } };
    await expect(evaluatePolicies(plan([bucket]), [{ name: "team", policies: [broken] }])).rejects.toThrow(
      new PolicyPackError(`Error validating resource ${plan([]).resources[0]?.urn} with policy 'broken' from policy pack 'team@v0.0.0': boom`),
    );
  });

  it("reconciles enforcement as the CLI does: schema defaults, 'all', per policy, disabled", async () => {
    const says = (name: string) => ({ name, description: "Always reports.", enforcementLevel: "mandatory" as const, validateStack: (_: unknown, report: (m: string) => void) => report(name) });
    const levels = async (config: PolicyPackConfig) => (await evaluatePolicies(plan([]), [{ policies: [says("a"), says("b")], config }])).map((v) => `${v.policyName}:${v.enforcementLevel}`);
    expect(await levels({})).toEqual(["a:mandatory", "b:mandatory"]);
    expect(await levels({ all: "advisory" })).toEqual(["a:advisory", "b:advisory"]);
    expect(await levels({ all: "advisory", b: { enforcementLevel: "mandatory" } })).toEqual(["b:mandatory", "a:advisory"]);
    expect(await levels({ a: "disabled" })).toEqual(["b:mandatory"]);
  });

  it("refuses an invalid enforcement level and config that breaks a policy's schema", async () => {
    await expect(evaluatePolicies(plan([]), [{ policies: projectRules, config: { "s3-tls-only": "strict" } as unknown as PolicyPackConfig }])).rejects.toThrow(
      'policy pack config: s3-tls-only: "strict" is not a valid enforcement level',
    );
    await expect(evaluatePolicies(plan([]), [{ name: "gitops-platform", policies: projectRules, config: { "kms-rotation-deletion-window": { minimumDeletionWindowDays: 3 } } }])).rejects.toThrow(
      "policy pack gitops-platform: invalid config:\n  - kms-rotation-deletion-window: minimumDeletionWindowDays must be >= 7",
    );
  });

  it("validates every policy's config as the CLI does: what a config sets, what a schema requires, and a schema's own defaults", async () => {
    const needs = {
      name: "needs-owner",
      description: "Needs an owner.",
      configSchema: { properties: { owner: { type: "string" as const, minLength: 1 } }, required: ["owner"] },
      validateStack: () => undefined,
    };
    await expect(evaluatePolicies(plan([]), [{ name: "team", policies: [needs] }])).rejects.toThrow("policy pack team: invalid config:\n  - needs-owner: (root) must have required property 'owner'");
    await expect(evaluatePolicies(plan([]), [{ name: "team", policies: [needs], config: { "needs-owner": { owner: "" } } }])).rejects.toThrow(
      "policy pack team: invalid config:\n  - needs-owner: owner must NOT have fewer than 1 characters",
    );
    await expect(evaluatePolicies(plan([]), [{ name: "team", policies: [needs], config: { "needs-owner": { owner: "platform" } } }])).resolves.toEqual([]);
    // pulumi/pulumi pkg/resource/analyzer/config.go validatePolicyPackConfig: every policy with a
    // schema, over its defaults and the config applied on top, so a default the schema refuses fails
    // there even when no config mentions the policy.
    const window = {
      name: "window",
      description: "A window of days.",
      configSchema: { properties: { days: { type: "integer" as const, minimum: 7, default: 3 } } },
      validateStack: () => undefined,
    };
    await expect(evaluatePolicies(plan([]), [{ name: "team", policies: [window] }])).rejects.toThrow("policy pack team: invalid config:\n  - window: days must be >= 7");
    await expect(evaluatePolicies(plan([]), [{ name: "team", policies: [window], config: { window: "advisory" } }])).rejects.toThrow("policy pack team: invalid config:\n  - window: days must be >= 7");
    await expect(evaluatePolicies(plan([]), [{ name: "team", policies: [window], config: { window: { days: 7 } } }])).resolves.toEqual([]);
  });

  it("refuses a policy whose config schema is malformed, naming it, whether or not a config mentions it", async () => {
    const malformed = (schema: Record<string, unknown>) => ({
      name: "malformed",
      description: "A malformed schema.",
      configSchema: { properties: { x: schema } } as never,
      validateStack: () => undefined,
    });
    await expect(evaluatePolicies(plan([]), [{ name: "team", policies: [malformed({ type: "strin" })] }])).rejects.toThrow(
      "policy pack team: invalid config:\n  - malformed: invalid config schema: type must be JSONType or JSONType[]: strin",
    );
    await expect(evaluatePolicies(plan([]), [{ name: "team", policies: [malformed({ type: "integer", minimum: "7" })] }])).rejects.toThrow(
      'policy pack team: invalid config:\n  - malformed: invalid config schema: minimum value must be ["number"]',
    );
  });

  it("finds every default of this project's policies valid against its own schema", async () => {
    await expect(evaluatePolicies(plan([]), [{ name: "gitops-platform", policies: projectRules }])).resolves.toEqual([]);
  });
});

describe("other policy packs", () => {
  it("loads a pack from its directory without starting its analyzer server", () => {
    const pack = loadPolicyPack(extraPack);
    expect(pack).toMatchObject({ name: "extra-pack", version: "1.2.3", enforcementLevel: "mandatory", initialConfig: { "max-buckets": { max: 3 } } });
    expect(pack.policies.map((p) => p.name)).toEqual(["required-tags", "max-buckets"]);
  });

  it("evaluates a pack directory with its initial config and a --policy-pack-config", async () => {
    const buckets = ["a", "b", "c", "d"].map((name) => res("aws:s3/bucket:Bucket", name, { tags: name === "a" ? { team: "x" } : {} }));
    const found = await evaluatePolicies(plan(buckets), [{ policies: extraPack, config: { "required-tags": "advisory" } }]);
    expect(found.map((v) => `${v.policyPack} ${v.policyName} ${v.enforcementLevel} ${v.resource?.split("::").pop() ?? "-"}: ${v.message}`)).toEqual([
      "extra-pack max-buckets advisory -: 4 buckets, at most 3 allowed",
      "extra-pack required-tags advisory b: bucket has no team tag",
      "extra-pack required-tags advisory c: bucket has no team tag",
      "extra-pack required-tags advisory d: bucket has no team tag",
    ]);
  });

  it("loads this project's own pack entry the way the CLI would, with every rule", () => {
    const pack = loadPolicyPack(path.join(root, "policies"));
    expect(pack.name).toBe("gitops-platform");
    expect(pack.version).toBe("0.1.0");
    expect(pack.policies.map((p) => p.name)).toEqual(projectRules.map((p) => p.name));
  });

  it("refuses a directory that is not a pack, and an entry with two packs", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pack-"));
    expect(() => loadPolicyPack(dir)).toThrow(`${dir}: not a policy pack (no PulumiPolicy.yaml)`);
    fs.writeFileSync(path.join(dir, "PulumiPolicy.yaml"), "runtime: nodejs\n");
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "two", version: "1.0.0" }));
    fs.writeFileSync(path.join(dir, "index.js"), 'const { PolicyPack } = require("@pulumi/policy");\nnew PolicyPack("one", { policies: [] });\nnew PolicyPack("two", { policies: [] });\n');
    expect(() => loadPolicyPack(dir)).toThrow(`${dir}: index.js must construct exactly one PolicyPack, it constructed 2`);
    fs.rmSync(dir, { recursive: true });
  });
});

describe("plan with the policy packs", () => {
  async function run(argv: string[]) {
    let stdout = "";
    let stderr = "";
    const code = await main(argv, { cwd: root, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
    return { code, stdout, stderr };
  }
  const insecure = path.join(__dirname, "..", "fixtures", "programs", "insecure.ts");

  it("exits 1 on a mandatory violation and lists it in --json", async () => {
    const { code, stdout, stderr } = await run(["--stack", "staging", "--entry", insecure, "--json"]);
    expect(stderr).toBe("");
    expect(code).toBe(1);
    const doc = JSON.parse(stdout) as { policyViolations: { policyName: string; enforcementLevel: string; resource?: string; type?: string; message: string }[] };
    expect(doc.policyViolations).toContainEqual({
      policyPack: "gitops-platform",
      policyName: "sg-no-world-admin-ports",
      enforcementLevel: "mandatory",
      resource: "urn:pulumi:staging::gitops-platform::aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::ssh",
      type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
      message: "rule lets 0.0.0.0/0 reach port 22 (tcp 22)",
    });
    expect(doc.policyViolations.map((v) => v.policyName)).toEqual(expect.arrayContaining(["github-deploy-key-unique", "s3-no-public-principal"]));
  });

  it("groups the verdicts by level in the text output", async () => {
    const { code, stdout } = await run(["--stack", "staging", "--entry", insecure]);
    expect(code).toBe(1);
    const verdicts = stdout.slice(stdout.indexOf("Policy violations"));
    expect(verdicts.indexOf("Policy violations, mandatory (")).toBe(0);
    expect(verdicts.indexOf("Policy violations, advisory (")).toBeGreaterThan(0);
  });

  it("exits 0 when only advisory violations remain", async () => {
    const { code, stdout } = await run(["--stack", "staging", "--entry", insecure, "--no-policy", "--policy-pack", extraPack, "--policy-pack-config", path.join(__dirname, "..", "fixtures", "policy-packs", "extra-advisory.json")]);
    expect(code).toBe(0);
    expect(stdout).toContain("Policy violations, advisory (1):\n    [extra-pack] required-tags  urn:pulumi:staging::gitops-platform::aws:s3/bucket:Bucket::public\n        bucket has no team tag\n");
  });

  it("reports a missing pack directory as a usage error", async () => {
    const { code, stderr } = await run(["--stack", "staging", "--policy-pack", "no/such/pack"]);
    expect(code).toBe(2);
    expect(stderr).toBe("plan: --policy-pack no/such/pack: no such directory\n");
  });
});

describe("parity with the CrossGuard analyzer", () => {
  it("reports what this pack's own analyzer server reports for the same run, unknown values included", async () => {
    const result = await runProgram({
      stack: "staging",
      config: { "aws:region": "eu-west-1" },
      program: () => {
        insecureProgram();
        // Its document names the bucket's ARN, unknown until the bucket exists.
        const logs = new aws.s3.Bucket("logs", {});
        new aws.s3.BucketPolicy("logs", { bucket: logs.id, policy: pulumi.jsonStringify({ Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: logs.arn }] }) });
      },
    });
    // The config the stack runs with (its kind's: no policies/config/staging.json), as the workflows
    // hand it to the CLI's analyzer (--policy-pack-config, from stack-settings' policy-config).
    const pack = projectPolicyPack("staging", root);
    const config = JSON.parse(fs.readFileSync(pack.config as string, "utf8")) as Record<string, unknown>;
    const server = await analyzeWithServer({ packDir: path.join(root, "policies"), config, result, isUnknown });
    const ours = await evaluatePolicies(result, [pack]);
    const line = (v: { enforcementLevel: string; policyName: string; urn?: string; message: string }) => `${v.enforcementLevel} ${v.policyName} ${v.urn ?? "-"}: ${v.message}`;
    const fromServer = server.map(line).sort();
    expect(fromServer.filter((l) => l.includes("can't be known during preview"))).toHaveLength(2);
    expect(ours.map((v) => line({ ...v, ...(v.resource ? { urn: v.resource } : {}) })).sort()).toEqual(fromServer);
  });
});
