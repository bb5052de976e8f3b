import { describe, expect, it } from "vitest";
import { AppSource, type AppSourceArgs } from "../components/app-source";
import { findResource, runProgram, type PlanResult } from "../tools/engine";
import { fluxSchemaErrors, modelErrors } from "./support/reconciler";

type Json = Record<string, unknown>;
const BASE: AppSourceArgs = {
  namespace: "flux-system",
  app: "orders",
  repo: "acme-corp/orders",
  branch: "release",
  path: "deploy/prod",
  interval: "10m",
  secretName: "flux-orders",
  substituteFrom: "platform-metadata",
  imageRepository: "222222222222.dkr.ecr.eu-west-1.amazonaws.com/prod/orders",
  syncKustomization: "flux-system",
};
const run = (args: Partial<AppSourceArgs> = {}) =>
  runProgram({
    stack: "prod",
    config: {},
    program: () => {
      new AppSource("orders", { ...BASE, ...args });
    },
  });
const repository = (r: PlanResult) => findResource(r, "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository", "orders-git-repository").inputs;
const namespace = (r: PlanResult) => findResource(r, "kubernetes:core/v1:Namespace", "orders-namespace").inputs;
const kustomization = (r: PlanResult) => findResource(r, "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", "orders-kustomization").inputs;

describe("AppSource", async () => {
  const result = await run();

  it("uses the correct default values (prune on, restricted pod security in the app's namespace)", () => {
    expect((kustomization(result).spec as Json).prune).toBe(true);
    expect((namespace(result).metadata as Json).labels).toMatchObject({
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/audit": "restricted",
      "pod-security.kubernetes.io/warn": "restricted",
    });
  });

  it("takes a baseline pod security level when asked", async () => {
    expect((namespace(await run({ podSecurity: "baseline" })).metadata as Json).labels).toMatchObject({ "pod-security.kubernetes.io/enforce": "baseline" });
  });

  it("prunes only when asked", async () => {
    expect((kustomization(await run({ prune: false })).spec as Json).prune).toBe(false);
  });

  it("clones the app's repository over SSH with its own key", () => {
    expect(repository(result)).toEqual({
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "GitRepository",
      metadata: { name: "orders", namespace: "flux-system", labels: { "app.kubernetes.io/part-of": "gitops-platform", "gitops-platform/app": "orders" } },
      spec: { interval: "10m", url: "ssh://git@github.com/acme-corp/orders.git", ref: { branch: "release" }, secretRef: { name: "flux-orders" } },
    });
  });

  it("applies the deploy path into the app's namespace as the app's ServiceAccount, after the environment sync, with the image substituted", () => {
    expect(kustomization(result).spec).toEqual({
      interval: "10m",
      path: "./deploy/prod",
      prune: true,
      sourceRef: { kind: "GitRepository", name: "orders" },
      serviceAccountName: "orders-reconciler",
      targetNamespace: "orders",
      dependsOn: [{ name: "flux-system" }],
      postBuild: {
        substitute: { IMAGE_REPOSITORY: "222222222222.dkr.ecr.eu-west-1.amazonaws.com/prod/orders" },
        substituteFrom: [
          { kind: "ConfigMap", name: "platform-metadata" },
          { kind: "ConfigMap", name: "orders-image" },
        ],
      },
    });
  });

  it("gives the app its own namespace and a ServiceAccount that may edit that namespace only", () => {
    expect(namespace(result).metadata).toEqual({
      name: "orders",
      labels: {
        "app.kubernetes.io/part-of": "gitops-platform",
        "gitops-platform/app": "orders",
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
      },
    });
    expect(findResource(result, "kubernetes:core/v1:ServiceAccount", "orders-service-account").inputs.metadata).toMatchObject({
      name: "orders-reconciler",
      namespace: "flux-system",
    });
    const binding = findResource(result, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "orders-role-binding");
    expect(binding.inputs).toMatchObject({
      metadata: { name: "orders-reconciler", namespace: "orders" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
      subjects: [{ kind: "ServiceAccount", name: "orders-reconciler", namespace: "flux-system" }],
    });
    // No cluster-wide grant anywhere in the component.
    expect(result.resources.filter((r) => r.type.includes("ClusterRoleBinding") || r.type.endsWith(":ClusterRole"))).toEqual([]);
    expect(findResource(result, "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", "orders-kustomization").dependencies).toContain(binding.urn);
  });

  it("passes the upstream CRD schemas", () => {
    expect(fluxSchemaErrors(repository(result))).toEqual([]);
    expect(fluxSchemaErrors(kustomization(result))).toEqual([]);
  });

  it("passes the official Namespace, ServiceAccount and RoleBinding schemas", async () => {
    for (const [type, name] of [
      ["kubernetes:core/v1:Namespace", "orders-namespace"],
      ["kubernetes:core/v1:ServiceAccount", "orders-service-account"],
      ["kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "orders-role-binding"],
    ] as const) {
      expect(await modelErrors(findResource(result, type, name).inputs)).toBe("");
    }
  });
});
