/**
 * DriftReader: the drift role's Kubernetes read access. Unit tests on the recorded RBAC objects,
 * then the property that matters: in either stack's plan, every Kubernetes object the program
 * manages is readable by the drift group — a kind missing here would make `pulumi preview
 * --refresh` fail with 403, and the drift check could never report a clean stack as clean.
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { DRIFT_READER_GROUP } from "../../components/aws/ci-identity";
import { DriftReader, MANAGED_KINDS, type DriftReaderArgs } from "../../components/k8s/drift-reader";
import { findResource, loadStackConfig, resourcesOfType, runProgram, type PlanResult, type RecordedResource } from "../../tools/engine";
import { STACKS } from "../support/stacks";

const root = path.resolve(__dirname, "..", "..");

const run = (args: Partial<DriftReaderArgs> = {}) =>
  runProgram({
    stack: "staging",
    config: {},
    program: () => {
      new DriftReader("drift", { group: DRIFT_READER_GROUP, namespace: "flux-system", secretNames: ["flux-system", "orders-deploy-key"], ...args });
    },
  });

const plan = (stack: string): Promise<PlanResult> => {
  const loaded = loadStackConfig(root, stack);
  return runProgram({ stack, config: loaded.config, secretKeys: loaded.secretKeys, program: path.join(root, "index.ts") });
};

type Rule = { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] };
const subjects = [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "gitops-platform:drift-reader" }];
const labels = { "app.kubernetes.io/part-of": "gitops-platform" };

describe("DriftReader", () => {
  it("uses the correct default values: every managed kind, read-only", async () => {
    const result = await run();
    const role = findResource(result, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "drift-kinds");
    expect(role.inputs.metadata).toEqual({ name: "gitops-platform-drift-reader", labels });
    expect(role.inputs.rules).toEqual(MANAGED_KINDS.map((k) => ({ apiGroups: [k.apiGroup], resources: [...k.resources], verbs: ["get", "list", "watch"] })));
    expect((role.inputs.rules as Rule[]).flatMap((r) => r.resources)).not.toContain("secrets");
  });

  it("binds the kinds to the drift group only", async () => {
    const binding = findResource(await run(), "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "drift-kinds-binding");
    expect(binding.inputs).toEqual({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "gitops-platform-drift-reader", labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "gitops-platform-drift-reader" },
      subjects,
    });
  });

  it("lets the group get exactly the named Secrets of the namespace, and neither list nor watch them", async () => {
    const result = await run();
    const role = findResource(result, "kubernetes:rbac.authorization.k8s.io/v1:Role", "drift-secrets");
    expect(role.inputs.metadata).toEqual({ name: "gitops-platform-drift-reader-secrets", namespace: "flux-system", labels });
    expect(role.inputs.rules).toEqual([{ apiGroups: [""], resources: ["secrets"], resourceNames: ["flux-system", "orders-deploy-key"], verbs: ["get"] }]);
    const binding = findResource(result, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "drift-secrets-binding");
    expect(binding.inputs.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "gitops-platform-drift-reader-secrets" });
    expect(binding.inputs.subjects).toEqual(subjects);
    expect((binding.inputs.metadata as { namespace: string }).namespace).toBe("flux-system");
  });

  it("takes other kinds when given", async () => {
    const role = findResource(await run({ kinds: [{ apiGroup: "batch", resources: ["jobs"] }] }), "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "drift-kinds");
    expect(role.inputs.rules).toEqual([{ apiGroups: ["batch"], resources: ["jobs"], verbs: ["get", "list", "watch"] }]);
  });
});

/** The resource name of a kind, as RBAC names it (Flux's and Kubernetes' plurals). */
function plural(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower.endsWith("y")) return `${lower.slice(0, -1)}ies`;
  if (lower.endsWith("ss")) return `${lower}es`;
  return `${lower}s`;
}

/** What refreshing a recorded resource reads: its API group, resource and name (for Secrets). */
function reads(resource: RecordedResource): { group: string; resource: string; name?: string } | undefined {
  // The CRD bundle (yaml/v2 ConfigFile) registers as one component; each CRD in it is read on refresh.
  if (resource.type === "kubernetes:yaml/v2:ConfigFile") return { group: "apiextensions.k8s.io", resource: "customresourcedefinitions" };
  const match = /^kubernetes:(?:([a-z0-9.-]+)\/)?(?:core\/)?(v[0-9a-z]+):([A-Za-z]+)$/.exec(resource.type.replace(/^kubernetes:core\//, "kubernetes:"));
  if (!match) return undefined;
  const group = match[1] === "core" || match[1] === undefined ? "" : match[1];
  const kind = match[3] ?? "";
  const metadata = (resource.inputs.metadata ?? {}) as { name?: unknown };
  return { group, resource: plural(kind), ...(kind === "Secret" ? { name: String(metadata.name) } : {}) };
}

describe("the drift group can read every Kubernetes object the program manages", () => {
  it.each(STACKS)("in the %s plan", async (stack) => {
    const result = await plan(stack);
    const clusterRole = findResource(result, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", `${stack}-drift-reader-kinds`);
    const secretRole = findResource(result, "kubernetes:rbac.authorization.k8s.io/v1:Role", `${stack}-drift-reader-secrets`);
    const kindRules = clusterRole.inputs.rules as Rule[];
    const secretNames = (secretRole.inputs.rules as Rule[])[0]?.resourceNames ?? [];
    const kubernetes = result.resources.filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:yaml/v2:") || r.type === "kubernetes:yaml/v2:ConfigFile");
    const unreadable: string[] = [];
    let secrets = 0;
    for (const resource of kubernetes) {
      const read = reads(resource);
      if (!read) {
        unreadable.push(`${resource.type} ${resource.name}: not a Kubernetes object type this test knows`);
        continue;
      }
      if (read.name !== undefined) {
        secrets += 1;
        if (!secretNames.includes(read.name)) unreadable.push(`Secret ${read.name} (${resource.name})`);
        continue;
      }
      const allowed = kindRules.some((rule) => rule.apiGroups.includes(read.group) && rule.resources.includes(read.resource) && rule.verbs.includes("get"));
      if (!allowed) unreadable.push(`${read.group || "core"}/${read.resource} (${resource.name})`);
    }
    expect(unreadable).toEqual([]);
    expect(secrets).toBeGreaterThan(0);
    expect(secretNames).toHaveLength(secrets);
    // The group the access entry names is the one the bindings bind.
    const entry = findResource(result, "aws:eks/accessEntry:AccessEntry", `${stack}-ci-drift-cluster-access`);
    expect(entry.inputs.kubernetesGroups).toEqual([DRIFT_READER_GROUP]);
    expect(resourcesOfType(result, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding").some((b) => JSON.stringify(b.inputs.subjects) === JSON.stringify(subjects))).toBe(true);
  });

  it("names a kind this test cannot map, instead of passing it over", () => {
    expect(reads({ type: "kubernetes:batch/v1:Job", inputs: {} } as unknown as RecordedResource)).toEqual({ group: "batch", resource: "jobs" });
    expect(reads({ type: "kubernetes:core/v1:Secret", inputs: { metadata: { name: "x" } } } as unknown as RecordedResource)).toEqual({ group: "", resource: "secrets", name: "x" });
    expect(reads({ type: "kubernetes:networking.k8s.io/v1:NetworkPolicy", inputs: {} } as unknown as RecordedResource)).toEqual({ group: "networking.k8s.io", resource: "networkpolicies" });
    expect(reads({ type: "kubernetes:networking.k8s.io/v1:Ingress", inputs: {} } as unknown as RecordedResource)).toEqual({ group: "networking.k8s.io", resource: "ingresses" });
    expect(reads({ type: "pulumi:providers:kubernetes", inputs: {} } as unknown as RecordedResource)).toBeUndefined();
  });
});
