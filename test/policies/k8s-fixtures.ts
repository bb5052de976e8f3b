/** Kubernetes fixtures shared by the workload and reconciler rule tests: a hardened Flux Operator Deployment in a restricted flux-system. */
import { res } from "./harness";

export const DIGEST = `sha256:${"a".repeat(64)}`;
const IMAGE = `ghcr.io/controlplaneio-fluxcd/flux-operator:v0.58.1@${DIGEST}`;

export const hardenedContainer = {
  name: "manager",
  image: IMAGE,
  securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
  resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "1", memory: "1Gi" } },
  livenessProbe: { httpGet: { path: "/healthz", port: 8081 } },
  readinessProbe: { httpGet: { path: "/readyz", port: 8081 } },
};

export const namespace = res("kubernetes:core/v1:Namespace", "flux-system", {
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name: "flux-system", labels: { "pod-security.kubernetes.io/enforce": "restricted" } },
});

export function deployment(container: object = hardenedContainer, pod: object = {}) {
  return res(
    "kubernetes:apps/v1:Deployment",
    "flux-operator",
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "flux-operator", namespace: "flux-system" },
      spec: {
        selector: { matchLabels: { app: "flux-operator" } },
        template: {
          metadata: { labels: { app: "flux-operator" } },
          spec: { securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } }, containers: [container], ...pod },
        },
      },
    },
    { deps: { metadata: [namespace] } },
  );
}
