// Every documented default, applied whether its parent is absent, empty or partly written.
// Bad input is the point of these tests: fixtures are bent into shapes no type describes.
/* eslint-disable @typescript-eslint/no-unsafe-member-access */
import { describe, expect, it } from "vitest";
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
  const OPERATOR_RESOURCES = { requests: { cpu: "10m", memory: "64Mi" }, limits: { cpu: "2000m", memory: "1Gi" } };
  const OPERATOR = { version: "v0.58.1", image: "ghcr.io/controlplaneio-fluxcd/flux-operator:v0.58.1", replicas: 1, resources: OPERATOR_RESOURCES };
  const WAF = { enabled: false, rateLimit: 2000, managedRuleGroups: ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"] };
  const RECONCILER = {
    namespace: "flux-system",
    operator: OPERATOR,
    flux: { version: "2.7.3", registry: "ghcr.io/fluxcd" },
    interval: "1m",
    metricsNamespace: "monitoring",
    commitAuthor: { name: "fluxcdbot", email: "fluxcdbot@users.noreply.github.com" },
  };
  type Variant = "absent" | "empty";
  // [label, parent key path, the parent as parsed when absent or empty, a partly written parent, the parent as parsed from it, the variants it may take]
  const cases: [string, (string | number)[], object | undefined, object, object, Variant[]][] = [
    ["storage", ["storage"], { noncurrentVersionExpirationDays: 30, abortIncompleteUploadDays: 7, kmsDeletionWindowDays: 30, protect: false }, { protect: true }, { noncurrentVersionExpirationDays: 30, abortIncompleteUploadDays: 7, kmsDeletionWindowDays: 30, protect: true }, ["absent", "empty"]],
    ["registry", ["registry"], { keepLastImages: 30, untaggedExpiryDays: 7 }, { keepLastImages: 5 }, { keepLastImages: 5, untaggedExpiryDays: 7 }, ["absent", "empty"]],
    ["aws", ["aws"], undefined, { accountId: "111111111111", clusterName: "platform" }, { accountId: "111111111111", clusterName: "platform", tags: {} }, []],
    ["ci", ["ci"], undefined, { stateBucket: "acme-state", secretsKeyArn: "arn:aws:kms:eu-west-1:111111111111:key/0b7c2a52-6a7e-4f0e-9d8a-3c1f5e2b7a10" }, { stateBucket: "acme-state", secretsKeyArn: "arn:aws:kms:eu-west-1:111111111111:key/0b7c2a52-6a7e-4f0e-9d8a-3c1f5e2b7a10", createOidcProvider: true }, []],
    ["firewall", ["firewall"], undefined, { ingress: [{ description: "HTTPS", fromPort: 443, toPort: 443, cidrs: ["203.0.113.0/24"] }] }, { ingress: [{ description: "HTTPS", protocol: "tcp", fromPort: 443, toPort: 443, cidrs: ["203.0.113.0/24"] }], egress: [], waf: WAF }, []],
    ["firewall.waf", ["firewall", "waf"], WAF, { enabled: true }, { ...WAF, enabled: true }, ["absent", "empty"]],
    [
      "github",
      ["github"],
      undefined,
      { owner: "acme-corp", configRepo: { repo: "acme-corp/gitops-platform", branch: "staging", deployKey: { readWrite: true } } },
      {
        owner: "acme-corp",
        configRepo: { repo: "acme-corp/gitops-platform", branch: "staging", path: "clusters/staging", deployKey: { generation: 0, algorithm: "ED25519", readWrite: true }, actionsSettings: true },
        branchProtection: { enabled: true, requiredReviews: 1, requiredChecks: ["preview"] },
        knownHosts: GITHUB_KNOWN_HOSTS,
        hookCidrs: [],
      },
      [],
    ],
    ["github.branchProtection", ["github", "branchProtection"], { enabled: true, requiredReviews: 1, requiredChecks: ["preview"] }, { requiredReviews: 2 }, { enabled: true, requiredReviews: 2, requiredChecks: ["preview"] }, ["absent", "empty"]],
    ["apps[1]", ["apps", 1], undefined, { name: "payments", repo: "acme-corp/payments" }, { name: "payments", repo: "acme-corp/payments", branch: "main", path: "deploy/staging", interval: "5m", deployKey: { generation: 0, algorithm: "ED25519", readWrite: false } }, []],
    ["apps[1].deployKey", ["apps", 1, "deployKey"], { generation: 0, algorithm: "ED25519", readWrite: false }, { generation: 2 }, { generation: 2, algorithm: "ED25519", readWrite: false }, ["absent", "empty"]],
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
    ["reconciler.operator.resources", ["reconciler", "operator", "resources"], OPERATOR_RESOURCES, { limits: { memory: "2Gi" } }, { ...OPERATOR_RESOURCES, limits: { cpu: "2000m", memory: "2Gi" } }, ["absent", "empty"]],
    ["reconciler.operator.resources.requests", ["reconciler", "operator", "resources", "requests"], { cpu: "10m", memory: "64Mi" }, { cpu: "100m" }, { cpu: "100m", memory: "64Mi" }, ["absent", "empty"]],
    ["reconciler.operator.resources.limits", ["reconciler", "operator", "resources", "limits"], { cpu: "2000m", memory: "1Gi" }, { memory: "2Gi" }, { cpu: "2000m", memory: "2Gi" }, ["absent", "empty"]],
    ["reconciler.flux", ["reconciler", "flux"], { version: "2.7.3", registry: "ghcr.io/fluxcd" }, { registry: "registry.example.com/fluxcd" }, { version: "2.7.3", registry: "registry.example.com/fluxcd" }, ["absent", "empty"]],
    ["reconciler.commitAuthor", ["reconciler", "commitAuthor"], { name: "fluxcdbot", email: "fluxcdbot@users.noreply.github.com" }, { name: "bot" }, { name: "bot", email: "fluxcdbot@users.noreply.github.com" }, ["absent", "empty"]],
    [
      "reconciler.webhook",
      ["reconciler", "webhook"],
      undefined,
      { host: "flux-webhook.example.com", certificateArn: "arn:aws:acm:eu-west-1:111111111111:certificate/0b7c2a52-6a7e-4f0e-9d8a-3c1f5e2b7a10" },
      {
        host: "flux-webhook.example.com",
        certificateArn: "arn:aws:acm:eu-west-1:111111111111:certificate/0b7c2a52-6a7e-4f0e-9d8a-3c1f5e2b7a10",
        ingressClassName: "alb",
        sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
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
    expect(deployKey(undefined)).toEqual({ generation: 0, algorithm: "ED25519", readWrite: false });
    expect(deployKey({})).toEqual({ generation: 0, algorithm: "ED25519", readWrite: false });
    expect(deployKey({ generation: 1 })).toEqual({ generation: 1, algorithm: "ED25519", readWrite: false });
  });

  it("derives the operator image from the operator version, and keeps an image given without a version", () => {
    const operator = (value: unknown) => parse(withChange((v) => setAt(v, ["reconciler", "operator"], value))).reconciler.operator;
    expect(operator({ version: "v0.58.1" }).image).toBe("ghcr.io/controlplaneio-fluxcd/flux-operator:v0.58.1");
    const pinned = `ghcr.io/controlplaneio-fluxcd/flux-operator:v0.58.1@sha256:${"b".repeat(64)}`;
    expect(operator({ image: pinned })).toMatchObject({ version: "v0.58.1", image: pinned });
  });
});
