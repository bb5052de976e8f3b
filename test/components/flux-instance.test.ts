import { describe, expect, it } from "vitest";
import * as aws from "@pulumi/aws";
import { FluxInstance, githubSshUrl, type FluxInstanceArgs } from "../../components/k8s/flux-instance";
import { findResource, runProgram, type PlanResult } from "../../tools/engine";
import { FLUX_COMPONENTS_WITH_IMAGES, fluxSchemaErrors } from "../support/reconciler";

type Json = Record<string, unknown>;
const BASE: FluxInstanceArgs = {
  namespace: "flux-system",
  version: "2.7.3",
  registry: "ghcr.io/fluxcd",
  imageAutomation: false,
  repo: "acme-corp/gitops-platform",
  branch: "prod",
  path: "clusters/prod",
  pullSecret: "flux-gitops-platform",
  interval: "1m",
};
const run = (args: Partial<FluxInstanceArgs> = {}, withDependency = false) =>
  runProgram({
    stack: "prod",
    config: {},
    program: () => {
      const policy = withDependency ? new aws.iam.RolePolicy("policy", { role: "r", policy: "{}" }) : undefined;
      new FluxInstance("flux", { ...BASE, ...args }, policy ? { dependsOn: [policy] } : {});
    },
  });
const instance = (result: PlanResult) => findResource(result, "kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "flux-instance");
const patches = (result: PlanResult) => ((instance(result).inputs.spec as Json).kustomize as { patches: { patch: string; target: Json }[] }).patches;

// An app Kustomization that finds the environment sync mid-apply is re-checked after 5 s, not 30 s.
const REQUEUE_PATCH = {
  patch: "- op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: --requeue-dependency=5s\n",
  target: { kind: "Deployment", name: "kustomize-controller" },
};

describe("FluxInstance", async () => {
  const result = await run();

  it("uses the correct default values: sync named flux-system, 900 s to become Ready, only the dependency requeue patch", () => {
    const inputs = instance(result).inputs;
    expect(inputs.metadata).toEqual({
      name: "flux",
      namespace: "flux-system",
      annotations: { "pulumi.com/waitFor": "condition=Ready", "pulumi.com/timeoutSeconds": "900" },
    });
    expect(((inputs.spec as Json).sync as Json).name).toBe("flux-system");
    expect(patches(result)).toEqual([REQUEUE_PATCH]);
    expect(fluxSchemaErrors(inputs)).toEqual([]);
  });

  it("turns on the operator's multi-tenancy lockdown (no cross-namespace refs, no remote bases, tenants' default ServiceAccount)", () => {
    expect((instance(result).inputs.spec as Json).cluster).toEqual({ type: "aws", networkPolicy: true, multitenant: true });
  });

  it("refuses a version range: staging must run the Flux prod runs", async () => {
    await expect(run({ version: "2.x" })).rejects.toThrow('gitops-platform:k8s:FluxInstance flux: version "2.x" is not exact; pin a release such as 2.7.3');
  });

  it("syncs over SSH with the deploy key and the environment branch ref", () => {
    expect((instance(result).inputs.spec as Json).sync).toEqual({
      kind: "GitRepository",
      name: "flux-system",
      url: "ssh://git@github.com/acme-corp/gitops-platform.git",
      ref: "refs/heads/prod",
      path: "clusters/prod",
      pullSecret: "flux-gitops-platform",
      interval: "1m",
    });
    expect(githubSshUrl("o/r")).toBe("ssh://git@github.com/o/r.git");
  });

  it("adds substitution, the IRSA annotation and NetworkPolicy removals when asked, and forwards dependsOn", async () => {
    const full = await run(
      {
        imageAutomation: true,
        syncName: "platform",
        substituteFrom: "platform-metadata",
        imageReflectorRoleArn: "arn:aws:iam::222222222222:role/reflector",
        dropNetworkPolicies: ["allow-scraping"],
        readyTimeoutSeconds: 1200,
      },
      true,
    );
    const inputs = instance(full).inputs;
    expect(((inputs.metadata as Json).annotations as Json)["pulumi.com/timeoutSeconds"]).toBe("1200");
    expect((inputs.spec as Json).components).toEqual(FLUX_COMPONENTS_WITH_IMAGES);
    expect(patches(full)).toEqual([
      REQUEUE_PATCH,
      {
        patch: "- op: add\n  path: /spec/postBuild\n  value:\n    substituteFrom:\n      - kind: ConfigMap\n        name: platform-metadata\n",
        target: { kind: "Kustomization", name: "platform" },
      },
      {
        patch:
          "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: image-reflector-controller\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::222222222222:role/reflector\n",
        target: { kind: "ServiceAccount", name: "image-reflector-controller" },
      },
      {
        // The role on the pod template too: only pods created after the annotation get credentials.
        patch:
          "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: image-reflector-controller\nspec:\n  template:\n    metadata:\n      annotations:\n        gitops-platform/irsa-role-arn: arn:aws:iam::222222222222:role/reflector\n",
        target: { kind: "Deployment", name: "image-reflector-controller" },
      },
      {
        patch: "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-scraping\n$patch: delete\n",
        target: { kind: "NetworkPolicy", name: "allow-scraping" },
      },
    ]);
    expect(instance(full).dependencies).toContain(findResource(full, "aws:iam/rolePolicy:RolePolicy", "policy").urn);
    expect(fluxSchemaErrors(inputs)).toEqual([]);
  });
});
