import { describe, expect, it } from "vitest";
import * as path from "node:path";
import * as fs from "node:fs";
import * as os from "node:os";
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as tls from "@pulumi/tls";
import * as k8s from "@pulumi/kubernetes";
import { findResource, isUnknown, maskedInputs, maskedOutputs, resourcesOfType, runProgram, loadStackConfig, UNKNOWN } from "../../tools/engine";
import { kubernetesObjects } from "../../tools/plan/render";

const base = { stack: "dev", config: { "aws:region": "eu-west-1" } };

describe("offline engine", () => {
  it("records type, name, parent, inputs and options of every registration", async () => {
    const result = await runProgram({
      ...base,
      program: () => {
        class Box extends pulumi.ComponentResource {
          constructor(name: string) {
            super("test:index:Box", name, {});
            new aws.s3.Bucket(`${name}-bucket`, { bucketPrefix: "logs-" }, { parent: this, protect: true, retainOnDelete: true });
            this.registerOutputs({});
          }
        }
        new Box("box");
      },
    });
    expect(result.resources.map((r) => `${r.type}::${r.name}`)).toEqual([
      "pulumi:pulumi:Stack::gitops-platform-dev",
      "test:index:Box::box",
      "aws:s3/bucket:Bucket::box-bucket",
    ]);
    const bucket = findResource(result, "aws:s3/bucket:Bucket", "box-bucket");
    expect(bucket.parent).toBe("urn:pulumi:dev::gitops-platform::test:index:Box::box");
    expect(bucket.urn).toBe("urn:pulumi:dev::gitops-platform::test:index:Box$aws:s3/bucket:Bucket::box-bucket");
    expect(findResource(result, "test:index:Box", "box").parent).toBe("urn:pulumi:dev::gitops-platform::pulumi:pulumi:Stack::gitops-platform-dev");
    expect(bucket.custom).toBe(true);
    expect(bucket.inputs.bucketPrefix).toBe("logs-");
    expect(bucket.protect).toBe(true);
    expect(bucket.retainOnDelete).toBe(true);
  });

  it("keeps provider-computed values unknown in preview and never shows secrets", async () => {
    const result = await runProgram({
      ...base,
      program: () => {
        const key = new tls.PrivateKey("key", { algorithm: "ED25519" }, { additionalSecretOutputs: ["privateKeyPem"] });
        const bucket = new aws.s3.Bucket("bucket", {});
        new aws.s3.BucketPolicy("policy", { bucket: bucket.id, policy: pulumi.secret("{}") });
        return { publicKey: key.publicKeyOpenssh, arn: bucket.arn, token: pulumi.secret("t0ken") };
      },
    });
    const policy = findResource(result, "aws:s3/bucketPolicy:BucketPolicy", "policy");
    expect(isUnknown(policy.inputs.bucket)).toBe(true);
    expect(policy.inputs.policy).toBe("{}");
    expect(policy.secretPaths).toEqual(["policy"]);
    expect(maskedInputs(policy)).toEqual({ bucket: "[unknown]", policy: "[secret]" });
    expect(policy.propertyDependencies.bucket).toEqual([findResource(result, "aws:s3/bucket:Bucket", "bucket").urn]);
    expect(findResource(result, "tls:index/privateKey:PrivateKey", "key").additionalSecretOutputs).toContain("privateKeyPem");
    expect(maskedOutputs(result)).toEqual({ publicKey: "[unknown]", arn: "[unknown]", token: "[secret]" });
    expect(result.outputs.token).toBe("t0ken");
    expect(result.outputs.arn).toBe(UNKNOWN);
  });

  it("answers getCluster offline and fails loudly on an invoke nobody answers", async () => {
    const result = await runProgram({
      ...base,
      program: () => ({ vpc: aws.eks.getClusterOutput({ name: "c1" }).vpcConfig.vpcId }),
    });
    expect(result.outputs.vpc).toBe("vpc-0ff11e000000000000");
    await expect(runProgram({ ...base, program: () => ({ id: aws.getCallerIdentityOutput().accountId }) })).rejects.toThrow(
      "offline engine: no answer for invoke aws:index/getCallerIdentity:getCallerIdentity; add one to tools/engine/invokes.ts or avoid the call",
    );
  });

  it("feeds config and secret keys to the program", async () => {
    const result = await runProgram({
      stack: "dev",
      config: { "proj:apps": [{ name: "a" }], "proj:token": "s3cr3t" },
      secretKeys: ["proj:token"],
      project: "proj",
      program: () => {
        const config = new pulumi.Config();
        return { apps: config.requireObject<unknown[]>("apps"), token: config.requireSecret("token") };
      },
    });
    expect(result.project).toBe("proj");
    expect(maskedOutputs(result)).toEqual({ apps: [{ name: "a" }], token: "[secret]" });
  });

  it("runs entry files: top-level TypeScript and exported functions", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-"));
    const topLevel = path.join(dir, "top.ts");
    fs.writeFileSync(topLevel, `import * as aws from "@pulumi/aws";\nimport { prefix } from "./lib";\nconst b = new aws.s3.Bucket("b", { bucketPrefix: prefix });\nexport const name: string = "n";\n`);
    fs.writeFileSync(path.join(dir, "lib.ts"), `export const prefix: string = "p-";\n`);
    const fn = path.join(dir, "fn.js");
    fs.writeFileSync(fn, `module.exports = async () => ({ answer: 42 });\n`);
    const first = await runProgram({ ...base, program: topLevel });
    expect(findResource(first, "aws:s3/bucket:Bucket", "b").inputs.bucketPrefix).toBe("p-");
    expect(first.outputs).toEqual({ name: "n" });
    const again = await runProgram({ ...base, program: topLevel });
    expect(resourcesOfType(again, "aws:s3/bucket:Bucket")).toHaveLength(1);
    expect((await runProgram({ ...base, program: fn })).outputs).toEqual({ answer: 42 });
    const defaultExport = path.join(dir, "default.ts");
    fs.writeFileSync(defaultExport, `export default async (): Promise<{ region: string }> => ({ region: "from-default" });\n`);
    expect((await runProgram({ ...base, program: defaultExport })).outputs).toEqual({ region: "from-default" });
  });

  it("caches the bundles of the project's own entry files only, never of a temporary one", async ({ onTestFinished }) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-cache-"));
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    const entry = path.join(dir, "index.ts");
    fs.writeFileSync(entry, "export const n: number = 1;\n");
    const cached = (file: string) => {
      // tools/build/bundle.mts names an entry's cache files by this hash (format 1).
      const key = createHash("sha256").update(`1\0${file}`).digest("hex").slice(0, 32);
      return fs.existsSync(path.join(__dirname, "..", "..", "node_modules", ".cache", "gitops-platform", "bundles", `${key}.js`));
    };
    expect((await runProgram({ ...base, program: entry })).outputs).toEqual({ n: 1 });
    expect(cached(entry)).toBe(false);
    const own = path.join(__dirname, "..", "fixtures", "programs", "bucket-and-secret.ts");
    await runProgram({ ...base, program: own });
    expect(cached(own)).toBe(true);
  });

  it("lets tests give a resource provider-computed values; without them they stay unknown", async () => {
    const program = () => ({ publicKey: new tls.PrivateKey("key", { algorithm: "ED25519" }).publicKeyOpenssh });
    expect((await runProgram({ ...base, program })).outputs.publicKey).toBe(UNKNOWN);
    const faked = await runProgram({
      ...base,
      program,
      providerOutputs: ({ type, name }) => (type === "tls:index/privateKey:PrivateKey" ? { publicKeyOpenssh: `ssh-ed25519 OFFLINE-${name}` } : undefined),
    });
    expect(faked.outputs.publicKey).toBe("ssh-ed25519 OFFLINE-key");
  });

  it("keeps the SDK's warnings as the run's diagnostics instead of printing them", async () => {
    const printed: unknown[][] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void printed.push(args);
    try {
      const result = await runProgram({ ...base, program: () => ({ missing: undefined, present: "x" }) });
      expect(result.diagnostics).toEqual(["warning: Undefined value (missing) will not show as a stack output."]);
      expect((await runProgram({ ...base, program: () => ({ present: "x" }) })).diagnostics).toBeUndefined();
    } finally {
      console.warn = warn;
    }
    expect(printed).toEqual([]);
  });

  it("surfaces the program's own error", async () => {
    await expect(
      runProgram({
        ...base,
        program: () => {
          throw new Error("bad config: gitops-platform:x: expected y");
        },
      }),
    ).rejects.toThrow("bad config: gitops-platform:x: expected y");
  });

  it("reads Pulumi.yaml defaults and stack files, secure values as opaque secrets", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: demo\nruntime: nodejs\nconfig:\n  flag:\n    type: boolean\n    default: false\n  other: 3\n");
    fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), "config:\n  aws:region: eu-west-1\n  demo:token:\n    secure: AAABAKxyz\n  demo:flag: true\n");
    const stack = loadStackConfig(dir, "dev");
    expect(stack.project).toBe("demo");
    expect(stack.main).toBe(path.join(dir, "index.ts"));
    expect(stack.config).toEqual({
      "aws:region": "eu-west-1",
      "demo:flag": true,
      "demo:other": 3,
      "demo:token": "[secret: encrypted in the stack config, not readable offline]",
    });
    expect(stack.secretKeys).toEqual(["demo:token"]);
    expect(() => loadStackConfig(dir, "nope")).toThrow(`stack config not found: ${path.join(dir, "Pulumi.nope.yaml")}`);
  });

  describe("Kubernetes YAML components, expanded as the provider registers them", () => {
    const manifests = () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-yaml-"));
      fs.mkdirSync(path.join(dir, "crds"));
      fs.writeFileSync(
        path.join(dir, "crds", "a.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: apps\ndata:\n  a: '1'\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n",
      );
      fs.writeFileSync(path.join(dir, "crds", "b.yaml"), "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\n  namespace: apps\nstringData:\n  token: s3cr3t-from-yaml\n");
      fs.writeFileSync(path.join(dir, "crds", "skip.txt"), "not yaml");
      return dir;
    };

    it("registers each object of a ConfigFile and a ConfigGroup (files, yaml, objs) as a child", async ({ onTestFinished }) => {
      const dir = manifests();
      onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
      const result = await runProgram({
        ...base,
        cwd: dir,
        program: () => {
          new k8s.yaml.v2.ConfigFile("one", { file: "crds/a.yaml" });
          new k8s.yaml.v2.ConfigGroup("group", {
            files: ["crds/*.yaml"],
            yaml: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n",
            objs: [{ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "robot", namespace: "apps" } }],
            resourcePrefix: "g",
          });
        },
      });
      expect(result.resources.map((r) => `${r.type} ${r.name}`)).toEqual([
        "pulumi:pulumi:Stack gitops-platform-dev",
        "kubernetes:yaml/v2:ConfigFile one",
        "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition one:widgets.example.com",
        "kubernetes:core/v1:ConfigMap one:apps/settings",
        "kubernetes:yaml/v2:ConfigGroup group",
        "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition g:widgets.example.com",
        "kubernetes:core/v1:Namespace g:apps",
        "kubernetes:core/v1:ConfigMap g:apps/settings",
        "kubernetes:core/v1:Secret g:apps/token",
        "kubernetes:core/v1:ServiceAccount g:apps/robot",
      ]);
      const secret = findResource(result, "kubernetes:core/v1:Secret", "g:apps/token");
      expect(secret.urn).toBe("urn:pulumi:dev::gitops-platform::kubernetes:yaml/v2:ConfigGroup$kubernetes:core/v1:Secret::g:apps/token");
      expect(secret.parent).toBe(findResource(result, "kubernetes:yaml/v2:ConfigGroup", "group").urn);
      expect(maskedInputs(secret)).toEqual({ apiVersion: "v1", kind: "Secret", metadata: { name: "token", namespace: "apps" }, stringData: { token: "[secret]" } });
      expect(kubernetesObjects(result).map((o) => o.file)).toContain("secret-apps-token.yaml");
      expect(result.unexpanded).toBeUndefined();
    });

    it("stops with an error naming a Helm chart, a missing file or an unknown input; reports a remote file as not expanded", async () => {
      await expect(runProgram({ ...base, program: () => void new k8s.helm.v4.Chart("ingress", { chart: "ingress-nginx" }) })).rejects.toThrow(
        'offline engine: cannot expand kubernetes:helm.sh/v4:Chart "ingress": rendering a Helm chart needs Helm and the chart\'s repository; the objects it would declare are not known offline',
      );
      await expect(runProgram({ ...base, cwd: os.tmpdir(), program: () => void new k8s.yaml.v2.ConfigFile("gone", { file: "no-such.yaml" }) })).rejects.toThrow(
        `offline engine: kubernetes:yaml/v2:ConfigFile "gone": file no-such.yaml not found (relative paths resolve from ${os.tmpdir()})`,
      );
      await expect(
        runProgram({ ...base, program: () => void new k8s.yaml.v2.ConfigFile("late", { file: new aws.s3.Bucket("b", {}).bucket.apply((b) => `${b}.yaml`) }) }),
      ).rejects.toThrow('offline engine: cannot expand kubernetes:yaml/v2:ConfigFile "late": its input file is unknown until deployment');
      const remote = await runProgram({ ...base, program: () => void new k8s.yaml.v2.ConfigFile("crds", { file: "https://example.invalid/crds.yaml" }) });
      expect(remote.unexpanded).toEqual([
        {
          urn: "urn:pulumi:dev::gitops-platform::kubernetes:yaml/v2:ConfigFile::crds",
          reason: "https://example.invalid/crds.yaml is fetched over the network at deploy time; the objects in it are not shown or checked offline",
        },
      ]);
    });
  });
});
