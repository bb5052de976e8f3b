import { describe, expect, it } from "vitest";
import { fluxCommitStatusAlerts, notificationHttpsOnly } from "../../policies/notifications";
import { messages, res, UNKNOWN, unknownNote, violations, withInputs } from "./harness";

const NS = "flux-system";
const instance = res("kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "flux", {
  metadata: { name: "flux", namespace: NS },
  spec: { sync: { kind: "GitRepository", name: "flux-system", url: "ssh://git@github.com/acme-corp/gitops-platform.git", ref: "refs/heads/staging", path: "clusters/staging" } },
});
const appSource = res("kubernetes:source.toolkit.fluxcd.io/v1:GitRepository", "orders-source", {
  metadata: { name: "orders", namespace: NS },
  spec: { url: "ssh://git@github.com/acme-corp/orders.git", ref: { branch: "main" } },
});
const appKustomization = res("kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", "orders-kustomization", {
  metadata: { name: "orders", namespace: NS },
  spec: { path: "./deploy/staging", sourceRef: { kind: "GitRepository", name: "orders" } },
});

const provider = (name: string, repo: string, extra: object = {}) =>
  res("kubernetes:notification.toolkit.fluxcd.io/v1beta3:Provider", `${name}-provider`, {
    metadata: { name, namespace: NS },
    spec: { type: "github", address: `https://github.com/${repo}`, secretRef: { name: "commit-status-github-app" }, ...extra },
  });
const alert = (name: string, kustomization: string, extra: object = {}) =>
  res("kubernetes:notification.toolkit.fluxcd.io/v1beta3:Alert", `${name}-alert`, {
    metadata: { name, namespace: NS },
    spec: { providerRef: { name }, eventSeverity: "info", eventSources: [{ kind: "Kustomization", name: kustomization }], ...extra },
  });

const statuses = [
  provider("commit-status-flux-system", "acme-corp/gitops-platform"),
  alert("commit-status-flux-system", "flux-system"),
  provider("commit-status-orders", "acme-corp/orders"),
  alert("commit-status-orders", "orders"),
];
const flux = [instance, appSource, appKustomization];

const SYNC_MISSING =
  'the environment sync "flux-system" (acme-corp/gitops-platform) has no commit-status alert; declare a github Provider with address https://github.com/acme-corp/gitops-platform and an Alert with eventSeverity info on Kustomization "flux-system"';
const APP_MISSING =
  'Kustomization "orders" (acme-corp/orders) has no commit-status alert; declare a github Provider with address https://github.com/acme-corp/orders and an Alert with eventSeverity info on Kustomization "orders"';

describe("flux-commit-status-alerts", () => {
  it("passes when the environment sync and every app Kustomization report to their repositories", async () => {
    expect(await messages(fluxCommitStatusAlerts, [...flux, ...statuses])).toEqual([]);
  });

  it("fails an environment without any commit-status alert", async () => {
    expect(await messages(fluxCommitStatusAlerts, flux)).toEqual([SYNC_MISSING, APP_MISSING]);
  });

  it("fails an alert that reports only errors: a success would never mark the commit", async () => {
    const [p0, , p1, a1] = statuses;
    expect(await messages(fluxCommitStatusAlerts, [...flux, p0!, alert("commit-status-flux-system", "flux-system", { eventSeverity: "error" }), p1!, a1!])).toEqual([SYNC_MISSING]);
  });

  it("fails a github Provider pointed at another repository than the Kustomization's source", async () => {
    const [p0, a0, , a1] = statuses;
    expect(await messages(fluxCommitStatusAlerts, [...flux, p0!, a0!, provider("commit-status-orders", "acme-corp/gitops-platform"), a1!])).toEqual([APP_MISSING]);
  });

  it("fails a Provider of another type, and a suspended alert", async () => {
    const [p0, a0, , a1] = statuses;
    expect(await messages(fluxCommitStatusAlerts, [...flux, p0!, a0!, provider("commit-status-orders", "acme-corp/orders", { type: "slack" }), a1!])).toEqual([APP_MISSING]);
    expect(await messages(fluxCommitStatusAlerts, [...flux, p0!, alert("commit-status-flux-system", "flux-system", { suspend: true }), ...statuses.slice(2)])).toEqual([SYNC_MISSING]);
  });

  it("accepts a wildcard event source, and does not count an alert in another namespace", async () => {
    const wildcard = alert("commit-status-orders", "*");
    expect(await messages(fluxCommitStatusAlerts, [...flux, ...statuses.slice(0, 3), wildcard])).toEqual([]);
    const elsewhere = withInputs(alert("commit-status-orders", "orders"), { metadata: { name: "commit-status-orders", namespace: "apps" } });
    expect(await messages(fluxCommitStatusAlerts, [...flux, ...statuses.slice(0, 3), elsewhere])).toEqual([APP_MISSING]);
  });

  it("joins a Kustomization to its source through the dependency when the source name is unknown", async () => {
    const unknownRef = res(
      "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization",
      "orders-kustomization",
      { metadata: { name: "orders", namespace: NS }, spec: { path: "./deploy", sourceRef: { kind: "GitRepository", name: UNKNOWN } } },
      { deps: { spec: [appSource] } },
    );
    expect(await messages(fluxCommitStatusAlerts, [instance, appSource, unknownRef, ...statuses.slice(0, 2)])).toEqual([APP_MISSING]);
  });

  it("notes a Provider address unknown during preview", async () => {
    const unknownAddress = provider("commit-status-orders", "acme-corp/orders", { address: UNKNOWN });
    const found = await violations(fluxCommitStatusAlerts, [...flux, ...statuses.slice(0, 2), unknownAddress, statuses[3]!]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([
      ["mandatory", APP_MISSING],
      ["advisory", unknownNote("flux-commit-status-alerts", "spec.address")],
    ]);
  });
});

const alertSecret = (data: Record<string, string>) =>
  res("kubernetes:core/v1:Secret", "alert-secret", { metadata: { name: "alert-destination", namespace: NS }, type: "Opaque", stringData: data });
const alertProvider = (spec: object) =>
  res("kubernetes:notification.toolkit.fluxcd.io/v1beta3:Provider", "alert-provider", { metadata: { name: "alerts", namespace: NS }, spec: { secretRef: { name: "alert-destination" }, ...spec } });

describe("notification-https-only", () => {
  it("passes https addresses in the spec and in the Secret", async () => {
    expect(
      await messages(notificationHttpsOnly, [alertProvider({ type: "slack" }), alertSecret({ address: "https://hooks.slack.com/services/T/B/X" }), ...statuses]),
    ).toEqual([]);
  });

  it("fails a plain-HTTP spec.address without quoting it", async () => {
    expect(await messages(notificationHttpsOnly, [provider("commit-status-orders", "acme-corp/orders", { address: "http://github.example.com/acme-corp/orders" })])).toEqual([
      'Provider "commit-status-orders" spec.address uses http://; alert destinations must use https://',
    ]);
  });

  it("fails a plain-HTTP address or proxy held in the Provider's Secret (stringData or base64 data)", async () => {
    expect(await messages(notificationHttpsOnly, [alertProvider({ type: "generic-hmac" }), alertSecret({ address: "http://hooks.example.com/token-in-path" })])).toEqual([
      'Provider "alerts" address (from Secret "alert-destination") uses http://; alert destinations must use https://',
    ]);
    const encoded = withInputs(alertSecret({}), { stringData: undefined, data: { proxy: Buffer.from("http://proxy.internal:3128").toString("base64") } });
    expect(await messages(notificationHttpsOnly, [alertProvider({ type: "msteams" }), encoded])).toEqual([
      'Provider "alerts" proxy (from Secret "alert-destination") uses http://; alert destinations must use https://',
    ]);
  });

  it("fails a plain-HTTP spec.proxy", async () => {
    expect(await messages(notificationHttpsOnly, [alertProvider({ type: "slack", proxy: "http://proxy.internal:3128" })])).toEqual([
      'Provider "alerts" spec.proxy uses http://; alert destinations must use https://',
    ]);
  });

  it("leaves Provider types that do not post over HTTP alone", async () => {
    expect(await messages(notificationHttpsOnly, [alertProvider({ type: "nats", address: "nats://nats.internal:4222" })])).toEqual([]);
  });

  it("notes an address unknown during preview", async () => {
    const found = await violations(notificationHttpsOnly, [alertProvider({ type: "slack", address: UNKNOWN })]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([["advisory", unknownNote("notification-https-only", "spec.address")]]);
  });
});
