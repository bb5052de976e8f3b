import { describe, expect, it } from "vitest";
import { FluxOperator, operatorCrdsUrl } from "../components/flux-operator";
import { findResource, runProgram, type PlanResult } from "../tools/engine";
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
    expect(manager(result).resources).toEqual({ requests: { cpu: "10m", memory: "64Mi" }, limits: { cpu: "1000m", memory: "1Gi" } });
  });

  it("takes replicas and resources from its args", async () => {
    const custom = await run({ replicas: 2, resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } } });
    expect((deployment(custom).spec as Json).replicas).toBe(2);
    expect(manager(custom).resources).toEqual({ requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } });
  });

  it("installs the CRDs of the pinned release before the Deployment", () => {
    const crds = findResource(result, "kubernetes:yaml/v2:ConfigFile", "operator-crds");
    expect(crds.inputs.file).toBe("https://github.com/controlplaneio-fluxcd/flux-operator/releases/download/v0.58.1/crds.yaml");
    expect(operatorCrdsUrl("v0.57.0")).toBe("https://github.com/controlplaneio-fluxcd/flux-operator/releases/download/v0.57.0/crds.yaml");
    expect(findResource(result, "kubernetes:apps/v1:Deployment", "operator-deployment").dependencies).toContain(crds.urn);
  });

  it("runs the manager hardened: non-root, no escalation, no capabilities, RuntimeDefault seccomp, read-only root", () => {
    expect(manager(result).securityContext).toEqual({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(podSpec(result).securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
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
    expect(container.env).toEqual([{ name: "RUNTIME_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }]);
    expect(container.args).toEqual(["--web-server-port=0"]);
    expect(podSpec(result).serviceAccountName).toBe("flux-operator");
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

  it("passes the official Deployment schema, and the schema check catches a broken Deployment", async () => {
    expect(await modelErrors(deployment(result))).toBe("");
    const broken = { ...deployment(result), spec: { ...(deployment(result).spec as Json), replicas: "one" } };
    expect(await modelErrors(broken)).toMatch(/replicas/);
  });
});
