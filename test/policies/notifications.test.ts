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

  it("does not count an Alert that filters messages: an exclusionList or an inclusionList can drop a reconcile's status", async () => {
    const filtered = (extra: object) => [instance, appSource, appKustomization, ...statuses.slice(0, 3), alert("commit-status-orders", "orders", extra)];
    expect(await messages(fluxCommitStatusAlerts, filtered({ exclusionList: [".*"] }))).toEqual([APP_MISSING]);
    expect(await messages(fluxCommitStatusAlerts, filtered({ inclusionList: ["^never$"] }))).toEqual([APP_MISSING]);
    expect(await messages(fluxCommitStatusAlerts, filtered({ inclusionList: [], exclusionList: [] }))).toEqual([]);
  });

  it("reads the Provider's address from its Secret's address key, which overrides spec.address", async () => {
    const secret = (stringData: object) => res("kubernetes:core/v1:Secret", "s", { metadata: { name: "commit-status-github-app", namespace: NS }, stringData: { githubAppID: "1", ...stringData } });
    expect(await messages(fluxCommitStatusAlerts, [...flux, ...statuses, secret({ address: "https://github.com/acme-corp/gitops-platform" })])).toEqual([APP_MISSING]);
    expect(await messages(fluxCommitStatusAlerts, [...flux, ...statuses, secret({})])).toEqual([]);
  });

  it("takes a missing metadata.namespace as the default namespace, not as any namespace", async () => {
    const unplaced = res("kubernetes:notification.toolkit.fluxcd.io/v1beta3:Alert", "a", {
      metadata: { name: "commit-status-orders" },
      spec: { providerRef: { name: "commit-status-orders" }, eventSeverity: "info", eventSources: [{ kind: "Kustomization", name: "orders" }] },
    });
    expect(await messages(fluxCommitStatusAlerts, [...flux, ...statuses.slice(0, 3), unplaced])).toEqual([APP_MISSING]);
  });

  it("does not count a github Provider without a credential: no secretRef, or a Secret with neither token nor GitHub App details", async () => {
    const noRef = withInputs(statuses[2]!, { spec: { type: "github", address: "https://github.com/acme-corp/orders" } });
    expect(await messages(fluxCommitStatusAlerts, [...flux, ...statuses.slice(0, 2), noRef, statuses[3]!])).toEqual([APP_MISSING]);
    const empty = res("kubernetes:core/v1:Secret", "s", { metadata: { name: "commit-status-github-app", namespace: NS }, stringData: { other: "x" } });
    expect(await messages(fluxCommitStatusAlerts, [...flux, ...statuses, empty])).toEqual([SYNC_MISSING, APP_MISSING]);
    const token = withInputs(empty, { stringData: { token: "x" } });
    expect(await messages(fluxCommitStatusAlerts, [...flux, ...statuses, token])).toEqual([]);
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

  it("fails a plain-HTTP address held in the Provider's Secret (stringData or base64 data)", async () => {
    expect(await messages(notificationHttpsOnly, [alertProvider({ type: "generic-hmac" }), alertSecret({ address: "http://hooks.example.com/token-in-path" })])).toEqual([
      'Provider "alerts" address (from Secret "alert-destination") uses http://; alert destinations must use https://',
    ]);
    const encoded = withInputs(alertSecret({}), { stringData: undefined, data: { address: Buffer.from("http://hooks.example.com/x").toString("base64") } });
    expect(await messages(notificationHttpsOnly, [alertProvider({ type: "msteams" }), encoded])).toEqual([
      'Provider "alerts" address (from Secret "alert-destination") uses http://; alert destinations must use https://',
    ]);
  });

  it("passes an http:// proxy (HTTPS to the destination is tunnelled through it with CONNECT) but not one that carries credentials in the clear", async () => {
    const proxySecret = (stringData: object) => res("kubernetes:core/v1:Secret", "proxy-secret", { metadata: { name: "proxy", namespace: NS }, stringData });
    expect(
      await messages(notificationHttpsOnly, [
        alertProvider({ type: "slack", address: "https://hooks.slack.com/services/T/B/X", proxy: "http://proxy.internal:3128", proxySecretRef: { name: "proxy" } }),
        alertSecret({ proxy: "http://proxy.internal:3128" }),
        proxySecret({ address: "http://proxy.internal:3128" }),
      ]),
    ).toEqual([]);
    expect(
      await messages(notificationHttpsOnly, [
        alertProvider({ type: "slack", proxy: "http://user:pass@proxy.internal:3128", proxySecretRef: { name: "proxy" } }),
        proxySecret({ address: "http://proxy.internal:3128", username: "u", password: "p" }),
      ]),
    ).toEqual([
      'Provider "alerts" proxy (from Secret "proxy") is an http:// proxy with credentials, which would cross in the clear; use an https:// proxy or none',
      'Provider "alerts" spec.proxy is an http:// proxy with credentials, which would cross in the clear; use an https:// proxy or none',
    ]);
    expect(await messages(notificationHttpsOnly, [alertProvider({ type: "slack", proxySecretRef: { name: "proxy" } }), proxySecret({ address: "https://proxy.internal:3128", username: "u", password: "p" })])).toEqual([]);
  });

  it("requires TLS of NATS too (tls:// or wss://: nats.go dials nats:// in plaintext), checks a telegram proxy, and leaves addresses that are not URLs alone", async () => {
    expect(await messages(notificationHttpsOnly, [alertProvider({ type: "nats", address: "nats://nats.internal:4222" })])).toEqual([
      'Provider "alerts" spec.address uses nats://; alert destinations must use tls:// or wss://',
    ]);
    expect(await messages(notificationHttpsOnly, [alertProvider({ type: "nats", address: "tls://nats.internal:4222" })])).toEqual([]);
    expect(await messages(notificationHttpsOnly, [alertProvider({ type: "telegram", address: "ignored", proxy: "http://u:p@proxy.internal:3128" })])).toEqual([
      'Provider "alerts" spec.proxy is an http:// proxy with credentials, which would cross in the clear; use an https:// proxy or none',
    ]);
    expect(await messages(notificationHttpsOnly, [alertProvider({ type: "googlepubsub", address: "my-project" })])).toEqual([]);
  });

  it("notes an address unknown during preview", async () => {
    const found = await violations(notificationHttpsOnly, [alertProvider({ type: "slack", address: UNKNOWN })]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([["advisory", unknownNote("notification-https-only", "spec.address")]]);
  });
});
