// The e2e's overrides of rendered objects (e2e/lib/render.ts), without any server: the e2e itself
// runs only under `npm run e2e`.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { applyOverrides, type K8sObject, type OverrideOptions } from "../../e2e/lib/render";

const HOST_PUB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyHostKeyHostKeyHostKeyHostKeyHostKeyHo host";
const options: OverrideOptions = {
  hostKey: { file: "/k/host", privateKey: "HOST PRIVATE", publicKey: HOST_PUB },
  gitPort: 24110,
  registryPort: 24111,
  deployKeys: new Map([["acme-corp/orders", { file: "/k/orders", privateKey: "ORDERS PRIVATE\n", publicKey: "ssh-ed25519 AAAAOrders orders" }]]),
  receiverToken: "e2e-token",
};

const gitRepository = (): K8sObject => ({
  apiVersion: "source.toolkit.fluxcd.io/v1",
  kind: "GitRepository",
  metadata: { name: "orders", namespace: "flux-system" },
  spec: { url: "ssh://git@github.com/acme-corp/orders.git", interval: "5m" },
});

const deployKeySecret = (repo: string): K8sObject => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: {
    name: "orders-deploy-key",
    namespace: "flux-system",
    labels: { "app.kubernetes.io/component": "deploy-key" },
    annotations: { "gitops-platform/repository": repo },
  },
  stringData: "[secret]",
});

describe("e2e overrides of rendered objects", () => {
  it("points GitHub SSH URLs at the loopback Git server and changes nothing else", () => {
    const objects = [gitRepository()];
    const { overrides } = applyOverrides(objects, options);
    expect(objects[0]?.spec).toEqual({ url: "ssh://git@127.0.0.1:24110/acme-corp/orders.git", interval: "5m" });
    expect(overrides).toEqual(["GitRepository flux-system/orders: spec.url -> ssh://git@127.0.0.1:24110/acme-corp/orders.git"]);
  });

  it("fills a deploy key Secret with the program's keys, pinning the host key on the loopback port", () => {
    const objects = [deployKeySecret("acme-corp/orders")];
    applyOverrides(objects, options);
    expect(objects[0]?.stringData).toEqual({
      identity: "ORDERS PRIVATE\n",
      "identity.pub": "ssh-ed25519 AAAAOrders orders",
      known_hosts: "[127.0.0.1]:24110 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyHostKeyHostKeyHostKeyHostKeyHostKeyHo\n",
    });
  });

  it("refuses a deploy key Secret for a repository it has no key for", () => {
    expect(() => applyOverrides([deployKeySecret("acme-corp/unknown")], options)).toThrow(
      "Secret flux-system/orders-deploy-key: no e2e deploy key for repository acme-corp/unknown",
    );
  });

  it("refuses any masked value it has no override for, naming where it is", () => {
    const configMap: K8sObject = { apiVersion: "v1", kind: "Service", metadata: { name: "s", namespace: "flux-system", annotations: { a: "[unknown]" } } };
    const secret: K8sObject = { apiVersion: "v1", kind: "Secret", metadata: { name: "other", namespace: "flux-system" }, stringData: "[secret]" };
    expect(() => applyOverrides([configMap, secret], options)).toThrow(
      "rendered values the e2e has no override for:\n  Service flux-system/s.metadata.annotations.a: [unknown]\n  Secret flux-system/other.stringData: [secret]",
    );
  });

  it("turns off the FluxInstance wait and drops only the IRSA patch whose role ARN is unknown", () => {
    const instance: K8sObject = {
      apiVersion: "fluxcd.controlplane.io/v1",
      kind: "FluxInstance",
      metadata: { name: "flux", namespace: "flux-system" },
      spec: {
        sync: { url: "ssh://git@github.com/acme-corp/gitops-platform.git" },
        kustomize: {
          patches: [
            { patch: "- op: add", target: { kind: "Deployment", name: "kustomize-controller" } },
            { patch: "[unknown]", target: { kind: "ServiceAccount", name: "image-reflector-controller" } },
          ],
        },
      },
    };
    applyOverrides([instance], options);
    expect(instance.spec).toEqual({
      sync: { url: "ssh://git@127.0.0.1:24110/acme-corp/gitops-platform.git" },
      kustomize: { patches: [{ patch: "- op: add", target: { kind: "Deployment", name: "kustomize-controller" } }] },
      wait: false,
    });
  });

  it("puts namespaces first", () => {
    const ns: K8sObject = { apiVersion: "v1", kind: "Namespace", metadata: { name: "flux-system" } };
    const { objects } = applyOverrides([gitRepository(), ns], options);
    expect(objects.map((o) => o.kind)).toEqual(["Namespace", "GitRepository"]);
  });

  it("fills a Secret rendered with its keys (each value masked) like one masked whole", () => {
    const secret = { ...deployKeySecret("acme-corp/orders"), stringData: { identity: "[secret]", "identity.pub": "[secret]", known_hosts: "[secret]" } };
    applyOverrides([secret], options);
    expect(secret.stringData).toMatchObject({ identity: "ORDERS PRIVATE\n", "identity.pub": "ssh-ed25519 AAAAOrders orders" });
  });

  it("points an app's IMAGE_REPOSITORY at the loopback registry and the receiver Ingress at the e2e token's path", () => {
    const kustomization: K8sObject = {
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: "orders", namespace: "flux-system" },
      spec: { postBuild: { substitute: { IMAGE_REPOSITORY: "[unknown]", APP: "orders" } } },
    };
    const ingress: K8sObject = {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: "webhook-receiver", namespace: "flux-system" },
      spec: { rules: [{ http: { paths: [{ path: "[secret]", pathType: "Exact" }] } }] },
    };
    applyOverrides([kustomization, ingress], options);
    expect(kustomization.spec).toEqual({ postBuild: { substitute: { IMAGE_REPOSITORY: "127.0.0.1:24111/orders", APP: "orders" } } });
    // sha256("e2e-token" + "github" + "flux-system"), as notification-controller computes it.
    expect(ingress.spec).toEqual({ rules: [{ http: { paths: [{ path: `/hook/${createHash("sha256").update("e2e-tokengithubflux-system").digest("hex")}`, pathType: "Exact" }] } }] });
  });
});
