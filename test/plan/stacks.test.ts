// End to end: the real program (index.ts) for both example stacks through `plan`, as users run it.
import { afterEach, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { dump, load } from "js-yaml";
import { VENDORED_OPERATOR_VERSION } from "../../components/k8s/flux-operator";
import { findResource, loadStackConfig, runProgram, valueAt } from "../../tools/engine";
import { main } from "../../tools/plan/main";
import { renderJson, renderTree, writeKubernetesObjects } from "../../tools/plan/render";
import { fakeGithubToken } from "../support/fake-keys";
import { STACKS } from "../support/stacks";
import { EXACT_VERSION, imageParts, pinnedByDigest } from "../../policies/vocabulary";

const root = path.resolve(__dirname, "..", "..");

interface PlanDoc {
  project: string;
  stack: string;
  resources: { urn: string; type: string; name: string; parent: string | null; inputs: Record<string, unknown>; protect: boolean; retainOnDelete: boolean }[];
  outputs: Record<string, unknown>;
  policyViolations: { enforcementLevel: string; policyName: string; message: string }[];
}

async function planJson(stack: string): Promise<{ code: number; doc: PlanDoc; text: string; stderr: string }> {
  let text = "";
  let stderr = "";
  const code = await main(["--stack", stack, "--json"], { cwd: root, stdout: (t) => (text += t), stderr: (t) => (stderr += t) });
  return { code, doc: JSON.parse(text) as PlanDoc, text, stderr };
}

const ofType = (doc: PlanDoc, type: string) => doc.resources.filter((r) => r.type === type);

describe.each(STACKS)("the %s stack", (stack) => {
  it("plans cleanly: exit 0, no mandatory violation, outputs unknown or secret where only a provider knows them", async () => {
    const { code, doc, stderr } = await planJson(stack);
    expect(stderr).toBe("");
    expect(doc.policyViolations.filter((v) => v.enforcementLevel === "mandatory")).toEqual([]);
    expect(code).toBe(0);
    expect(doc.project).toBe("gitops-platform");
    expect(doc.stack).toBe(stack);
    expect(doc.outputs.bucketName).toBe("[unknown]");
    // A fixed role name: the ARN is known at preview, and the pack judges the policies naming it.
    expect(doc.outputs.previewRoleArn).toBe(`arn:aws:iam::${stack === "prod" ? "222222222222" : "111111111111"}:role/${stack}-ci-preview`);
    expect(doc.outputs.webhookUrl).toBe("[secret]");
  });

  it("never prints key material or tokens", async () => {
    const { text } = await planJson(stack);
    expect(text).not.toMatch(/PRIVATE KEY|ghp_|github_pat_/);
    for (const secret of ofType((await planJson(stack)).doc, "kubernetes:core/v1:Secret")) {
      expect(JSON.stringify(secret.inputs.stringData ?? secret.inputs.data)).toMatch(/^"\[secret\]"$|^\{("[^"]+":"\[secret\]",?)+\}$/);
    }
  });

  it("wires the reconciler to one deploy key per repository", async () => {
    const { doc } = await planJson(stack);
    const keys = ofType(doc, "github:index/repositoryDeployKey:RepositoryDeployKey");
    expect(keys.map((k) => k.inputs.repository).sort()).toEqual(["gitops-platform", "orders", "payments"]);
    const instance = ofType(doc, "kubernetes:fluxcd.controlplane.io/v1:FluxInstance")[0];
    expect(valueAt(instance?.inputs, "spec.sync")).toMatchObject({
      url: "ssh://git@github.com/acme-corp/gitops-platform.git",
      ref: `refs/heads/${stack}`,
      path: `clusters/${stack}`,
      pullSecret: "flux-system",
    });
    const secretNames = ofType(doc, "kubernetes:core/v1:Secret").map((s) => valueAt(s.inputs, "metadata.name"));
    for (const repo of ofType(doc, "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository")) {
      expect(secretNames).toContain(valueAt(repo.inputs, "spec.secretRef.name"));
    }
    expect(secretNames).toContain("flux-system");
  });
});

describe("staging and prod differ only as their configs say", () => {
  it("prod protects storage; both pin the same exact Flux; only staging automates images, on its own branch", async () => {
    const staging = (await planJson("staging")).doc;
    const prod = (await planJson("prod")).doc;
    const bucket = (doc: PlanDoc) => ofType(doc, "aws:s3/bucket:Bucket")[0];
    expect([bucket(staging)?.protect, bucket(staging)?.retainOnDelete]).toEqual([false, false]);
    expect([bucket(prod)?.protect, bucket(prod)?.retainOnDelete]).toEqual([true, true]);
    const fluxVersion = (doc: PlanDoc) => valueAt(ofType(doc, "kubernetes:fluxcd.controlplane.io/v1:FluxInstance")[0]?.inputs, "spec.distribution.version");
    expect(fluxVersion(staging)).toBe("2.7.3");
    expect(fluxVersion(prod)).toBe("2.7.3");
    const push = (doc: PlanDoc) => ofType(doc, "kubernetes:image.toolkit.fluxcd.io/v1:ImageUpdateAutomation").map((a) => valueAt(a.inputs, "spec.git.push.branch"));
    expect(push(staging)).toEqual(["image-updates/staging"]);
    expect(push(prod)).toEqual([]);
  });
});

describe("images reach prod's own registry", () => {
  it("every app prod runs has, in each stack, its own ECR repository, a CI push role and the variables the app CI template pushes with", async () => {
    const appsOf = (doc: PlanDoc) => ofType(doc, "aws:ecr/repository:Repository").map((r) => String(r.inputs.name).split("/")[1]).sort();
    const staging = (await planJson("staging")).doc;
    const prod = (await planJson("prod")).doc;
    // Prod pulls a promoted tag from its own account's registry: the release pushes it there too.
    for (const app of appsOf(prod)) expect(appsOf(staging), app).toContain(app);
    for (const [stack, doc] of [["staging", staging], ["prod", prod]] as const) {
      const suffix = stack.toUpperCase();
      for (const app of appsOf(doc)) {
        expect(ofType(doc, "aws:iam/role:Role").map((r) => r.name), `${stack} ${String(app)}`).toContain(`${stack}-ci-app-${String(app)}`);
        const variables = ofType(doc, "github:index/actionsVariable:ActionsVariable").filter((v) => v.inputs.repository === app);
        expect(variables.map((v) => v.inputs.variableName).sort(), `${stack} ${String(app)}`).toEqual([`AWS_REGION_${suffix}`, `AWS_ROLE_ARN_${suffix}`, `ECR_REPOSITORY_URL_${suffix}`]);
      }
    }
  });
});

describe("staging tests what prod runs", () => {
  it("both stack files name the same exact Flux version and the same operator release", () => {
    const reconciler = (stack: string) =>
      (load(fs.readFileSync(path.join(root, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, { flux?: { version?: unknown }; operator?: { version?: unknown } }> })
        .config["gitops-platform:reconciler"];
    const [staging, prod] = [reconciler("staging"), reconciler("prod")];
    expect(staging?.flux?.version).toMatch(EXACT_VERSION);
    expect(prod?.flux?.version).toBe(staging?.flux?.version);
    // The operator release is the vendored one in both (the default where a file leaves it out).
    expect(staging?.operator?.version ?? VENDORED_OPERATOR_VERSION).toBe(VENDORED_OPERATOR_VERSION);
    expect(prod?.operator?.version ?? VENDORED_OPERATOR_VERSION).toBe(VENDORED_OPERATOR_VERSION);
  });

  it("both stacks run the same operator image, pinned by digest", async () => {
    const image = async (stack: string) =>
      valueAt(ofType((await planJson(stack)).doc, "kubernetes:apps/v1:Deployment").find((d) => valueAt(d.inputs, "metadata.name") === "flux-operator")?.inputs, "spec.template.spec.containers.0.image");
    const [staging, prod] = [await image("staging"), await image("prod")];
    expect(imageParts(String(staging))).toMatchObject({ name: "ghcr.io/controlplaneio-fluxcd/flux-operator", tag: VENDORED_OPERATOR_VERSION });
    expect(pinnedByDigest(String(staging))).toBe(true);
    expect(prod).toBe(staging);
  });

  it("staging's image automation takes releases only, never a pre-release", () => {
    const apps = (load(fs.readFileSync(path.join(root, "Pulumi.staging.yaml"), "utf8")) as { config: Record<string, { imageAutomation?: { policy: { semver?: string } } }[]> }).config[
      "gitops-platform:apps"
    ];
    const ranges = (apps ?? []).flatMap((app) => (app.imageAutomation?.policy.semver !== undefined ? [app.imageAutomation.policy.semver] : []));
    expect(ranges).toEqual([">=1.0.0"]);
    // Masterminds/semver v3 (image-reflector-controller's): a comparator with a pre-release part
    // ("-0") admits every pre-release; without one, none.
    for (const range of ranges) expect(range).not.toMatch(/\d-/);
  });
});

describe("a bad stack config", () => {
  it("stops the real program before anything is declared: exit 1, every problem with its key path", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bad-config-"));
    const good = load(fs.readFileSync(path.join(root, "Pulumi.staging.yaml"), "utf8")) as { config: Record<string, unknown> };
    const config = structuredClone(good.config) as Record<string, Record<string, unknown>>;
    const firewall = config["gitops-platform:firewall"] as { ingress: { cidrs: string[]; fromPort: number; toPort: number }[] };
    firewall.ingress[1] = { ...firewall.ingress[1]!, cidrs: ["0.0.0.0/0"], fromPort: 22, toPort: 22 };
    (config["gitops-platform:github"] as Record<string, unknown>).owner = "acme corp";
    config["gitops-platform:storag"] = {};
    const file = path.join(dir, "Pulumi.staging.yaml");
    fs.writeFileSync(file, dump({ config }));

    let stdout = "";
    let stderr = "";
    const code = await main(["--stack", "staging", "--config", file], { cwd: root, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe(
      [
        "error: invalid stack config (3 problems):",
        "  - gitops-platform:github.owner: expected a GitHub owner login (letters, digits, single '-')",
        "  - gitops-platform:firewall.ingress[1].cidrs[0]: 0.0.0.0/0 may not reach port 22",
        "  - gitops-platform:storag: unknown key (check for a typo)",
        "",
      ].join("\n"),
    );
  });
});

describe("the GitHub token", () => {
  // Real-looking: if any path printed it, the pattern below would find it.
  const token = fakeGithubToken("R3alLook1ngT0kenAAAAAAAAAAAAAAAAAAAAA");
  const ambient = process.env.GITHUB_TOKEN;
  afterEach(() => {
    if (ambient === undefined) delete process.env.GITHUB_TOKEN;
    else process.env.GITHUB_TOKEN = ambient;
  });

  it.each(STACKS)("stays in the environment of the %s run: not in the provider's inputs, tree, JSON, --out YAML or outputs", async (stack) => {
    process.env.GITHUB_TOKEN = token;
    const loaded = loadStackConfig(root, stack);
    expect(Object.keys(loaded.config).filter((key) => /token/i.test(key))).toEqual([]);
    const result = await runProgram({ stack, config: loaded.config, secretKeys: loaded.secretKeys, program: path.join(root, "index.ts") });
    const provider = findResource(result, "pulumi:providers:github", `${stack}-github`);
    expect(provider.inputs.owner).toBe("acme-corp");
    // Empty (a secret undefined): the provider plugin reads GITHUB_TOKEN itself.
    expect(provider.inputs.token).toBeNull();

    const out = fs.mkdtempSync(path.join(os.tmpdir(), "plan-token-"));
    try {
      writeKubernetesObjects(result, out);
      const yaml = fs.readdirSync(out).map((file) => fs.readFileSync(path.join(out, file), "utf8"));
      for (const text of [renderTree(result), renderJson(result), JSON.stringify(result.outputs), JSON.stringify(result.resources), ...yaml]) {
        expect(text).not.toContain("R3alLook1ngT0ken");
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it("is refused in stack config, secret or not, with what to do instead", async () => {
    const loaded = loadStackConfig(root, "staging");
    const run = runProgram({
      stack: "staging",
      config: { ...loaded.config, "gitops-platform:githubToken": token, "github:token": token },
      secretKeys: [...loaded.secretKeys, "gitops-platform:githubToken"],
      program: path.join(root, "index.ts"),
    });
    await expect(run).rejects.toThrow(
      [
        "invalid stack config (2 problems):",
        "  - gitops-platform:githubToken: no longer read: the GitHub provider takes its token from GITHUB_TOKEN in the environment of the pulumi process (a GitHub App installation token minted per run); remove it with `pulumi config rm githubToken`",
        "  - github:token: a GitHub token in stack config outlives every run; the GitHub provider takes its token from GITHUB_TOKEN in the environment of the pulumi process (a GitHub App installation token minted per run); remove it with `pulumi config rm github:token`",
      ].join("\n"),
    );
  });
});
