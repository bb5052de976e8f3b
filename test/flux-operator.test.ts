import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { FluxOperator, vendoredOperatorCrds } from "../components/k8s/flux-operator";
import { findResource, resourcesOfType, runProgram, type PlanResult } from "../tools/engine";
import { modelErrors } from "./support/reconciler";

type Json = Record<string, unknown>;
interface Container {
  name: string;
  image: string;
  args: string[];
  securityContext: Json;
  resources: Json;
  livenessProbe: Json;
  readinessProbe: Json;
  ports: Json[];
  env: Json[];
  volumeMounts: Json[];
}

const run = (args: Partial<ConstructorParameters<typeof FluxOperator>[1]> = {}) =>
  runProgram({
    stack: "staging",
    config: {},
    program: () => {
      new FluxOperator("operator", {
        namespace: "flux-system",
        version: "v0.58.1",
        image: "ghcr.io/controlplaneio-fluxcd/flux-operator:v0.58.1",
        ...args,
      });
    },
  });
const deployment = (result: PlanResult) => findResource(result, "kubernetes:apps/v1:Deployment", "operator-deployment").inputs;
const podSpec = (result: PlanResult) => ((deployment(result).spec as Json).template as Json).spec as Json & { containers: Container[] };
const manager = (result: PlanResult) => podSpec(result).containers[0] as Container;

describe("FluxOperator", async () => {
  const result = await run();

  it("uses the correct default values (upstream's replicas, requests and limits)", () => {
    expect((deployment(result).spec as Json).replicas).toBe(1);
    // Upstream's config/manager/deployment.yaml at v0.58.1: limits cpu 2000m, memory 1Gi.
    expect(manager(result).resources).toEqual({ requests: { cpu: "10m", memory: "64Mi" }, limits: { cpu: "2000m", memory: "1Gi" } });
  });

  it("takes replicas and resources from its args", async () => {
    const custom = await run({ replicas: 2, resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } } });
    expect((deployment(custom).spec as Json).replicas).toBe(2);
    expect(manager(custom).resources).toEqual({ requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } });
  });

  it("declares each vendored CRD of the pinned release as its own resource, before the Deployment", () => {
    const crds = resourcesOfType(result, "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition");
    expect(crds.map((crd) => crd.name).sort()).toEqual([
      "operator-crd-fluxinstances.fluxcd.controlplane.io",
      "operator-crd-fluxreports.fluxcd.controlplane.io",
      "operator-crd-resourcesetinputproviders.fluxcd.controlplane.io",
      "operator-crd-resourcesets.fluxcd.controlplane.io",
    ]);
    const instance = findResource(result, "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", "operator-crd-fluxinstances.fluxcd.controlplane.io").inputs;
    expect(instance.apiVersion).toBe("apiextensions.k8s.io/v1");
    expect(instance.kind).toBe("CustomResourceDefinition");
    expect(((instance.spec as Json).names as Json).kind).toBe("FluxInstance");
    expect(((instance.spec as Json).versions as Json[]).map((v) => v.name)).toEqual(["v1"]);
    const dependencies = findResource(result, "kubernetes:apps/v1:Deployment", "operator-deployment").dependencies;
    for (const crd of crds) expect(dependencies).toContain(crd.urn);
    // Nothing fetched at deploy time: no ConfigFile or URL anywhere.
    expect(resourcesOfType(result, "kubernetes:yaml/v2:ConfigFile")).toEqual([]);
    expect(JSON.stringify(result.resources.map((r) => r.inputs))).not.toMatch(/https?:\/\/[^"]*\.yaml/);
  });

  it("refuses a release that is not vendored, and a vendored file that differs from its recorded sha256", () => {
    expect(() => vendoredOperatorCrds("v0.57.0")).toThrow(
      "Flux Operator v0.57.0 is not vendored (vendor/flux-operator holds v0.58.1); run npm run vendor:flux-operator -- v0.57.0",
    );
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), "vendor-copy-"));
    fs.cpSync(path.resolve(__dirname, "..", "vendor", "flux-operator"), copy, { recursive: true });
    expect(vendoredOperatorCrds("v0.58.1", copy)).toHaveLength(4);
    const file = path.join(copy, "v0.58.1", "fluxcd.controlplane.io_fluxreports.yaml");
    fs.appendFileSync(file, "# edited\n");
    expect(() => vendoredOperatorCrds("v0.58.1", copy)).toThrow(
      /^vendor\/flux-operator\/v0\.58\.1\/fluxcd\.controlplane\.io_fluxreports\.yaml: sha256 [0-9a-f]{64} differs from the manifest's 6ccaf1ac3fe9082ee0cecb8ae539b0a6888b089adb3f0fcfb28e869c6907b8f4 \(https:\/\/raw\.githubusercontent\.com\/controlplaneio-fluxcd\/flux-operator\/v0\.58\.1\/config\/crd\/bases\/fluxcd\.controlplane\.io_fluxreports\.yaml\)$/,
    );
    fs.rmSync(copy, { recursive: true });
  });

  it("runs the manager hardened: non-root, no escalation, no capabilities, RuntimeDefault seccomp, read-only root", () => {
    expect(manager(result).securityContext).toEqual({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    // 65532:65532 is the image's user (USER in the release's Dockerfile, distroless nonroot).
    expect(podSpec(result).securityContext).toEqual({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } });
    expect(manager(result).volumeMounts).toEqual([{ name: "temp", mountPath: "/tmp" }]);
    expect(podSpec(result).volumes).toEqual([{ name: "temp", emptyDir: {} }]);
  });

  it("probes, ports, env and args as upstream, with the web UI switched off", () => {
    const container = manager(result);
    expect(container.name).toBe("manager");
    expect(container.image).toBe("ghcr.io/controlplaneio-fluxcd/flux-operator:v0.58.1");
    expect(container.livenessProbe).toEqual({ httpGet: { path: "/healthz", port: 8081 }, initialDelaySeconds: 15, periodSeconds: 20 });
    expect(container.readinessProbe).toEqual({ httpGet: { path: "/readyz", port: 8081 }, initialDelaySeconds: 5, periodSeconds: 10 });
    expect(container.ports).toEqual([
      { containerPort: 8080, name: "http-metrics", protocol: "TCP" },
      { containerPort: 8081, name: "http", protocol: "TCP" },
    ]);
    expect(container.env).toEqual([
      { name: "RUNTIME_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      { name: "DEFAULT_SERVICE_ACCOUNT", value: "flux-operator" },
    ]);
    expect(container.args).toEqual(["--web-server-port=0"]);
    expect(podSpec(result).serviceAccountName).toBe("flux-operator");
  });

  it("applies ResourceSets that name no ServiceAccount as their namespace's flux-operator account, which holds cluster-admin only in the operator's namespace", () => {
    expect(manager(result).env).toContainEqual({ name: "DEFAULT_SERVICE_ACCOUNT", value: "flux-operator" });
    const bindings = result.resources.filter((r) => r.type.endsWith(":ClusterRoleBinding"));
    expect(bindings.map((b) => b.inputs.subjects)).toEqual([[{ kind: "ServiceAccount", name: "flux-operator", namespace: "flux-system" }]]);
  });

  it("binds its ServiceAccount to cluster-admin and aggregates its kinds into edit and view, as upstream", () => {
    const binding = findResource(result, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "operator-cluster-admin").inputs;
    expect(binding.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" });
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "flux-operator", namespace: "flux-system" }]);
    const view = findResource(result, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "operator-view").inputs;
    expect(view.rules).toEqual([{ apiGroups: ["fluxcd.controlplane.io"], resources: ["resourcesets", "resourcesetinputproviders"], verbs: ["get", "list", "watch"] }]);
    const service = findResource(result, "kubernetes:core/v1:Service", "operator-service").inputs;
    expect((service.spec as Json).ports).toEqual([{ name: "http", port: 8080, protocol: "TCP", targetPort: "http-metrics" }]);
  });

  it("matches upstream's manager Deployment of the vendored release, but for the documented deviations", () => {
    const upstream = load(fs.readFileSync(path.resolve(__dirname, "..", "vendor", "flux-operator", "v0.58.1", "reference", "deployment.yaml"), "utf8")) as {
      spec: { replicas: number; template: { metadata: Json; spec: Json & { containers: (Container & { image: string; imagePullPolicy: string })[] } } };
    };
    const theirs = upstream.spec.template.spec;
    const up = theirs.containers[0] as Container & { imagePullPolicy: string };
    const ours = podSpec(result);
    const container = manager(result) as Container & { imagePullPolicy: string };
    expect((deployment(result).spec as Json).replicas).toBe(upstream.spec.replicas);
    for (const key of ["serviceAccountName", "terminationGracePeriodSeconds", "affinity"]) expect(ours[key], key).toEqual(theirs[key]);
    for (const key of ["name", "imagePullPolicy", "securityContext", "livenessProbe", "readinessProbe", "resources", "volumeMounts"] as const) {
      expect(container[key], key).toEqual(up[key]);
    }
    // Deviation: ResourceSets without a ServiceAccount run as their namespace's flux-operator (tenancy).
    expect(container.env).toEqual([...up.env, { name: "DEFAULT_SERVICE_ACCOUNT", value: "flux-operator" }]);
    expect(ours.volumes).toEqual(theirs.volumes);
    expect((ours.securityContext as Json)).toMatchObject({ runAsUser: 65532, runAsGroup: 65532 });
    // Deviation: the web UI (port 9080) is off, so its port is not declared.
    expect(container.ports).toEqual(up.ports.filter((p) => p.name !== "http-web"));
    expect((deployment(result).spec as { template: { metadata: Json } }).template.metadata.annotations).toMatchObject(upstream.spec.template.metadata.annotations as Json);
  });

  it("passes the official Deployment schema, and the schema check catches a broken Deployment", async () => {
    expect(await modelErrors(deployment(result))).toBe("");
    const broken = { ...deployment(result), spec: { ...(deployment(result).spec as Json), replicas: "one" } };
    expect(await modelErrors(broken)).toMatch(/replicas/);
  });
});
