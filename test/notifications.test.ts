import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import { describe, expect, it } from "vitest";
import {
  commitStatusExpr,
  DRIFT_PATTERN,
  Notifications,
  type NotificationsArgs,
} from "../components/k8s/notifications";
import { findResource, loadStackConfig, resourcesOfType, runProgram, type PlanResult, type RecordedResource } from "../tools/engine";
import { fluxObject, fluxSchemaErrors, modelErrors } from "./support/reconciler";

type Json = Record<string, unknown>;
const root = path.resolve(__dirname, "..");
const P = "gitops-platform";

/** Runs index.ts for a stack, with some top-level config keys replaced (secret keys stay secret). */
function plan(stack: string, change: Json = {}, extraSecretKeys: string[] = []): Promise<PlanResult> {
  const loaded = loadStackConfig(root, stack);
  const config: Json = { ...loaded.config };
  for (const [key, value] of Object.entries(change)) {
    if (value === undefined) delete config[`${P}:${key}`];
    else config[`${P}:${key}`] = value;
  }
  const secretKeys = [...loaded.secretKeys, ...extraSecretKeys.map((key) => `${P}:${key}`)].filter((key) => key in config);
  return runProgram({ stack, config, secretKeys, program: path.join(root, "index.ts") });
}

const spec = (object: RecordedResource) => object.inputs.spec as Json;
const FLUX_KINDS = ["GitRepository", "Kustomization", "ImageRepository", "ImagePolicy", "ImageUpdateAutomation"];
const flux = (result: PlanResult, kind: string) => result.resources.filter((r) => r.custom && r.inputs.kind === kind);

describe("Notifications (staging example config: commit statuses only)", async () => {
  const staging = await plan("staging");

  it("declares a github Provider and an info Alert per Kustomization, each pointed at the repository it applies", () => {
    const expected = [
      ["commit-status-flux-system", "https://github.com/acme-corp/gitops-platform", "flux-system"],
      ["commit-status-orders", "https://github.com/acme-corp/orders", "orders"],
      ["commit-status-payments", "https://github.com/acme-corp/payments", "payments"],
    ];
    expect(flux(staging, "Provider").map((p) => (p.inputs.metadata as Json).name).sort()).toEqual(expected.map(([name]) => name));
    for (const [name, address, kustomization] of expected) {
      expect(spec(fluxObject(staging, "Provider", name!))).toEqual({
        type: "github",
        address,
        secretRef: { name: "commit-status-github-app" },
        commitStatusExpr: "'staging/' + event.involvedObject.kind.lowerAscii() + '/' + event.involvedObject.name",
      });
      expect(spec(fluxObject(staging, "Alert", name!))).toEqual({
        providerRef: { name },
        eventSeverity: "info",
        eventSources: [{ kind: "Kustomization", name: kustomization }],
        eventMetadata: { environment: "staging" },
      });
    }
  });

  it("declares no alert destination when none is configured", () => {
    expect(flux(staging, "Alert")).toHaveLength(3);
    expect(staging.resources.some((r) => (r.inputs.metadata as Json | undefined)?.name === "alert-destination")).toBe(false);
  });

  it("keeps the App's private key secret, in a Secret with the keys notification-controller reads", () => {
    const secret = findResource(staging, "kubernetes:core/v1:Secret", "staging-notifications-github-app");
    expect(Object.keys(secret.inputs.stringData as Json).sort()).toEqual(["githubAppID", "githubAppInstallationID", "githubAppPrivateKey"]);
    expect((secret.inputs.stringData as Json).githubAppID).toBe("1234567");
    expect((secret.inputs.stringData as Json).githubAppInstallationID).toBe("56789012");
    // The Kubernetes SDK sends a stringData holding a secret as one secret value: the whole map is hidden.
    expect(secret.secretPaths).toEqual(["stringData"]);
    // The Kubernetes SDK marks a Secret's data and stringData outputs secret itself.
    expect(secret.additionalSecretOutputs).toEqual(["data", "stringData"]);
  });

  it("places every Provider and Alert in the Flux namespace only once Flux is installed (they need its CRDs)", () => {
    const instance = findResource(staging, "kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "staging-reconciler-flux-instance");
    for (const object of [...flux(staging, "Provider"), ...flux(staging, "Alert")]) {
      expect((object.inputs.metadata as Json).namespace, object.name).toBe("flux-system");
      expect(object.propertyDependencies.metadata, object.name).toContain(instance.urn);
    }
  });

  it("validates every Provider and Alert against the notification-controller v1.7.4 CRD schema, and the Secret with kubernetes-models", async () => {
    const objects = [...flux(staging, "Provider"), ...flux(staging, "Alert")];
    expect(objects).toHaveLength(6);
    for (const object of objects) expect(fluxSchemaErrors(object.inputs), object.name).toEqual([]);
    const secret = findResource(staging, "kubernetes:core/v1:Secret", "staging-notifications-github-app");
    expect(await modelErrors(secret.inputs)).toBe("");
  });
});

describe("Notifications (prod example config: Slack alerts)", async () => {
  const prod = await plan("prod");

  it("sends errors of every Flux object the platform declares to the alert Provider", () => {
    const declared = FLUX_KINDS.flatMap((kind) => flux(prod, kind).map((r) => `${kind}/${String((r.inputs.metadata as Json).name)}`));
    // The environment sync's GitRepository and Kustomization are created by the operator, not declared directly.
    const expected = [...declared, "GitRepository/flux-system", "Kustomization/flux-system"].sort();
    const errors = fluxObject(prod, "Alert", "alerts-errors");
    expect(spec(errors).eventSeverity).toBe("error");
    expect((spec(errors).eventSources as { kind: string; name: string }[]).map((s) => `${s.kind}/${s.name}`).sort()).toEqual(expected);
    // Prod runs no image automation; its apps' Kustomizations are covered.
    expect(expected).toContain("Kustomization/orders");
  });

  it("sends the changes each Kustomization applied (corrected drift included), and nothing else", () => {
    expect(spec(fluxObject(prod, "Alert", "alerts-drift"))).toEqual({
      providerRef: { name: "alerts" },
      eventSeverity: "info",
      eventSources: ["flux-system", "orders", "payments"].map((name) => ({ kind: "Kustomization", name })),
      inclusionList: [DRIFT_PATTERN],
      eventMetadata: { environment: "prod" },
    });
    expect(spec(fluxObject(prod, "Provider", "alerts"))).toEqual({ type: "slack", secretRef: { name: "alert-destination" } });
  });

  it("keeps the destination's address only in a secret Secret key, never in the Provider", () => {
    const secret = findResource(prod, "kubernetes:core/v1:Secret", "prod-notifications-alert-secret");
    expect(Object.keys(secret.inputs.stringData as Json)).toEqual(["address"]);
    expect(secret.secretPaths).toEqual(["stringData"]);
    expect(spec(fluxObject(prod, "Provider", "alerts")).address).toBeUndefined();
  });

  it("names commit statuses by environment: prod's never overwrite staging's on a shared commit", () => {
    expect(spec(fluxObject(prod, "Provider", "commit-status-orders")).commitStatusExpr).toBe(commitStatusExpr("prod"));
    expect(commitStatusExpr("prod")).not.toBe(commitStatusExpr("staging"));
  });

  it("validates the alert objects against the CRD schemas", () => {
    for (const name of ["alerts-errors", "alerts-drift"]) expect(fluxSchemaErrors(fluxObject(prod, "Alert", name).inputs), name).toEqual([]);
    expect(fluxSchemaErrors(fluxObject(prod, "Provider", "alerts").inputs)).toEqual([]);
  });
});

describe("DRIFT_PATTERN", () => {
  // Go's (?m) flag written as JavaScript's m flag; the rest is the same syntax in RE2 and JavaScript.
  const drift = new RegExp(DRIFT_PATTERN.replace(/^\(\?m\)/, ""), "m");

  it("matches the change lines kustomize-controller sends after server-side apply changed something", () => {
    expect(drift.test("Deployment/shop/orders configured")).toBe(true);
    expect(drift.test("Service/shop/orders unchanged\nConfigMap/shop/orders-env created")).toBe(true);
    expect(drift.test("Namespace/shop deleted")).toBe(true);
  });

  it("does not match the other info events of a Kustomization", () => {
    expect(drift.test("Reconciliation finished in 1.2s, next run in 5m0s")).toBe(false);
    expect(drift.test("Dependencies do not meet ready condition, retrying in 30s")).toBe(false);
    expect(drift.test("Deployment/shop/orders unchanged")).toBe(false);
  });
});

describe("Notifications options", () => {
  it("drops the drift Alert when drift is off, and carries the HMAC key for generic-hmac", async () => {
    const result = await plan(
      "staging",
      {
        notifications: { commitStatus: { githubApp: { appId: 1, installationId: 2 } }, alerts: { type: "generic-hmac", drift: false } },
        notificationsAlertAddress: "https://hooks.example.com/flux",
        notificationsAlertHmacKey: "h".repeat(40),
      },
      ["notificationsAlertAddress", "notificationsAlertHmacKey"],
    );
    expect(flux(result, "Alert").map((a) => (a.inputs.metadata as Json).name)).not.toContain("alerts-drift");
    const secret = findResource(result, "kubernetes:core/v1:Secret", "staging-notifications-alert-secret");
    expect(Object.keys(secret.inputs.stringData as Json).sort()).toEqual(["address", "token"]);
    expect(secret.secretPaths).toEqual(["stringData"]);
    expect(spec(fluxObject(result, "Provider", "alerts")).type).toBe("generic-hmac");
  });

  it("declares nothing when notifications are not configured", async () => {
    const result = await plan("staging", { notifications: undefined, notificationsAppPrivateKey: undefined });
    expect(resourcesOfType(result, "gitops-platform:k8s:Notifications")).toEqual([]);
    expect(flux(result, "Provider")).toEqual([]);
  });

  it("refuses bad args, listing every problem", async () => {
    const args: NotificationsArgs = {
      environment: "Staging",
      namespace: "flux-system",
      githubApp: { appId: 0, installationId: 1.5, privateKey: "k" },
      commitStatuses: [
        { kustomization: "orders", repo: "acme-corp/orders" },
        { kustomization: "orders", repo: "orders" },
      ],
      watched: [],
      alerts: { type: "slack", address: "https://hooks.slack.com/x", hmacKey: "k".repeat(32) },
    };
    const run = runProgram({
      stack: "staging",
      config: { "aws:region": "eu-west-1" },
      program: () => {
        new Notifications("n", args, { provider: new k8s.Provider("k8s", { kubeconfig: "{}" }) });
      },
    });
    await expect(run).rejects.toThrow(
      [
        "gitops-platform:k8s:Notifications n:",
        '  - environment: expected a lowercase RFC 1123 label, got "Staging"',
        "  - githubApp.appId: expected a positive integer, got 0",
        "  - githubApp.installationId: expected a positive integer, got 1.5",
        "  - commitStatuses[1].kustomization: orders is listed twice",
        '  - commitStatuses[1].repo: expected owner/name, got "orders"',
        "  - watched: expected the Flux objects whose errors are alerted",
        "  - alerts.hmacKey: only generic-hmac signs requests, not slack",
      ].join("\n"),
    );
  });
});
