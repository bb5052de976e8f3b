import { describe, expect, it } from "vitest";
import { FluxNetworkPolicies } from "../components/k8s/flux-network-policies";
import { findResource, resourcesOfType, runProgram } from "../tools/engine";
import { modelErrors } from "./support/reconciler";

const run = (receiverPorts?: number[]) =>
  runProgram({
    stack: "staging",
    config: {},
    program: () => {
      new FluxNetworkPolicies("policies", { namespace: "flux-system", metricsNamespace: "observability", ...(receiverPorts ? { receiverPorts } : {}) });
    },
  });
const spec = (r: Awaited<ReturnType<typeof run>>, role: string) => findResource(r, "kubernetes:networking.k8s.io/v1:NetworkPolicy", `policies-${role}`).inputs.spec;

describe("FluxNetworkPolicies", async () => {
  const result = await run();

  it("uses the correct default values: no receiver policy", () => {
    expect(resourcesOfType(result, "kubernetes:networking.k8s.io/v1:NetworkPolicy").map((r) => r.name)).toEqual([
      "policies-default-deny",
      "policies-intra-namespace",
      "policies-metrics",
    ]);
  });

  it("denies ingress by default and allows the namespace's own pods", () => {
    expect(spec(result, "default-deny")).toEqual({ podSelector: {}, policyTypes: ["Ingress"] });
    expect(spec(result, "intra-namespace")).toEqual({ podSelector: {}, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: {} }] }] });
  });

  it("allows metrics only from the monitoring namespace", () => {
    expect(spec(result, "metrics")).toEqual({
      podSelector: {},
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "observability" } } }],
          ports: [{ protocol: "TCP", port: 8080 }],
        },
      ],
    });
  });

  it("opens only the receiver's ports of notification-controller to any source", async () => {
    const withReceiver = await run([9292, 9440]);
    expect(spec(withReceiver, "webhook-receiver")).toEqual({
      podSelector: { matchLabels: { app: "notification-controller" } },
      policyTypes: ["Ingress"],
      ingress: [{ ports: [{ protocol: "TCP", port: 9292 }, { protocol: "TCP", port: 9440 }] }],
    });
    for (const policy of resourcesOfType(withReceiver, "kubernetes:networking.k8s.io/v1:NetworkPolicy")) expect(await modelErrors(policy.inputs)).toBe("");
  });
});
