import { describe, expect, it } from "vitest";
import { FluxNamespace } from "../components/k8s/flux-namespace";
import { findResource, runProgram } from "../tools/engine";
import { modelErrors } from "./support/reconciler";

describe("FluxNamespace", () => {
  it("labels the namespace restricted for enforce, audit and warn", async () => {
    const result = await runProgram({ stack: "staging", config: {}, program: () => void new FluxNamespace("ns", { name: "flux-system", labels: { team: "platform" } }) });
    const namespace = findResource(result, "kubernetes:core/v1:Namespace", "ns-namespace").inputs;
    expect(namespace.metadata).toEqual({
      name: "flux-system",
      labels: {
        team: "platform",
        "app.kubernetes.io/name": "flux-operator",
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
      },
    });
    expect(await modelErrors(namespace)).toBe("");
  });

  it("refuses a name that is not an RFC 1123 label", async () => {
    await expect(runProgram({ stack: "staging", config: {}, program: () => void new FluxNamespace("ns", { name: "Flux_System" }) })).rejects.toThrow(
      'gitops-platform:k8s:FluxNamespace ns: namespace "Flux_System" is not an RFC 1123 label',
    );
  });
});
