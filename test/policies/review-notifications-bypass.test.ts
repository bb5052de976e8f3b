/**
 * Review: commit-status alerts that the policy counts although notification-controller v1.7.4
 * (internal/server/event_handlers.go) would never report the Kustomization through them, and an
 * https-only rule that refuses a correct proxy.
 */
import { describe, expect, it } from "vitest";
import { fluxCommitStatusAlerts, notificationHttpsOnly } from "../../policies/notifications";
import { messages, res, withInputs } from "./harness";

const NS = "flux-system";
const appSource = res("kubernetes:source.toolkit.fluxcd.io/v1:GitRepository", "orders-source", {
  metadata: { name: "orders", namespace: NS },
  spec: { url: "ssh://git@github.com/acme-corp/orders.git", ref: { branch: "main" } },
});
const appKustomization = res("kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", "orders-kustomization", {
  metadata: { name: "orders", namespace: NS },
  spec: { path: "./deploy/staging", sourceRef: { kind: "GitRepository", name: "orders" } },
});
const provider = (spec: object = {}) =>
  res("kubernetes:notification.toolkit.fluxcd.io/v1beta3:Provider", "p", {
    metadata: { name: "commit-status-orders", namespace: NS },
    spec: { type: "github", address: "https://github.com/acme-corp/orders", secretRef: { name: "commit-status-github-app" }, ...spec },
  });
const alert = (spec: object = {}, metadata: object = { name: "commit-status-orders", namespace: NS }) =>
  res("kubernetes:notification.toolkit.fluxcd.io/v1beta3:Alert", "a", {
    metadata,
    spec: { providerRef: { name: "commit-status-orders" }, eventSeverity: "info", eventSources: [{ kind: "Kustomization", name: "orders" }], ...spec },
  });
const APP_MISSING =
  'Kustomization "orders" (acme-corp/orders) has no commit-status alert; declare a github Provider with address https://github.com/acme-corp/orders and an Alert with eventSeverity info on Kustomization "orders"';

describe("review: flux-commit-status-alerts counts alerts that report nothing", () => {
  it("an Alert whose exclusionList drops every event (filterAlertsForEvent skips it)", async () => {
    expect(await messages(fluxCommitStatusAlerts, [appSource, appKustomization, provider(), alert({ exclusionList: [".*"] })])).toEqual([APP_MISSING]);
  });

  it("an Alert whose inclusionList matches no event message", async () => {
    expect(await messages(fluxCommitStatusAlerts, [appSource, appKustomization, provider(), alert({ inclusionList: ["^never$"] })])).toEqual([APP_MISSING]);
  });

  it("a github Provider whose Secret's address key (which overrides spec.address) names another repository", async () => {
    const secret = res("kubernetes:core/v1:Secret", "s", {
      metadata: { name: "commit-status-github-app", namespace: NS },
      stringData: { address: "https://github.com/acme-corp/gitops-platform" },
    });
    expect(await messages(fluxCommitStatusAlerts, [appSource, appKustomization, provider(), alert(), secret])).toEqual([APP_MISSING]);
  });

  it("an Alert without metadata.namespace: applied in the default namespace, where its sources default too", async () => {
    expect(await messages(fluxCommitStatusAlerts, [appSource, appKustomization, provider(), alert({}, { name: "commit-status-orders" })])).toEqual([APP_MISSING]);
  });

  it("a github Provider without any credential (getRepoInfoAndGithubClient: 'github token or github app details must be specified')", async () => {
    const noCredential = withInputs(provider(), { spec: { type: "github", address: "https://github.com/acme-corp/orders" } });
    expect(await messages(fluxCommitStatusAlerts, [appSource, appKustomization, noCredential, alert()])).toEqual([APP_MISSING]);
  });
});

describe("review: notification-https-only", () => {
  it("passes an http:// proxy: HTTPS to the destination is tunnelled through it with CONNECT, end to end", async () => {
    const slack = res("kubernetes:notification.toolkit.fluxcd.io/v1beta3:Provider", "alerts", {
      metadata: { name: "alerts", namespace: NS },
      spec: { type: "slack", address: "https://hooks.slack.com/services/T/B/X", proxy: "http://proxy.internal:3128" },
    });
    expect(await messages(notificationHttpsOnly, [slack])).toEqual([]);
  });
});
