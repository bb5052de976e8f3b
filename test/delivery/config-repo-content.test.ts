// Every path the program tells Flux to read exists in the shipped content and builds with
// `kubectl kustomize`: the FluxInstance's sync path (clusters/<env>, this repository), each app
// Kustomization's path in the example app layout (examples/app), and image automation's update path.
// Then the image contract end to end: the tag file the automation rewrites is the one the app's
// Kustomization substitutes, and the app's manifests build into namespaced objects whose image is
// the app's repository at that tag.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadAll } from "js-yaml";
import { describe, expect, it } from "vitest";
import { TENANT_RULES } from "../../components/k8s/app-source";
import { valueAt } from "../../tools/engine";
import { main } from "../../tools/plan/main";
import { main as checkTagChanges } from "../../tools/ci/check-tag-changes";
import { ConfigRepo, setTag, tagFile, tagOf } from "../support/config-repo-git";
import { STACKS } from "../support/stacks";

const root = path.resolve(__dirname, "..", "..");
/** The example app repository every configured app's layout follows. */
const EXAMPLE_APP = path.join(root, "examples", "app");

type Json = Record<string, unknown>;
interface PlanResource {
  type: string;
  inputs: Json;
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: Json;
}

async function plan(stack: string): Promise<PlanResource[]> {
  let text = "";
  const code = await main(["--stack", stack, "--json"], { cwd: root, stdout: (t) => (text += t), stderr: () => undefined });
  expect(code).toBe(0);
  return (JSON.parse(text) as { resources: PlanResource[] }).resources;
}

/** `kubectl kustomize DIR`, parsed; a build error fails the test with kustomize's message. */
function kustomize(dir: string): K8sObject[] {
  return loadAll(kustomizeText(dir)) as K8sObject[];
}

function kustomizeText(dir: string): string {
  try {
    return execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new Error("kubectl not found: these checks build kustomizations with `kubectl kustomize` (offline); install kubectl");
    throw error;
  }
}

/** A repository path as Flux takes it (`./x/y` or `x/y`), resolved inside `base`, refusing escapes. */
function inside(base: string, fluxPath: string): string {
  const resolved = path.resolve(base, fluxPath);
  expect(resolved.startsWith(`${base}${path.sep}`), `${fluxPath} stays inside ${base}`).toBe(true);
  return resolved;
}

/** Flux's postBuild substitution (`${VAR}`), strict: every variable must be defined. */
function substitute(text: string, vars: Record<string, string>): { text: string; undefinedVars: string[] } {
  const undefinedVars: string[] = [];
  const out = text.replace(/\$\{([_a-zA-Z][_a-zA-Z0-9]*)\}/g, (_, name: string) => {
    const value = vars[name];
    if (value === undefined) undefinedVars.push(name);
    return value ?? "";
  });
  return { text: out, undefinedVars };
}

const ofKind = (resources: PlanResource[], kind: string) => resources.filter((r) => r.type.startsWith("kubernetes:") && r.inputs.kind === kind);
const nameOf = (r: PlanResource) => String(valueAt(r.inputs, "metadata.name"));

// Kinds the example app ships; all namespaced. Anything else needs a look at tenancy first.
/** The API resource (plural) of each kind an app may ship, as RBAC rules name them. */
const RESOURCE_OF_KIND: Record<string, string> = {
  Deployment: "deployments",
  Service: "services",
  ConfigMap: "configmaps",
  ServiceAccount: "serviceaccounts",
  HorizontalPodAutoscaler: "horizontalpodautoscalers",
  PodDisruptionBudget: "poddisruptionbudgets",
  Ingress: "ingresses",
};
const NAMESPACED_KINDS = new Set(["Deployment", "Service", "ConfigMap", "ServiceAccount", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress"]);

describe.each(STACKS)("what the %s stack tells Flux to read", async (stack) => {
  const resources = await plan(stack);
  const instance = ofKind(resources, "FluxInstance")[0];
  const fluxNamespace = String(valueAt(instance?.inputs, "metadata.namespace"));
  const syncPath = String(valueAt(instance?.inputs, "spec.sync.path"));
  const synced = kustomize(inside(root, syncPath));
  const apps = ofKind(resources, "Kustomization");

  it("syncs clusters/<env>, which exists and builds", () => {
    expect(syncPath).toBe(`clusters/${stack}`);
    expect(fs.existsSync(path.join(root, syncPath, "kustomization.yaml"))).toBe(true);
    expect(synced.length).toBeGreaterThan(0);
  });

  it("syncs an image-tag ConfigMap in the Flux namespace for every app it reconciles, and nothing else of an app's", () => {
    expect(apps.map(nameOf).sort()).toEqual(["orders", "payments"]);
    for (const app of apps) {
      const tagMap = String((valueAt(app.inputs, "spec.postBuild.substituteFrom") as { name: string }[])[1]?.name);
      const found = synced.filter((o) => o.kind === "ConfigMap" && o.metadata.name === tagMap);
      expect(found, `${nameOf(app)}: ConfigMap ${tagMap} in ${syncPath}`).toHaveLength(1);
      expect(found[0]?.metadata.namespace).toBe(fluxNamespace);
      expect(found[0]?.data?.IMAGE_TAG).toMatch(/^[\w][\w.-]{0,127}$/);
      // Without the watch label the app would pick up a new tag only at its next interval.
      expect(found[0]?.metadata.labels?.["reconcile.fluxcd.io/watch"]).toBe("Enabled");
    }
  });

  it("points each app Kustomization at a path of the example app layout that exists and builds into namespaced objects only", () => {
    for (const app of apps) {
      const appPath = String(valueAt(app.inputs, "spec.path"));
      expect(appPath).toBe(`./deploy/${stack}`);
      const built = kustomize(inside(EXAMPLE_APP, appPath));
      expect(built.length, appPath).toBeGreaterThan(0);
      for (const object of built) {
        expect(NAMESPACED_KINDS.has(object.kind), `${appPath}: ${object.kind} ${object.metadata.name}`).toBe(true);
        // The app applies as its tenant Role: every kind it ships must be one the Role lets it create.
        const group = object.apiVersion.includes("/") ? object.apiVersion.split("/")[0] : "";
        const resource = RESOURCE_OF_KIND[object.kind];
        expect(
          TENANT_RULES.some((rule) => rule.apiGroups.includes(group ?? "") && rule.resources.includes(resource ?? "") && rule.verbs.includes("create") && rule.verbs.includes("patch")),
          `${appPath}: ${object.kind} ${object.metadata.name} (${group}/${resource}) is not in the tenant Role`,
        ).toBe(true);
        // targetNamespace places everything; a namespace in the manifests would only mislead.
        expect(object.metadata.namespace, `${appPath}: ${object.kind} ${object.metadata.name}`).toBeUndefined();
      }
    }
  });

  it("substitutes every variable the app's manifests use, and runs the app's repository at the synced tag", () => {
    const metadata = ofKind(resources, "ConfigMap").find((r) => nameOf(r) === "platform-metadata");
    for (const app of apps) {
      const postBuild = valueAt(app.inputs, "spec.postBuild") as { substitute: Record<string, string>; substituteFrom: { kind: string; name: string }[] };
      expect(postBuild.substituteFrom.map((s) => s.name)).toEqual(["platform-metadata", `${nameOf(app)}-image`]);
      expect(Object.keys(postBuild.substitute)).toEqual(["IMAGE_REPOSITORY"]);
      const tags = synced.find((o) => o.kind === "ConfigMap" && o.metadata.name === `${nameOf(app)}-image`)?.data ?? {};
      // The repository URL is a provider output (unknown offline); a stand-in shows where it lands.
      const repository = `registry.example/${stack}/${nameOf(app)}`;
      const vars = { ...(valueAt(metadata?.inputs, "data") as Record<string, string>), ...tags, ...postBuild.substitute, IMAGE_REPOSITORY: repository };
      const built = kustomizeText(inside(EXAMPLE_APP, String(valueAt(app.inputs, "spec.path"))));
      const { text, undefinedVars } = substitute(built, vars);
      expect(undefinedVars, nameOf(app)).toEqual([]);
      const deployment = (loadAll(text) as K8sObject[]).find((o) => o.kind === "Deployment");
      expect(valueAt(deployment, "spec.template.spec.containers")).toMatchObject([{ image: `${repository}:${tags.IMAGE_TAG}` }]);
    }
  });

  it("automates images in staging only, rewriting exactly the tag lines the apps substitute", () => {
    const automations = ofKind(resources, "ImageUpdateAutomation");
    const policies = ofKind(resources, "ImagePolicy");
    expect(automations.map(nameOf)).toEqual(stack === "staging" ? ["orders"] : []);
    for (const automation of automations) {
      const updatePath = inside(root, String(valueAt(automation.inputs, "spec.update.path")));
      const selector = valueAt(automation.inputs, "spec.policySelector.matchLabels") as Record<string, string>;
      const selected = policies.filter((p) => Object.entries(selector).every(([k, v]) => (valueAt(p.inputs, "metadata.labels") as Record<string, string>)[k] === v));
      expect(selected.map(nameOf)).toEqual([nameOf(automation)]);
      // The update path is part of every environment's sync: promotion carries the bumps to prod.
      expect(kustomize(inside(root, "clusters/prod")).map((o) => o.metadata.name)).toContain(`${nameOf(automation)}-image`);
      for (const policy of selected) {
        const marker = `{"$imagepolicy": "${fluxNamespace}:${nameOf(policy)}:tag"}`;
        const lines = fs
          .readdirSync(updatePath)
          .flatMap((file) => fs.readFileSync(path.join(updatePath, file), "utf8").split("\n").map((line) => ({ file, line })))
          .filter(({ line }) => line.includes(marker));
        // Any tag: the automation's own commits change it, and this test runs on their pull request.
        expect(lines.map(({ file }) => file)).toEqual([`${nameOf(policy)}-image.yaml`]);
        expect(lines[0]?.line.trim()).toMatch(new RegExp(`^IMAGE_TAG: "[\\w][\\w.-]{0,127}" # ${marker.replace(/[$^{}"]/g, (c) => `\\${c}`)}$`));
      }
    }
  });
});

describe("the shipped tag files", () => {
  it("mark only the apps the staging stack automates, so no marker waits on a policy that does not exist", async () => {
    const staging = await plan("staging");
    const expected = ofKind(staging, "ImagePolicy").map((p) => `${String(valueAt(p.inputs, "metadata.namespace"))}:${nameOf(p)}:tag`);
    const markers = fs
      .readdirSync(path.join(root, "clusters", "base"))
      .flatMap((file) => [...fs.readFileSync(path.join(root, "clusters", "base", file), "utf8").matchAll(/\{"\$imagepolicy": "([^"]+)"\}/g)].map((m) => m[1]));
    expect(expected).toEqual(["flux-system:orders:tag"]);
    expect(markers.sort()).toEqual(expected.sort());
  });

  it("the build check can fail: a path that does not build is reported", () => {
    expect(() => kustomize(path.join(root, "clusters", "no-such-environment"))).toThrow(/no-such-environment/);
  });
});

describe("image tags through promotion (real git): tag lines change only on staging", () => {
  const PUSH = "image-updates/staging";
  const ORDERS = "flux-system:orders";

  it("ten promotions with automated bumps, urgent releases, a rollback and non-tag hotfixes in prod: no conflict, prod runs staging's tags", () => {
    const repo = new ConfigRepo({ deleteHeadOnMerge: true });
    try {
      let minor = 0;
      for (let round = 1; round <= 10; round++) {
        // Image automation in staging, merged by its pull request.
        minor += 1;
        expect(repo.automate(PUSH, "staging", { [ORDERS]: `1.${minor}.0` })).toBe(true);
        repo.merge(PUSH, "staging");
        if (round % 3 === 0) {
          // An urgent image fix is a new release: staging takes it first, and it is promoted at once.
          expect(repo.automate(PUSH, "staging", { [ORDERS]: `1.${minor}.1` })).toBe(true);
          repo.merge(PUSH, "staging");
        }
        if (round === 7) {
          // Rollback: automation of orders suspended (no run), the previous tag set on staging by pull request.
          repo.change("rollback-orders", "staging", { [tagFile("orders")]: setTag(`1.${minor - 1}.0`) });
          repo.merge("rollback-orders", "staging");
        }
        repo.merge("staging", "prod");
        expect(tagOf(repo.read("prod", tagFile("orders"))), `round ${round}`).toBe(tagOf(repo.read("staging", tagFile("orders"))));
        if (round % 2 === 0) {
          // A hotfix that is not a tag: a pull request to prod, then the back-merge prod -> staging.
          repo.change(`hotfix-${round}`, "prod", { "clusters/prod/kustomization.yaml": (text) => `${text}# hotfix ${round}\n` });
          repo.merge(`hotfix-${round}`, "prod");
          repo.merge("prod", "staging");
        }
      }
      expect(tagOf(repo.read("prod", tagFile("orders")))).toBe("1.10.0");
      expect(repo.read("staging", "clusters/prod/kustomization.yaml")).toBe(repo.read("prod", "clusters/prod/kustomization.yaml"));
      expect(repo.read("prod", tagFile("orders"))).toContain(`{"$imagepolicy": "${ORDERS}:tag"}`);
    } finally {
      repo.remove();
    }
  }, 120_000);

  it("a tag changed on prod alone conflicts with the next automated bump at promotion (why prod never edits a tag line)", () => {
    const repo = new ConfigRepo({ deleteHeadOnMerge: true });
    try {
      repo.change("hotfix", "prod", { [tagFile("orders")]: setTag("1.0.1") });
      repo.merge("hotfix", "prod");
      expect(repo.automate(PUSH, "staging", { [ORDERS]: "1.1.0" })).toBe(true);
      repo.merge(PUSH, "staging");
      expect(() => repo.merge("staging", "prod")).toThrow(
        new Error("pull request staging -> prod: merge conflict: CONFLICT (content): Merge conflict in clusters/base/orders-image.yaml"),
      );
    } finally {
      repo.remove();
    }
  });
});

describe("check-tag-changes: the pull request check that keeps tags on the promotion road", () => {
  const collect = () => {
    const out = { stdout: "", stderr: "" };
    return { out, sinks: { stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t) } };
  };

  it("fails a pull request into prod that changes a tag line, passes a promotion and a hotfix that changes none", async () => {
    const repo = new ConfigRepo({ deleteHeadOnMerge: true });
    try {
      repo.change("hotfix-tag", "prod", { [tagFile("orders")]: setTag("1.0.1") });
      let run = collect();
      expect(await checkTagChanges(["prod", "hotfix-tag", "staging"], repo.origin, run.sinks)).toBe(1);
      expect(run.out.stderr).toBe(
        'clusters/base/orders-image.yaml: IMAGE_TAG "1.0.0" -> "1.0.1": changed outside staging; image tags change upstream and reach a production environment only by promotion (docs/apps.md, "The rule for tags")\n',
      );

      repo.change("hotfix-config", "prod", { "clusters/prod/kustomization.yaml": (text) => `${text}# hotfix\n` });
      run = collect();
      expect(await checkTagChanges(["prod", "hotfix-config", "staging"], repo.origin, run.sinks)).toBe(0);
      expect(run.out).toEqual({ stdout: "check-tag-changes: hotfix-config changes no image tag\n", stderr: "" });

      expect(repo.automate("image-updates/staging", "staging", { "flux-system:orders": "1.1.0" })).toBe(true);
      repo.merge("image-updates/staging", "staging");
      run = collect();
      expect(await checkTagChanges(["prod", "staging", "staging"], repo.origin, run.sinks)).toBe(0);
      expect(run.out.stdout).toBe("check-tag-changes: staging is part of staging: a promotion carries its tags\n");

      // A branch that adds its own tag change on top of staging is not a promotion, whatever its name.
      repo.change("staging-plus", "staging", { [tagFile("orders")]: setTag("9.9.9") });
      run = collect();
      expect(await checkTagChanges(["prod", "staging-plus", "staging"], repo.origin, run.sinks)).toBe(1);
      expect(run.out.stderr).toContain('clusters/base/orders-image.yaml: IMAGE_TAG "1.0.0" -> "9.9.9": changed outside staging');

      run = collect();
      expect(await checkTagChanges(["prod", "staging"], repo.origin, run.sinks)).toBe(2);
      expect(run.out.stderr).toBe("usage: check-tag-changes <base> <head> <upstream>\n");
    } finally {
      repo.remove();
    }
  });
});
