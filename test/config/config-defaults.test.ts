// Every documented default, applied whether its parent is absent, empty or partly written.
// Bad input is the point of these tests: fixtures are bent into shapes no type describes.
/* eslint-disable @typescript-eslint/no-unsafe-member-access */
import { describe, expect, it } from "vitest";
import { CI_IDENTITY_DEFAULTS } from "../../components/aws/ci-identity";
import { REGISTRY_DEFAULTS } from "../../components/aws/registry";
import { STORAGE_DEFAULTS } from "../../components/aws/storage";
import { FLUX_VERSION } from "../../components/config/schema";
import { DEPLOY_KEY_DEFAULTS } from "../../components/github/deploy-key";
import { GITHUB_WIRING_DEFAULTS } from "../../components/github/github-wiring";
import { FLUX_OPERATOR_DEFAULTS, VENDORED_OPERATOR_VERSION } from "../../components/k8s/flux-operator";
import { WEBHOOK_RECEIVER_DEFAULTS } from "../../components/k8s/webhook-receiver";
import { GITHUB_KNOWN_HOSTS } from "../../policies/vocabulary";
import { P, parse, valid, withChange, type Values } from "../support/config-values";

/** Sets a value at a key path (`["reconciler", "operator"]`) of a config, creating parents; undefined removes it. */
function setAt(values: Values, keyPath: readonly (string | number)[], value: unknown): void {
  const [top, ...rest] = keyPath;
  const topKey = `${P}:${String(top)}`;
  if (rest.length === 0) {
    if (value === undefined) delete values[topKey];
    else values[topKey] = value;
    return;
  }
  let node = (values[topKey] ??= {}) as Record<string | number, unknown>;
  rest.slice(0, -1).forEach((segment) => (node = (node[segment] ??= {}) as Record<string | number, unknown>));
  const last = rest[rest.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
}

function getAt(config: unknown, keyPath: readonly (string | number)[]): unknown {
  return keyPath.reduce<unknown>((node, segment) => (node as Record<string | number, unknown> | undefined)?.[segment], config);
}

describe("config: every documented default applies whether its parent is absent, empty or partly written", () => {
  // A default a component also has comes from its `*_DEFAULTS` constant: the point is that the schema
  // applies it in every shape of the parent, whatever its value. The schema's own defaults (no
  // component has them: the WAF's, the reconciler's namespace, interval, metrics namespace, Flux
  // registry and commit author, an app's branch and intervals, the image policy's order and sort,
  // the derived paths) stay literals on purpose: this is their independent expectation, so changing
  // one in the schema must be confirmed here too.
  const DEPLOY_KEY = { generation: DEPLOY_KEY_DEFAULTS.generation, algorithm: DEPLOY_KEY_DEFAULTS.algorithm, readWrite: DEPLOY_KEY_DEFAULTS.readWrite };
  const BRANCH_PROTECTION = { enabled: GITHUB_WIRING_DEFAULTS.protectBranch, requiredReviews: GITHUB_WIRING_DEFAULTS.requiredReviews, requiredChecks: [...GITHUB_WIRING_DEFAULTS.requiredChecks] };
  const OPERATOR_RESOURCES = FLUX_OPERATOR_DEFAULTS.resources;
  const OPERATOR = { version: VENDORED_OPERATOR_VERSION, image: `ghcr.io/controlplaneio-fluxcd/flux-operator:${VENDORED_OPERATOR_VERSION}`, replicas: FLUX_OPERATOR_DEFAULTS.replicas, resources: OPERATOR_RESOURCES };
  const WAF = { enabled: false, rateLimit: 2000, managedRuleGroups: ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"] };
  const FLUX = { version: FLUX_VERSION, registry: "ghcr.io/fluxcd" };
  const COMMIT_AUTHOR = { name: "fluxcdbot", email: "fluxcdbot@users.noreply.github.com" };
  const RECONCILER = {
    namespace: "flux-system",
    operator: OPERATOR,
    flux: FLUX,
    interval: "1m",
    metricsNamespace: "monitoring",
    commitAuthor: COMMIT_AUTHOR,
  };
  type Variant = "absent" | "empty";
  // [label, parent key path, the parent as parsed when absent or empty, a partly written parent, the parent as parsed from it, the variants it may take]
  const cases: [string, (string | number)[], object | undefined, object, object, Variant[]][] = [
    ["storage", ["storage"], STORAGE_DEFAULTS, { protect: true }, { ...STORAGE_DEFAULTS, protect: true }, ["absent", "empty"]],
    ["registry", ["registry"], REGISTRY_DEFAULTS, { keepLastImages: 5 }, { ...REGISTRY_DEFAULTS, keepLastImages: 5 }, ["absent", "empty"]],
    ["aws", ["aws"], undefined, { accountId: "111111111111", clusterName: "platform" }, { accountId: "111111111111", clusterName: "platform", tags: {} }, []],
    ["ci", ["ci"], undefined, { stateBucket: "acme-state", secretsKeyArn: "arn:aws:kms:eu-west-1:111111111111:key/0b7c2a52-6a7e-4f0e-9d8a-3c1f5e2b7a10" }, { stateBucket: "acme-state", secretsKeyArn: "arn:aws:kms:eu-west-1:111111111111:key/0b7c2a52-6a7e-4f0e-9d8a-3c1f5e2b7a10", createOidcProvider: CI_IDENTITY_DEFAULTS.createOidcProvider }, []],
    ["firewall", ["firewall"], undefined, { ingress: [{ description: "HTTPS", fromPort: 443, toPort: 443, cidrs: ["203.0.113.0/24"] }] }, { ingress: [{ description: "HTTPS", protocol: "tcp", fromPort: 443, toPort: 443, cidrs: ["203.0.113.0/24"] }], egress: [], waf: WAF }, []],
    ["firewall.waf", ["firewall", "waf"], WAF, { enabled: true }, { ...WAF, enabled: true }, ["absent", "empty"]],
    [
      "github",
      ["github"],
      undefined,
      { owner: "acme-corp", configRepo: { repo: "acme-corp/gitops-platform", branch: "staging", deployKey: { readWrite: true } } },
      {
        owner: "acme-corp",
        configRepo: { repo: "acme-corp/gitops-platform", branch: "staging", path: "clusters/staging", deployKey: { ...DEPLOY_KEY, readWrite: true }, actionsSettings: GITHUB_WIRING_DEFAULTS.actionsSettings },
        branchProtection: BRANCH_PROTECTION,
        knownHosts: GITHUB_KNOWN_HOSTS,
        hookCidrs: [],
      },
      [],
    ],
    ["github.branchProtection", ["github", "branchProtection"], BRANCH_PROTECTION, { requiredReviews: 2 }, { ...BRANCH_PROTECTION, requiredReviews: 2 }, ["absent", "empty"]],
    ["apps[1]", ["apps", 1], undefined, { name: "payments", repo: "acme-corp/payments" }, { name: "payments", repo: "acme-corp/payments", branch: "main", path: "deploy/staging", interval: "5m", deployKey: DEPLOY_KEY }, []],
    ["apps[1].deployKey", ["apps", 1, "deployKey"], DEPLOY_KEY, { generation: 2 }, { ...DEPLOY_KEY, generation: 2 }, ["absent", "empty"]],
    ["apps[0].imageAutomation", ["apps", 0, "imageAutomation"], undefined, { policy: { semver: ">=1.0.0" } }, { policy: { semver: ">=1.0.0" }, interval: "5m", pushBranch: "image-updates/staging" }, []],
    [
      "apps[0].imageAutomation.policy (pattern)",
      ["apps", 0, "imageAutomation", "policy"],
      undefined,
      { pattern: "^main-(?P<ts>[0-9]+)$", extract: "$ts" },
      { pattern: "^main-(?P<ts>[0-9]+)$", extract: "$ts", order: "asc", sort: "numerical" },
      [],
    ],
    ["reconciler", ["reconciler"], RECONCILER, { interval: "2m" }, { ...RECONCILER, interval: "2m" }, ["absent", "empty"]],
    ["reconciler.operator", ["reconciler", "operator"], OPERATOR, { replicas: 2 }, { ...OPERATOR, replicas: 2 }, ["absent", "empty"]],
    ["reconciler.operator.resources", ["reconciler", "operator", "resources"], OPERATOR_RESOURCES, { limits: { memory: "2Gi" } }, { ...OPERATOR_RESOURCES, limits: { ...OPERATOR_RESOURCES.limits, memory: "2Gi" } }, ["absent", "empty"]],
    ["reconciler.operator.resources.requests", ["reconciler", "operator", "resources", "requests"], OPERATOR_RESOURCES.requests, { cpu: "100m" }, { ...OPERATOR_RESOURCES.requests, cpu: "100m" }, ["absent", "empty"]],
    ["reconciler.operator.resources.limits", ["reconciler", "operator", "resources", "limits"], OPERATOR_RESOURCES.limits, { memory: "2Gi" }, { ...OPERATOR_RESOURCES.limits, memory: "2Gi" }, ["absent", "empty"]],
    ["reconciler.flux", ["reconciler", "flux"], FLUX, { registry: "registry.example.com/fluxcd" }, { ...FLUX, registry: "registry.example.com/fluxcd" }, ["absent", "empty"]],
    ["reconciler.commitAuthor", ["reconciler", "commitAuthor"], COMMIT_AUTHOR, { name: "bot" }, { ...COMMIT_AUTHOR, name: "bot" }, ["absent", "empty"]],
    [
      "reconciler.webhook",
      ["reconciler", "webhook"],
      undefined,
      { host: "flux-webhook.example.com", certificateArn: "arn:aws:acm:eu-west-1:111111111111:certificate/0b7c2a52-6a7e-4f0e-9d8a-3c1f5e2b7a10" },
      {
        host: "flux-webhook.example.com",
        certificateArn: "arn:aws:acm:eu-west-1:111111111111:certificate/0b7c2a52-6a7e-4f0e-9d8a-3c1f5e2b7a10",
        ...WEBHOOK_RECEIVER_DEFAULTS,
      },
      [],
    ],
  ];

  /** The webhook needs GitHub's hook ranges to reach the receiver; everything else parses on the valid base. */
  const baseFor = (keyPath: readonly (string | number)[]) =>
    keyPath[1] === "webhook" ? () => withChange((v) => (v[`${P}:github`].hookCidrs = ["203.0.113.0/24"])) : valid;

  it.each(cases)("%s", (_label, keyPath, defaults, partial, parsedPartial, variants) => {
    const parsed = (value: unknown) => getAt(parse(withChange((v) => setAt(v, keyPath, value), baseFor(keyPath))), keyPath);
    expect(parsed(partial), "partly written").toEqual(parsedPartial);
    if (variants.includes("empty")) expect(parsed({}), "empty").toEqual(defaults);
    if (variants.includes("absent")) expect(parsed(undefined), "absent").toEqual(defaults);
  });

  it("applies the config repo's deploy key defaults too (without image automation, which needs a read-write key)", () => {
    const base = () => withChange((v) => delete v[`${P}:apps`][0].imageAutomation);
    const deployKey = (value: unknown) => parse(withChange((v) => setAt(v, ["github", "configRepo", "deployKey"], value), base)).github.configRepo.deployKey;
    const defaults = { generation: DEPLOY_KEY_DEFAULTS.generation, algorithm: DEPLOY_KEY_DEFAULTS.algorithm, readWrite: DEPLOY_KEY_DEFAULTS.readWrite };
    expect(deployKey(undefined)).toEqual(defaults);
    expect(deployKey({})).toEqual(defaults);
    expect(deployKey({ generation: 1 })).toEqual({ ...defaults, generation: 1 });
  });

  it("derives the operator image from the operator version, and keeps an image given without a version", () => {
    const operator = (value: unknown) => parse(withChange((v) => setAt(v, ["reconciler", "operator"], value))).reconciler.operator;
    expect(operator({ version: "v0.58.1" }).image).toBe("ghcr.io/controlplaneio-fluxcd/flux-operator:v0.58.1");
    const pinned = `ghcr.io/controlplaneio-fluxcd/flux-operator:v0.58.1@sha256:${"b".repeat(64)}`;
    expect(operator({ image: pinned })).toMatchObject({ version: "v0.58.1", image: pinned });
  });
});
