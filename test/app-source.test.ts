import { describe, expect, it } from "vitest";
import { AppSource, type AppSourceArgs } from "../components/app-source";
import { findResource, runProgram, type PlanResult } from "../tools/engine";
import { fluxSchemaErrors } from "./support/reconciler";

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
const kustomization = (r: PlanResult) => findResource(r, "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", "orders-kustomization").inputs;

describe("AppSource", async () => {
  const result = await run();

  it("uses the correct default values (prune on)", () => {
    expect((kustomization(result).spec as Json).prune).toBe(true);
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

  it("applies the deploy path from that source with substitution", () => {
    expect(kustomization(result).spec).toEqual({
      interval: "10m",
      path: "./deploy/prod",
      prune: true,
      sourceRef: { kind: "GitRepository", name: "orders" },
      postBuild: { substituteFrom: [{ kind: "ConfigMap", name: "platform-metadata" }] },
    });
  });

  it("passes the upstream CRD schemas", () => {
    expect(fluxSchemaErrors(repository(result))).toEqual([]);
    expect(fluxSchemaErrors(kustomization(result))).toEqual([]);
  });
});
