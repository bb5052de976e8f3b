import * as fs from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { AppSource, TENANT_RULES, type AppSourceArgs } from "../../components/k8s/app-source";
import { findResource, runProgram, valueAt, type PlanResult } from "../../tools/engine";
import { main } from "../../tools/plan/main";
import { fluxSchemaErrors, modelErrors } from "../support/reconciler";
import { STACKS } from "../support/stacks";

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

  it("gives the app its own namespace and a ServiceAccount that holds the tenant Role in that namespace only", () => {
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
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "orders-tenant" },
      subjects: [{ kind: "ServiceAccount", name: "orders-reconciler", namespace: "flux-system" }],
    });
    // No cluster-wide grant anywhere in the component.
    expect(result.resources.filter((r) => r.type.includes("ClusterRoleBinding") || r.type.endsWith(":ClusterRole"))).toEqual([]);
    const dependencies = findResource(result, "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", "orders-kustomization").dependencies;
    expect(dependencies).toContain(binding.urn);
    expect(dependencies).toContain(findResource(result, "kubernetes:rbac.authorization.k8s.io/v1:Role", "orders-role").urn);
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
      ["kubernetes:rbac.authorization.k8s.io/v1:Role", "orders-role"],
    ] as const) {
      expect(await modelErrors(findResource(result, type, name).inputs)).toBe("");
    }
  });
});

interface Rule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

/**
 * flux-operator v0.58.1 `config/data/flux/v2.7.3/rbac.yaml`, ClusterRole `flux-edit` (rules and
 * labels verbatim): what the API server aggregates into `edit` once Flux is installed.
 */
const FLUX_EDIT = {
  labels: { "rbac.authorization.k8s.io/aggregate-to-admin": "true", "rbac.authorization.k8s.io/aggregate-to-edit": "true" } as Record<string, string>,
  rules: [
    {
      apiGroups: ["notification.toolkit.fluxcd.io", "source.toolkit.fluxcd.io", "helm.toolkit.fluxcd.io", "image.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io"],
      resources: ["*"],
      verbs: ["create", "delete", "deletecollection", "patch", "update"],
    },
  ] as Rule[],
};

const allows = (rules: readonly Rule[], group: string, resource: string, verb: string) =>
  rules.some(
    (r) =>
      (r.apiGroups.includes(group) || r.apiGroups.includes("*")) &&
      (r.resources.includes(resource) || r.resources.includes("*")) &&
      (r.verbs.includes(verb) || r.verbs.includes("*")),
  );

/** What an app's manifests must never create in its namespace, and why. */
const FORBIDDEN: readonly [group: string, resource: string][] = [
  ["kustomize.toolkit.fluxcd.io", "kustomizations"], // decrypts with the controller's KMS identity; spec.kubeConfig applies elsewhere
  ["source.toolkit.fluxcd.io", "gitrepositories"],
  ["source.toolkit.fluxcd.io", "ocirepositories"],
  ["source.toolkit.fluxcd.io", "buckets"],
  ["helm.toolkit.fluxcd.io", "helmreleases"],
  ["image.toolkit.fluxcd.io", "imagerepositories"], // scans with the reflector's IRSA role
  ["image.toolkit.fluxcd.io", "imageupdateautomations"],
  ["notification.toolkit.fluxcd.io", "providers"], // outbound HTTP from the Flux namespace
  ["notification.toolkit.fluxcd.io", "alerts"],
  ["notification.toolkit.fluxcd.io", "receivers"],
  ["fluxcd.controlplane.io", "resourcesets"],
  ["rbac.authorization.k8s.io", "roles"],
  ["rbac.authorization.k8s.io", "rolebindings"],
  ["", "serviceaccounts/token"],
  ["", "pods/exec"],
  ["", "pods"],
];

describe("AppSource tenancy: what an app's ServiceAccount may do in its namespace", async () => {
  const result = await run();
  const role = findResource(result, "kubernetes:rbac.authorization.k8s.io/v1:Role", "orders-role").inputs;

  it("holds exactly the workload rules, in a plain namespaced Role", () => {
    expect(role).toEqual({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "orders-tenant", namespace: "orders", labels: { "app.kubernetes.io/part-of": "gitops-platform", "gitops-platform/app": "orders" } },
      rules: [
        { apiGroups: [""], resources: ["configmaps", "secrets", "services", "serviceaccounts", "persistentvolumeclaims"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
        { apiGroups: ["apps"], resources: ["deployments", "statefulsets"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
        { apiGroups: ["batch"], resources: ["jobs", "cronjobs"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
        { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
        { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
        { apiGroups: ["networking.k8s.io"], resources: ["ingresses", "networkpolicies"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
      ],
    });
  });

  it("can create none of the Flux, Flux Operator or RBAC kinds, no token requests, no exec", () => {
    for (const [group, resource] of FORBIDDEN) {
      for (const verb of ["create", "update", "patch"]) expect(allows(TENANT_RULES, group, resource, verb), `${verb} ${group}/${resource}`).toBe(false);
    }
    // The check can fail: Kubernetes' `edit` with Flux's aggregated `flux-edit` allows them.
    expect(allows(FLUX_EDIT.rules, "kustomize.toolkit.fluxcd.io", "kustomizations", "create")).toBe(true);
  });

  it("in both stacks' plans every app's binding names its own Role, a plain Role no aggregation can widen", async () => {
    for (const stack of STACKS) {
      let text = "";
      expect(await main(["--stack", stack, "--json"], { cwd: path.resolve(__dirname, "..", ".."), stdout: (t) => (text += t), stderr: () => undefined })).toBe(0);
      const resources = (JSON.parse(text) as { resources: { inputs: Json }[] }).resources;
      // The apps' bindings: those in the apps' namespaces (the platform's own live in flux-system).
      const bindings = resources.filter((r) => r.inputs.kind === "RoleBinding" && valueAt(r.inputs, "metadata.namespace") !== "flux-system");
      expect(bindings.map((b) => valueAt(b.inputs, "metadata.name")).sort(), stack).toEqual(["orders-reconciler", "payments-reconciler"]);
      for (const binding of bindings) {
        const roleRef = binding.inputs.roleRef as { kind: string; name: string };
        const namespace = valueAt(binding.inputs, "metadata.namespace");
        expect(roleRef.kind, `${stack} ${String(namespace)}`).toBe("Role");
        const boundRole = resources.find((r) => r.inputs.kind === "Role" && valueAt(r.inputs, "metadata.name") === roleRef.name && valueAt(r.inputs, "metadata.namespace") === namespace);
        const rules = (boundRole?.inputs.rules ?? []) as Rule[];
        expect(rules, `${stack} ${String(namespace)}`).toEqual(TENANT_RULES);
        for (const [group, resource] of FORBIDDEN) expect(allows(rules, group, resource, "create"), `${stack} ${String(namespace)} ${group}/${resource}`).toBe(false);
      }
    }
  }, 60_000);

  it("the Kustomization an app could create with `edit` (decrypting as the controller, applying to a remote API server) passes Flux 2.7.3's CRD: only RBAC stops it", () => {
    const crd = load(fs.readFileSync(path.resolve(__dirname, "../fixtures/flux-2.7.3/kustomize.toolkit.fluxcd.io_kustomizations.yaml"), "utf8")) as {
      spec: { versions: { name: string; schema: { openAPIV3Schema: Json } }[] };
    };
    const schema = crd.spec.versions.find((v) => v.name === "v1")?.schema.openAPIV3Schema as Json;
    const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
    const exfiltrate = {
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: "exfiltrate", namespace: "orders" },
      spec: {
        interval: "1m",
        path: "./copied-ciphertexts",
        prune: false,
        sourceRef: { kind: "GitRepository", name: "anything-in-orders" },
        decryption: { provider: "sops" },
        kubeConfig: { secretRef: { name: "another-cluster" } },
      },
    };
    expect(validate(exfiltrate), JSON.stringify(validate.errors)).toBe(true);
  });
});
