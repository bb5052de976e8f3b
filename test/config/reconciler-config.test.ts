import { describe, expect, it } from "vitest";
import { cidrContains, parseConfig, quantityValue, type PlatformConfig } from "../../components/config";
import { configProblems, encodeConfig } from "../support/config";
import { WEBHOOK, stackConfig } from "../support/reconciler";

type Json = Record<string, unknown>;

/** Parses a stack's example config with `patch` deep-merged into its `gitops-platform:` keys. */
function parse(stack: "staging" | "prod", patch: Json = {}): PlatformConfig {
  const { config, secretKeys } = stackConfig(stack, patch);
  return parseConfig({ stack, values: encodeConfig(config), secretKeys });
}

/** The problems a config raises (none: []). */
function problems(stack: "staging" | "prod", patch: Json = {}): string[] {
  const { config, secretKeys } = stackConfig(stack, patch);
  return configProblems({ stack, values: encodeConfig(config), secretKeys });
}

const automatedApp = (imageAutomation: Json) => ({
  apps: [{ name: "orders", repo: "acme-corp/orders", path: "deploy/staging", imageAutomation: { pushBranch: "image-updates/staging", ...imageAutomation } }],
});

describe("reconciler config", () => {
  it("fills defaults inside a partly given section", () => {
    const config = parse("staging", {
      reconciler: { operator: { version: "v0.58.1", image: "ghcr.io/controlplaneio-fluxcd/flux-operator:v0.58.1" }, webhook: WEBHOOK },
    });
    expect(config.reconciler.operator.resources.limits).toEqual({ cpu: "2000m", memory: "1Gi" });
    expect(config.reconciler.webhook).toEqual({ ...WEBHOOK, ingressClassName: "alb", sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06" });
    expect(parse("staging", automatedApp({ policy: { pattern: "^main-(?P<ts>[0-9]+)$", extract: "$ts" } })).apps[0]?.imageAutomation?.policy).toEqual({
      pattern: "^main-(?P<ts>[0-9]+)$",
      extract: "$ts",
      order: "asc",
      sort: "numerical",
    });
  });

  it("accepts both example stacks", () => {
    expect(problems("staging")).toEqual([]);
    expect(problems("prod")).toEqual([]);
  });

  describe("production pins", () => {
    it("refuses a floating Flux version in prod and in staging", () => {
      const message = "gitops-platform:reconciler.flux.version: expected an exact Flux version such as 2.7.3; a range such as 2.x could resolve to another Flux than the other environment runs";
      expect(problems("prod", { reconciler: { flux: { version: "2.x" } } })).toEqual([message]);
      expect(problems("staging", { reconciler: { flux: { version: "2.x" } } })).toEqual([message]);
    });

    it("refuses an operator image without digest in prod, accepts it in staging", () => {
      const image = "ghcr.io/controlplaneio-fluxcd/flux-operator:v0.58.1";
      expect(problems("prod", { reconciler: { operator: { image } } })).toEqual([
        "gitops-platform:reconciler.operator.image: production needs an image pinned by digest (@sha256:...)",
      ]);
      expect(problems("staging", { reconciler: { operator: { version: "v0.58.1", image } } })).toEqual([]);
    });

    it("refuses prod image automation, with the key that would need it", () => {
      expect(
        problems("prod", {
          github: { configRepo: { deployKey: { readWrite: true } } },
          apps: [{ name: "orders", repo: "acme-corp/orders", imageAutomation: { policy: { semver: ">=1.0.0" }, pushBranch: "image-updates/prod" } }],
        }),
      ).toEqual([
        "gitops-platform:github.configRepo.deployKey.readWrite: production keys are read-only: prod never writes to Git (new images arrive with the promotion pull request from staging); set it to false",
        "gitops-platform:apps[0].imageAutomation: production never writes to Git; new tags reach it through the staging → prod promotion pull request, so remove imageAutomation here and set it on the staging stack",
      ]);
    });

    it("refuses an operator image whose tag is not the operator version (the CRDs come from that release)", () => {
      expect(problems("staging", { reconciler: { operator: { version: "v0.58.1", image: "ghcr.io/controlplaneio-fluxcd/flux-operator:v0.57.0" } } })).toEqual([
        "gitops-platform:reconciler.operator.image: tag v0.57.0 does not match reconciler.operator.version v0.58.1 (the CRDs come from that release)",
      ]);
      const digestOnly = `ghcr.io/controlplaneio-fluxcd/flux-operator@sha256:${"a".repeat(64)}`;
      expect(problems("staging", { reconciler: { operator: { version: "v0.58.1", image: digestOnly } } })).toEqual([]);
    });

    it("refuses a floating operator release everywhere", () => {
      expect(problems("staging", { reconciler: { operator: { version: "v0.x", image: "ghcr.io/controlplaneio-fluxcd/flux-operator:v0.58.1" } } })).toEqual([
        "gitops-platform:reconciler.operator.version: expected an exact release such as v0.58.1",
      ]);
    });
  });

  describe("names, intervals and values", () => {
    it("refuses invalid Kubernetes names", () => {
      expect(problems("staging", { reconciler: { namespace: "Flux_System", metricsNamespace: "-monitoring" } })).toEqual([
        "gitops-platform:reconciler.namespace: expected a lowercase RFC 1123 label (a-z, 0-9, '-', at most 63 characters)",
        "gitops-platform:reconciler.metricsNamespace: expected a lowercase RFC 1123 label (a-z, 0-9, '-', at most 63 characters)",
      ]);
    });

    it("refuses intervals that are not positive Go durations", () => {
      expect(
        problems("staging", {
          reconciler: { interval: "0s" },
          apps: [{ name: "orders", repo: "acme-corp/orders", interval: "5 minutes", imageAutomation: { policy: { semver: ">=1.0.0" }, interval: "1d" } }],
        }),
      ).toEqual([
        "gitops-platform:apps[0].interval: expected a duration such as 30s, 5m or 1h",
        "gitops-platform:apps[0].imageAutomation.interval: expected a duration such as 30s, 5m or 1h",
        "gitops-platform:reconciler.interval: expected a duration greater than zero",
      ]);
      expect(problems("staging", { reconciler: { interval: "1m30s" } })).toEqual([]);
    });

    it("refuses bad versions, registries, replicas, quantities and e-mail", () => {
      expect(
        problems("staging", {
          reconciler: {
            flux: { version: "latest", registry: "https://ghcr.io/fluxcd" },
            operator: {
              version: "v0.58.1",
              image: "ghcr.io/controlplaneio-fluxcd/flux-operator:v0.58.1",
              replicas: 0,
              resources: { requests: { cpu: "a lot", memory: "64Mi" } },
            },
            commitAuthor: { email: "flux bot" },
          },
        }),
      ).toEqual([
        "gitops-platform:reconciler.operator.replicas: expected 1 to 3 replicas",
        "gitops-platform:reconciler.operator.resources.requests.cpu: expected a Kubernetes quantity such as 100m, 1, 64Mi or 1Gi",
        "gitops-platform:reconciler.flux.version: expected an exact Flux version such as 2.7.3; a range such as 2.x could resolve to another Flux than the other environment runs",
        "gitops-platform:reconciler.flux.registry: expected a registry such as ghcr.io/fluxcd",
        "gitops-platform:reconciler.commitAuthor.email: expected an e-mail address",
      ]);
    });

    it("refuses requests above limits", () => {
      expect(
        problems("staging", {
          reconciler: {
            operator: {
              version: "v0.58.1",
              image: "ghcr.io/controlplaneio-fluxcd/flux-operator:v0.58.1",
              resources: { requests: { cpu: "2", memory: "2Gi" }, limits: { cpu: "1000m", memory: "1Gi" } },
            },
          },
        }),
      ).toEqual([
        "gitops-platform:reconciler.operator.resources.requests.cpu: 2 exceeds the limit 1000m",
        "gitops-platform:reconciler.operator.resources.requests.memory: 2Gi exceeds the limit 1Gi",
      ]);
      expect(quantityValue("1000m")).toBe(1);
      expect(quantityValue("64Mi")).toBe(64 * 2 ** 20);
      expect(quantityValue("1G")).toBe(1e9);
    });

    it("refuses unknown keys in the section", () => {
      expect(problems("staging", { reconciler: { intervall: "1m" } })).toEqual(["gitops-platform:reconciler.intervall: unknown key (check for a typo)"]);
    });
  });

  describe("image policies", () => {
    it("accepts a semver range or a pattern whose extract names one of its groups", () => {
      expect(problems("staging", automatedApp({ policy: { semver: "~1.2" } }))).toEqual([]);
      expect(problems("staging", automatedApp({ policy: { pattern: "^main-[a-f0-9]+-(?P<ts>[0-9]+)$", extract: "$ts", sort: "numerical" } }))).toEqual([]);
      expect(problems("staging", automatedApp({ policy: { pattern: "^(?<v>[a-z]+)$", extract: "${v}", order: "desc", sort: "alphabetical" } }))).toEqual([]);
    });

    it("accepts semver ranges in every form Flux's parser (Masterminds/semver v3) takes", () => {
      for (const range of [
        ">=1.0.0 <2.0.0",
        "~1.2",
        "^2",
        "1.2.x",
        ">=1.0.0, <2.0.0 || >=3.0.0",
        "1.2 - 1.4.5",
        "*",
        "v1.2.3",
        "~>1.2",
        "=<1.4 || =>2",
        "!=1.2.3",
        ">= 1.2 , < 2",
        ">=1.0.0-0",
        "1.2.3-rc.1+build.5",
      ]) {
        expect(problems("staging", automatedApp({ policy: { semver: range } })), range).toEqual([]);
      }
    });

    it("refuses a semver range Flux's parser would refuse, naming the key and a valid range", () => {
      const refused = (why: string) => [
        `gitops-platform:apps[0].imageAutomation.policy.semver: not a semver range Flux's image-reflector-controller can parse (${why}); expected a range such as ">=1.0.0 <2.0.0", "~1.2", "^2" or ">=1.0.0, <2.0.0 || >=3.0.0"`,
      ];
      expect(problems("staging", automatedApp({ policy: { semver: "banana" } }))).toEqual(refused('improper constraint "banana"'));
      expect(problems("staging", automatedApp({ policy: { semver: ">=1.0.0 <" } }))).toEqual(refused('improper constraint ">=1.0.0 <"'));
      expect(problems("staging", automatedApp({ policy: { semver: ">>1" } }))).toEqual(refused('improper constraint ">>1"'));
      expect(problems("staging", automatedApp({ policy: { semver: ">=1.0.0 || " } }))).toEqual(refused("alternative 2 of 2 (between '||') is empty"));
      expect(problems("staging", automatedApp({ policy: { semver: "||^2" } }))).toEqual(refused("alternative 1 of 2 (between '||') is empty"));
      expect(problems("staging", automatedApp({ policy: { semver: "" } }))).toEqual(refused("empty"));
      // Past the comparison grammar, the version must parse too: no leading zero in a numeric
      // pre-release identifier, no part beyond 64 bits, no '|' (which the part pattern lets through).
      expect(problems("staging", automatedApp({ policy: { semver: ">=1.0.0-01" } }))).toEqual(refused('">=1.0.0-01": a numeric pre-release identifier has a leading zero'));
      expect(problems("staging", automatedApp({ policy: { semver: "^18446744073709551616" } }))).toEqual(refused('"^18446744073709551616": a version part is larger than 64 bits'));
      expect(problems("staging", automatedApp({ policy: { semver: ">=1|2" } }))).toEqual(refused('">=1|2": not a version'));
    });

    it("refuses an extract that names no group of the pattern, and a broken pattern", () => {
      expect(problems("staging", automatedApp({ policy: { pattern: "^main-(?P<ts>[0-9]+)$", extract: "$build" } }))).toEqual([
        "gitops-platform:apps[0].imageAutomation.policy.extract: $build is not a named group of the pattern (write it as (?P<build>...))",
      ]);
      expect(problems("staging", automatedApp({ policy: { pattern: "^main-[0-9]+$", extract: "ts" } }))).toEqual([
        "gitops-platform:apps[0].imageAutomation.policy.extract: expected a reference to a named group of the pattern, such as $ts",
      ]);
      expect(problems("staging", automatedApp({ policy: { pattern: "^main-(?P<ts>[0-9]+$", extract: "$ts" } }))).toEqual([
        'gitops-platform:apps[0].imageAutomation.policy.pattern: not a valid regular expression: "^main-(?P<ts>[0-9]+$"',
      ]);
    });

    it("refuses a pattern Flux's Go regexp refuses though JavaScript compiles it, and accepts Go's own syntax", () => {
      const pattern = (source: string, extract = "$ts") => problems("staging", automatedApp({ policy: { pattern: source, extract } }));
      const refused = (why: string) => [`gitops-platform:apps[0].imageAutomation.policy.pattern: not a regular expression Flux (Go's regexp) accepts: ${why}`];
      expect(pattern("^main-(?=[a-f0-9]+-)[a-f0-9]+-(?P<ts>[0-9]+)$")).toEqual(refused("lookarounds such as (?= are not supported"));
      expect(pattern("^(?<!rc)(?P<ts>[0-9]+)$")).toEqual(refused("lookarounds such as (?<! are not supported"));
      expect(pattern("^(?P<ts>[0-9])\\1$")).toEqual(refused("invalid escape sequence \\1 (Go's regexp has no backreferences)"));
      expect(pattern("^(?P<ts>[0-9]+)-\\k<ts>$")).toEqual(refused("invalid escape sequence \\k (Go's regexp has no backreferences)"));
      expect(pattern("^v\\e(?P<ts>[0-9]+)$")).toEqual(refused("invalid escape sequence \\e"));
      expect(pattern("^(?P<ts>[0-9]{1,1001})$")).toEqual(refused("repeat count {1,1001} is over 1000"));
      expect(pattern("^(?P<ts>[0-9]+)-[]$")).toEqual(refused("missing closing ] of a character class (a ']' first in the class is a literal)"));
      // Go's flags, \A, \z and \Q...\E, which JavaScript's RegExp does not read the same way.
      expect(pattern("(?i)\\Amain-\\Q.\\E(?P<ts>[0-9]+)\\z")).toEqual([]);
    });

    it("refuses a policy mixing both forms, or neither", () => {
      expect(problems("staging", automatedApp({ policy: { semver: ">=1.0.0", pattern: "x" } }))).toEqual([
        "gitops-platform:apps[0].imageAutomation.policy.pattern: unknown key (check for a typo)",
      ]);
      expect(problems("staging", automatedApp({ policy: { range: ">=1.0.0" } }))).toEqual([
        "gitops-platform:apps[0].imageAutomation.policy: expected { semver: <range> } or { pattern, extract, order, sort }",
      ]);
    });
  });

  describe("webhook", () => {
    it("accepts the webhook when the firewall lets every GitHub hook range reach 443", () => {
      expect(problems("staging", { reconciler: { webhook: WEBHOOK } })).toEqual([]);
      // prod: 0.0.0.0/0 and ::/0 on 443 (behind the WAF) contain every range.
      expect(problems("prod", { reconciler: { webhook: WEBHOOK }, github: { hookCidrs: ["192.30.252.0/22", "2a0a:a440::/29"] } })).toEqual([]);
    });

    it("refuses hook ranges the firewall does not let through, and a webhook without hook ranges", () => {
      expect(
        problems("staging", {
          reconciler: { webhook: WEBHOOK },
          firewall: {
            ingress: [
              { description: "HTTPS from the corporate VPN", fromPort: 443, toPort: 443, cidrs: ["203.0.113.0/24"] },
              { description: "GitHub webhooks", fromPort: 443, toPort: 443, cidrs: ["192.30.252.0/22", "140.82.112.0/20"] },
              { description: "SSH from the VPN", fromPort: 22, toPort: 22, cidrs: ["185.199.108.0/22"] },
            ],
          },
        }),
      ).toEqual([
        "gitops-platform:github.hookCidrs[1]: 185.199.108.0/22 cannot reach the webhook receiver: no firewall.ingress rule allows TCP 443 from it",
        "gitops-platform:github.hookCidrs[3]: 143.55.64.0/20 cannot reach the webhook receiver: no firewall.ingress rule allows TCP 443 from it",
      ]);
      const { config } = stackConfig("staging", { reconciler: { webhook: WEBHOOK } });
      (config["gitops-platform:github"] as Json).hookCidrs = [];
      const values = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
      expect(() => parseConfig({ stack: "staging", values, secretKeys: [] })).toThrow(
        'gitops-platform:github.hookCidrs: required when reconciler.webhook is set: GitHub\'s hook ranges (api.github.com/meta "hooks") must reach the receiver',
      );
    });

    it("refuses a bad host, certificate or TLS policy", () => {
      expect(
        problems("staging", {
          reconciler: { webhook: { host: "https://flux.example.com", certificateArn: "arn:aws:iam::111111111111:server-certificate/flux", sslPolicy: "TLS13" } },
        }),
      ).toEqual([
        "gitops-platform:reconciler.webhook.host: expected a lowercase DNS host name such as flux-webhook.example.com",
        "gitops-platform:reconciler.webhook.certificateArn: expected an ACM certificate ARN such as arn:aws:acm:eu-west-1:111111111111:certificate/<uuid>",
        "gitops-platform:reconciler.webhook.sslPolicy: expected an ELB security policy name such as ELBSecurityPolicy-TLS13-1-2-2021-06",
      ]);
    });

    it("tells containing CIDR blocks apart", () => {
      expect(cidrContains("0.0.0.0/0", "192.30.252.0/22")).toBe(true);
      expect(cidrContains("192.30.252.0/22", "192.30.254.0/24")).toBe(true);
      expect(cidrContains("192.30.252.0/24", "192.30.252.0/22")).toBe(false);
      expect(cidrContains("::/0", "192.30.252.0/22")).toBe(false);
      expect(cidrContains("2a0a:a440::/29", "2a0a:a440:1::/48")).toBe(true);
    });
  });
});
