// Bad input is the point of these tests: fixtures are bent into shapes no type describes.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig, WORLD_CLOSED_PORTS, type PlatformConfig } from "../../components/config";
import { ADMIN_PORTS, RISKY_PORTS } from "../../policies/network-rules";
import { GITHUB_KNOWN_HOSTS } from "../../policies/vocabulary";
import { loadStackConfig } from "../../tools/engine";
import { configProblems, encodeConfig } from "../support/config";
import { fakeGithubToken } from "../support/fake-keys";
import { STACKS } from "../support/stacks";

const root = path.resolve(__dirname, "..", "..");
const P = "gitops-platform";

type Values = Record<string, unknown>;

/** A complete, valid staging config, as the stack file would hold it (objects not yet JSON-encoded). */
function valid(): Values {
  return {
    "aws:region": "eu-west-1",
    [`${P}:environment`]: "staging",
    [`${P}:aws`]: { accountId: "111111111111", clusterName: "platform-staging", tags: { team: "platform" } },
    [`${P}:github`]: {
      owner: "acme-corp",
      configRepo: { repo: "acme-corp/gitops-platform", branch: "staging", deployKey: { readWrite: true } },
    },
    [`${P}:apps`]: [
      { name: "orders", repo: "acme-corp/orders", imageAutomation: { policy: { semver: ">=1.0.0" }, pushBranch: "image-updates/staging" } },
      { name: "payments", repo: "acme-corp/payments" },
    ],
    [`${P}:firewall`]: {
      ingress: [{ description: "HTTPS from the office", fromPort: 443, toPort: 443, cidrs: ["203.0.113.0/24"] }],
    },
    [`${P}:ci`]: {
      stateBucket: "acme-pulumi-state",
      secretsKeyArn: "arn:aws:kms:eu-west-1:111111111111:key/0b7c2a52-6a7e-4f0e-9d8a-3c1f5e2b7a10",
    },
  };
}

/** A valid production config: the staging one with production's stricter requirements met. */
function validProd(): Values {
  const v = valid();
  v[`${P}:environment`] = "prod";
  v[`${P}:production`] = true;
  const github = v[`${P}:github`] as { configRepo: { branch: string; deployKey: { readWrite: boolean } }; branchProtection?: unknown };
  github.configRepo.branch = "prod";
  // Production never runs image automation, so it has no use for a read-write key; its promotion
  // pull request needs a review.
  github.configRepo.deployKey.readWrite = false;
  github.branchProtection = { requiredReviews: 1 };
  delete (v[`${P}:apps`] as { imageAutomation?: unknown }[])[0]!.imageAutomation;
  v[`${P}:storage`] = { protect: true };
  v[`${P}:reconciler`] = {
    operator: { version: "v0.58.1", image: `ghcr.io/controlplaneio-fluxcd/flux-operator:v0.58.1@sha256:${"a".repeat(64)}` },
    flux: { version: "2.7.3" },
  };
  return v;
}

function parse(values: Values, stack = "staging", secretKeys: string[] = []): PlatformConfig {
  return parseConfig({ stack, values: encodeConfig(values), secretKeys });
}

/** The problems a config has; fails the test if it has none. */
function problems(values: Values, stack = "staging", secretKeys: string[] = []): readonly string[] {
  const found = configProblems({ stack, values: encodeConfig(values), secretKeys });
  if (found.length === 0) throw new Error("expected the config to be refused");
  return found;
}

/** Applies a change to a fresh valid config (staging unless given another base). */
function withChange(change: (v: Record<string, any>) => void, base: () => Values = valid): Values {
  const v = base();
  change(v as Record<string, any>);
  return v;
}

const ingressWith = (rule: Record<string, unknown>) =>
  withChange((v) => {
    v[`${P}:firewall`].ingress = [{ description: "test rule", fromPort: 443, toPort: 443, cidrs: ["203.0.113.0/24"], ...rule }];
  });

describe("config: valid input", () => {
  it("accepts a complete staging config", () => {
    const config = parse(valid());
    expect(config.environment).toBe("staging");
    expect(config.region).toBe("eu-west-1");
    expect(config.apps.map((a) => a.name)).toEqual(["orders", "payments"]);
  });

  it("accepts a complete production config", () => {
    expect(parse(validProd(), "prod").production).toBe(true);
  });

  it("uses the correct default values", () => {
    const config = parse(valid());
    expect(config.production).toBe(false);
    expect(config.storage).toEqual({ noncurrentVersionExpirationDays: 30, abortIncompleteUploadDays: 7, kmsDeletionWindowDays: 30, protect: false });
    expect(config.registry).toEqual({ keepLastImages: 30, untaggedExpiryDays: 7 });
    expect(config.firewall.egress).toEqual([]);
    expect(config.firewall.ingress[0]!.protocol).toBe("tcp");
    expect(config.firewall.waf).toEqual({ enabled: false, rateLimit: 2000, managedRuleGroups: ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"] });
    expect(config.ci.createOidcProvider).toBe(true);
    expect(config.ci.defaultBranch).toBeUndefined();
    expect(config.promotion).toEqual({ to: [] });
    expect(config.apps[1]).toEqual({
      name: "payments",
      repo: "acme-corp/payments",
      branch: "main",
      path: "deploy/staging",
      interval: "5m",
      deployKey: { generation: 0, algorithm: "ED25519", readWrite: false },
    });
    expect(config.github.branchProtection).toEqual({ enabled: true, requiredReviews: 0, requiredChecks: ["preview"] });
    expect(config.github.hookCidrs).toEqual([]);
    expect(config.reconciler.namespace).toBe("flux-system");
    expect(config.reconciler.interval).toBe("1m");
  });

  it("parses the example stack configs Pulumi.staging.yaml and Pulumi.prod.yaml cleanly", () => {
    for (const stack of STACKS) {
      const loaded = loadStackConfig(root, stack);
      const config = parse(loaded.config, stack, loaded.secretKeys);
      expect(config.environment).toBe(stack);
      expect(config.github.configRepo.branch).toBe(stack);
    }
  });


  it("allows a world-open HTTPS port and SSH from a private range", () => {
    const v = withChange((c) => {
      c[`${P}:firewall`].ingress = [
        { description: "public HTTPS", fromPort: 443, toPort: 443, cidrs: ["0.0.0.0/0", "::/0"] },
        { description: "SSH from the VPN", fromPort: 22, toPort: 22, cidrs: ["10.0.0.0/8", "fc00::/7"] },
      ];
    });
    expect(parse(v).firewall.ingress).toHaveLength(2);
  });
});

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
        configRepo: { repo: "acme-corp/gitops-platform", branch: "staging", path: "clusters/staging", deployKey: { generation: 0, algorithm: "ED25519", readWrite: true } },
        branchProtection: { enabled: true, requiredReviews: 0, requiredChecks: ["preview"] },
        knownHosts: GITHUB_KNOWN_HOSTS,
        hookCidrs: [],
      },
      [],
    ],
    ["github.branchProtection", ["github", "branchProtection"], { enabled: true, requiredReviews: 0, requiredChecks: ["preview"] }, { requiredReviews: 1 }, { enabled: true, requiredReviews: 1, requiredChecks: ["preview"] }, ["absent", "empty"]],
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

describe("config: a secret value given as a mapping or a list is refused with its key path", () => {
  it("refuses a structured githubToken, like any githubToken, without echoing it", () => {
    const key = `${P}:githubToken`;
    const token = fakeGithubToken("structuredValue00000000000000000");
    const retired = `${key}: no longer read: the GitHub provider takes its token from GITHUB_TOKEN in the environment of the pulumi process (a GitHub App installation token minted per run); remove it with \`pulumi config rm githubToken\``;
    expect(problems({ ...valid(), [key]: { value: token } }, "staging", [key])).toEqual([retired]);
    expect(problems({ ...valid(), [key]: [token] }, "staging", [key])).toEqual([retired]);
  });

  it("refuses structured provider credentials", () => {
    expect(problems({ ...valid(), "aws:token": { token: "x" }, "aws:secretKey": ["a", "b"] }, "staging", ["aws:token", "aws:secretKey"])).toEqual([
      "aws:secretKey: expected a string, got a list; store the value itself with `pulumi config set --secret aws:secretKey`",
      "aws:token: expected a string, got a mapping; store the value itself with `pulumi config set --secret aws:token`",
    ]);
  });

  it("refuses a mapping in every key read as text (the notification secrets, the environment), not its JSON text", () => {
    const hmac = `${P}:notificationsAlertHmacKey`;
    const values = {
      ...valid(),
      [`${P}:notifications`]: { commitStatus: { githubApp: { appId: 123456, installationId: 7890123 } }, alerts: { type: "generic-hmac" } },
      [`${P}:notificationsAppPrivateKey`]: { pem: "x" },
      [`${P}:notificationsAlertAddress`]: "https://alerts.example.com/hook",
      [hmac]: { key: "k".repeat(40) },
    };
    const secretKeys = [`${P}:notificationsAppPrivateKey`, `${P}:notificationsAlertAddress`, hmac];
    expect(problems(values, "staging", secretKeys)).toEqual([
      `${P}:notificationsAppPrivateKey: expected a string, got a secret value (not shown)`,
      `${hmac}: expected a string, got a secret value (not shown)`,
    ]);
    expect(problems({ ...valid(), [`${P}:environment`]: ["staging"] })).toEqual([`${P}:environment: expected a string, got ["staging"]`]);
  });

});

describe("config: file-level mistakes get one message naming the file", () => {
  function stackFile(text: string): () => unknown {
    return () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-file-"));
      try {
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: demo\nruntime: nodejs\n");
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), text);
        return loadStackConfig(dir, "dev");
      } catch (error) {
        throw new Error((error as Error).message.replace(dir, "<dir>"));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    };
  }

  it("refuses an empty file", () => {
    expect(stackFile("")).toThrow(`${path.join("<dir>", "Pulumi.dev.yaml")}: the file is empty; expected a YAML mapping`);
    expect(stackFile("# nothing yet\n")).toThrow(`${path.join("<dir>", "Pulumi.dev.yaml")}: the file is empty; expected a YAML mapping`);
  });

  it("refuses a document that is a list or a scalar", () => {
    expect(stackFile("- config: {}\n")).toThrow(`${path.join("<dir>", "Pulumi.dev.yaml")}: expected a YAML mapping, got a list`);
    expect(stackFile("staging\n")).toThrow(`${path.join("<dir>", "Pulumi.dev.yaml")}: expected a YAML mapping, got string`);
  });

  it("refuses a config: that is not a mapping, once, instead of one unknown key per character", () => {
    expect(stackFile("config: staging\n")).toThrow(`${path.join("<dir>", "Pulumi.dev.yaml")}: config: expected a mapping of keys to values`);
    expect(stackFile("config:\n  - aws:region\n")).toThrow(`${path.join("<dir>", "Pulumi.dev.yaml")}: config: expected a mapping of keys to values`);
  });

  it("accepts a file whose config: block is empty", () => {
    expect(stackFile("config:\n")).not.toThrow();
  });
});

describe("config: bad input is refused with every problem, its key and the expectation", () => {
  it("lists every problem at once, across sections and cross-key rules", () => {
    const v = withChange((c) => {
      c[`${P}:environment`] = "prod";
      c[`${P}:registry`] = { keepLastImages: 0 };
      c[`${P}:firewall`].ingress[0].cidrs = ["0.0.0.0/0"];
      c[`${P}:firewall`].ingress[0].fromPort = 22;
      c[`${P}:firewall`].ingress[0].toPort = 22;
    });
    expect(problems(v)).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: 0.0.0.0/0 may not reach port 22`,
      `${P}:registry.keepLastImages: expected at least 1 image`,
      `${P}:environment: must equal the stack name "staging", got "prod"`,
      `${P}:github.configRepo.branch: must equal the environment "prod", got "staging"`,
    ]);
  });

  it("formats the error with the number of problems and one line each", () => {
    const v = withChange((c) => {
      c[`${P}:environment`] = "Staging!";
    });
    expect(() => parse(v)).toThrow(
      `invalid stack config (1 problem):\n  - ${P}:environment: expected a lowercase RFC 1123 label (a-z, 0-9, '-', at most 63 characters)`,
    );
  });

  it("refuses unknown keys (typos), at the top and nested", () => {
    const v = withChange((c) => {
      c[`${P}:storge`] = {};
      c[`${P}:firewall`].ingress[0].port = 443;
      c[`${P}:ci`].stateBukcet = "x";
    });
    expect(problems(v)).toEqual([
      `${P}:firewall.ingress[0].port: unknown key (check for a typo)`,
      `${P}:ci.stateBukcet: unknown key (check for a typo)`,
      `${P}:storge: unknown key (check for a typo)`,
    ]);
  });

  it("reads the stack's promotion edges, strictly (the graph of all stacks is components/config/environments.ts's)", () => {
    const v = withChange((c) => {
      c[`${P}:promotion`] = { form: "dev", to: "prod" };
    });
    expect(problems(v)).toEqual([`${P}:promotion.to: expected an array, got "prod"`, `${P}:promotion.form: unknown key (check for a typo)`]);
    const ok = withChange((c) => {
      c[`${P}:promotion`] = { from: "dev", to: ["prod"] };
    });
    expect(parse(ok).promotion).toEqual({ from: "dev", to: ["prod"] });
  });

  it("refuses missing required keys", () => {
    const v = withChange((c) => {
      delete c[`${P}:environment`];
      delete c[`${P}:aws`].clusterName;
      delete c[`${P}:firewall`];
      delete c[`${P}:ci`].stateBucket;
      delete c["aws:region"];
    });
    expect(problems(v)).toEqual([
      `${P}:environment: required, expected a string`,
      `${P}:aws.clusterName: required, expected a string`,
      `${P}:firewall: required, expected an object`,
      `${P}:ci.stateBucket: required, expected a string`,
      "aws:region: required, expected an AWS region such as eu-west-1",
    ]);
  });

  it("refuses wrong types, quoting what it got", () => {
    const v = withChange((c) => {
      c[`${P}:production`] = "yes";
      c[`${P}:aws`].accountId = 111111111111;
      c[`${P}:apps`] = { name: "orders" };
      c[`${P}:firewall`].ingress[0].fromPort = "443";
      c[`${P}:firewall`].ingress[0].cidrs = "203.0.113.0/24";
    });
    expect(problems(v)).toEqual([
      `${P}:production: expected a boolean, got "yes"`,
      `${P}:aws.accountId: expected a string, got 111111111111`,
      `${P}:apps: expected an array, got {"name":"orders"}`,
      `${P}:firewall.ingress[0].fromPort: expected a number, got "443"`,
      `${P}:firewall.ingress[0].cidrs: expected an array, got "203.0.113.0/24"`,
    ]);
  });

  it("refuses an account id that is not 12 digits and a malformed region", () => {
    const v = withChange((c) => {
      c[`${P}:aws`].accountId = "12345";
      c["aws:region"] = "Europe";
    });
    expect(problems(v)).toEqual([
      `${P}:aws.accountId: expected a 12-digit AWS account id as a string`,
      'aws:region: expected an AWS region such as eu-west-1, got "Europe"',
    ]);
  });

  it("refuses an environment that does not match the stack", () => {
    expect(problems(valid(), "prod")).toEqual([`${P}:environment: must equal the stack name "prod", got "staging"`]);
  });

  it("refuses a config repo branch that does not match the environment", () => {
    const v = withChange((c) => {
      c[`${P}:github`].configRepo.branch = "main";
    });
    expect(problems(v)).toEqual([`${P}:github.configRepo.branch: must equal the environment "staging", got "main"`]);
  });

  it("refuses malformed CIDRs: host bits set, not an address, prefix too long", () => {
    const v = ingressWith({ cidrs: ["203.0.113.7/24", "203.0.113/24", "203.0.113.0/33", "256.0.0.0/8", "2001:db8::1/32", "2001:db8::/129", "2001:zz8::/32", "10.0.0.0"] });
    expect(problems(v)).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: host bits set in 203.0.113.7/24; use the network address`,
      `${P}:firewall.ingress[0].cidrs[1]: expected a CIDR block such as 203.0.113.0/24, got "203.0.113/24"`,
      `${P}:firewall.ingress[0].cidrs[2]: prefix length must be 0 to 32 in 203.0.113.0/33`,
      `${P}:firewall.ingress[0].cidrs[3]: expected a CIDR block such as 203.0.113.0/24, got "256.0.0.0/8"`,
      `${P}:firewall.ingress[0].cidrs[4]: host bits set in 2001:db8::1/32; use the network address`,
      `${P}:firewall.ingress[0].cidrs[5]: prefix length must be 0 to 128 in 2001:db8::/129`,
      `${P}:firewall.ingress[0].cidrs[6]: expected a CIDR block such as 2001:db8::/32, got "2001:zz8::/32"`,
      `${P}:firewall.ingress[0].cidrs[7]: expected a CIDR block such as 203.0.113.0/24, got "10.0.0.0"`,
    ]);
  });

  it("refuses the world reaching SSH or RDP, on IPv4 and IPv6", () => {
    expect(problems(ingressWith({ fromPort: 22, toPort: 22, cidrs: ["0.0.0.0/0", "::/0"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: 0.0.0.0/0 may not reach port 22`,
      `${P}:firewall.ingress[0].cidrs[1]: ::/0 may not reach port 22`,
    ]);
    expect(problems(ingressWith({ fromPort: 3389, toPort: 3389, cidrs: ["0.0.0.0/0"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: 0.0.0.0/0 may not reach port 3389`,
    ]);
  });

  it("refuses port ranges that include an admin or database port", () => {
    expect(problems(ingressWith({ fromPort: 3000, toPort: 3400, cidrs: ["0.0.0.0/0"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: 0.0.0.0/0 may not reach ports 3306 and 3389`,
    ]);
    expect(problems(ingressWith({ protocol: "udp", fromPort: 5432, toPort: 5432, cidrs: ["::/0"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: ::/0 may not reach port 5432`,
    ]);
  });

  it("refuses world-open all-protocol rules, whatever their ports say", () => {
    expect(problems(ingressWith({ protocol: "-1", fromPort: 443, toPort: 443, cidrs: ["0.0.0.0/0"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: 0.0.0.0/0 may not reach every port (protocol -1); allow-list the ports it needs`,
    ]);
  });

  it("counts blocks wider than /8 (IPv4) or /7 (IPv6) as open to the world", () => {
    expect(problems(ingressWith({ fromPort: 22, toPort: 22, cidrs: ["0.0.0.0/1", "128.0.0.0/1", "2000::/3"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: 0.0.0.0/1 covers most of the internet; write 0.0.0.0/0 if the world is meant, so every check sees it`,
      `${P}:firewall.ingress[0].cidrs[0]: 0.0.0.0/1 may not reach port 22`,
      `${P}:firewall.ingress[0].cidrs[1]: 128.0.0.0/1 covers most of the internet; write 0.0.0.0/0 if the world is meant, so every check sees it`,
      `${P}:firewall.ingress[0].cidrs[1]: 128.0.0.0/1 may not reach port 22`,
      `${P}:firewall.ingress[0].cidrs[2]: 2000::/3 covers most of the internet; write ::/0 if the world is meant, so every check sees it`,
      `${P}:firewall.ingress[0].cidrs[2]: 2000::/3 may not reach port 22`,
    ]);
    // Even on HTTPS: the world split in halves would slip past the policy pack's /0 checks.
    expect(problems(ingressWith({ fromPort: 443, toPort: 443, cidrs: ["0.0.0.0/1", "10.0.0.0/8"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: 0.0.0.0/1 covers most of the internet; write 0.0.0.0/0 if the world is meant, so every check sees it`,
    ]);
  });

  it("refuses impossible ports and ranges", () => {
    expect(problems(ingressWith({ fromPort: 8443, toPort: 443 }))).toEqual([`${P}:firewall.ingress[0].fromPort: must not exceed toPort (8443 > 443)`]);
    expect(problems(ingressWith({ fromPort: -1, toPort: 70000 }))).toEqual([
      `${P}:firewall.ingress[0].fromPort: expected a port from 0 to 65535`,
      `${P}:firewall.ingress[0].toPort: expected a port from 0 to 65535`,
    ]);
    expect(problems(ingressWith({ fromPort: 44.3 }))).toEqual([`${P}:firewall.ingress[0].fromPort: expected an integer port, got 44.3`]);
    const egress = withChange((c) => {
      c[`${P}:firewall`].egress = [{ description: "HTTPS", fromPort: 444, toPort: 443, cidrs: ["10.0.0.0/16"] }];
    });
    expect(problems(egress)).toEqual([`${P}:firewall.egress[0].fromPort: must not exceed toPort (444 > 443)`]);
  });

  it("refuses firewall rules without a description, CIDRs or ingress", () => {
    expect(problems(ingressWith({ description: "", cidrs: [] }))).toEqual([
      `${P}:firewall.ingress[0].description: expected a description`,
      `${P}:firewall.ingress[0].cidrs: expected at least one CIDR`,
    ]);
    const none = withChange((c) => {
      c[`${P}:firewall`].ingress = [];
    });
    expect(problems(none)).toEqual([`${P}:firewall.ingress: expected at least one ingress rule`]);
  });

  it("refuses repositories not in owner/name form", () => {
    const v = withChange((c) => {
      c[`${P}:apps`][0].repo = "orders";
      c[`${P}:apps`][1].repo = "acme-corp/payments/extra";
      c[`${P}:github`].configRepo.repo = "acme-corp/..";
    });
    expect(problems(v)).toEqual([
      `${P}:github.configRepo.repo: expected a GitHub repository as owner/name`,
      `${P}:apps[0].repo: expected a GitHub repository as owner/name`,
      `${P}:apps[1].repo: expected a GitHub repository as owner/name`,
    ]);
  });

  it("refuses the same repository twice, in any letter case, and duplicate app names", () => {
    const v = withChange((c) => {
      c[`${P}:apps`][1].repo = "Acme-Corp/Orders";
      c[`${P}:apps`].push({ name: "orders", repo: "acme-corp/gitops-platform" });
    });
    expect(problems(v)).toEqual([
      `${P}:apps[1].repo: Acme-Corp/Orders is already used by ${P}:apps[0].repo; every repository needs its own deploy key`,
      `${P}:apps[2].repo: acme-corp/gitops-platform is the config repo (github.configRepo.repo); an app's manifests and CI live in its own repository`,
      `${P}:apps[2].name: orders is already the name of apps[0]`,
    ]);
  });

  it("refuses path traversal and absolute paths", () => {
    const v = withChange((c) => {
      c[`${P}:apps`][0].path = "../other-app/deploy";
      c[`${P}:apps`][1].path = "/etc/kubernetes";
      c[`${P}:github`].configRepo.path = "clusters/../../secrets";
    });
    const message = "expected a relative path inside the repository (no '..', no leading '/', no empty segments)";
    expect(problems(v)).toEqual([`${P}:github.configRepo.path: ${message}`, `${P}:apps[0].path: ${message}`, `${P}:apps[1].path: ${message}`]);
    const windows = withChange((c) => {
      c[`${P}:apps`][0].path = "C:\\deploy";
    });
    expect(problems(windows)).toEqual([`${P}:apps[0].path: ${message}`]);
  });

  it("refuses bad branch names", () => {
    const bad = ["main..x", "-main", "refs/heads/main", "my branch", "feature/", "release.lock", "a~1", ".hidden", "x@{1}"];
    const v = withChange((c) => {
      c[`${P}:apps`] = bad.map((branch, i) => ({ name: `app${i}`, repo: `acme-corp/app${i}`, branch }));
      c[`${P}:github`].configRepo.deployKey.readWrite = false;
    });
    const message = "expected a git branch name (no spaces, '..', '~', '^', ':', '?', '*', '[', '\\', no leading '/', '-' or 'refs/')";
    expect(problems(v)).toEqual(bad.map((_, i) => `${P}:apps[${i}].branch: ${message}`));
    expect(problems(withChange((c) => (c[`${P}:ci`].defaultBranch = "refs/heads/staging")))).toEqual([`${P}:ci.defaultBranch: ${message}`]);
  });

  it("refuses a production config without digest-pinned image or protected storage", () => {
    const v = withChange((c) => {
      c[`${P}:reconciler`] = { operator: { version: "v0.58.1", image: "ghcr.io/controlplaneio-fluxcd/flux-operator:v0.58.1" }, flux: { version: "2.7.3" } };
      c[`${P}:storage`] = { protect: false };
    }, validProd);
    expect(problems(v, "prod")).toEqual([
      `${P}:reconciler.operator.image: production needs an image pinned by digest (@sha256:...)`,
      `${P}:storage.protect: production storage must be protected; set it to true`,
    ]);
  });

  it("refuses any Git write in production: a read-write key, image automation, an unguarded branch, no review", () => {
    const v = withChange((c) => {
      c[`${P}:github`].configRepo.deployKey = { readWrite: true };
      c[`${P}:github`].branchProtection = { enabled: false, requiredReviews: 0 };
      c[`${P}:apps`][1].imageAutomation = { policy: { semver: ">=1.0.0" }, pushBranch: "image-updates/prod" };
    }, validProd);
    expect(problems(v, "prod")).toEqual([
      `${P}:github.configRepo.deployKey.readWrite: production keys are read-only: prod never writes to Git (new images arrive with the promotion pull request from staging); set it to false`,
      `${P}:github.branchProtection.enabled: production's environment branch must be guarded by its ruleset (pull requests, reviews, checks); set it to true`,
      `${P}:github.branchProtection.requiredReviews: production needs at least 1 approving review: the promotion pull request is where prod changes are reviewed`,
      `${P}:apps[1].imageAutomation: production never writes to Git; new tags reach it through the staging → prod promotion pull request, so remove imageAutomation here and set it on the staging stack`,
    ]);
  });

  it("refuses a Flux version range in every environment", () => {
    const message = `${P}:reconciler.flux.version: expected an exact Flux version such as 2.7.3; a range such as 2.x could resolve to another Flux than the other environment runs`;
    for (const [base, stack] of [[valid, "staging"], [validProd, "prod"]] as const) {
      for (const version of ["2.x", "2", "2.7", "~2.7.0", ">=2.7.3"]) {
        expect(problems(withChange((c) => (c[`${P}:reconciler`] = { flux: { version } }), base), stack)).toEqual([message]);
      }
    }
  });

  it("refuses image automation in production, whatever branch it would push to", () => {
    const message = `${P}:apps[0].imageAutomation: production never writes to Git; new tags reach it through the staging → prod promotion pull request, so remove imageAutomation here and set it on the staging stack`;
    for (const pushBranch of [undefined, "prod", "image-updates/prod"]) {
      const v = withChange((c) => {
        c[`${P}:apps`][0].imageAutomation = { policy: { semver: ">=1.0.0" }, ...(pushBranch ? { pushBranch } : {}) };
        c[`${P}:github`].configRepo.deployKey.readWrite = true;
      }, validProd);
      // The read-write key the automation would need is refused too: every production key is read-only.
      const readWrite = `${P}:github.configRepo.deployKey.readWrite: production keys are read-only: prod never writes to Git (new images arrive with the promotion pull request from staging); set it to false`;
      expect(problems(v, "prod")).toEqual(pushBranch === "prod" ? [readWrite, message, expect.stringContaining("apps[0].imageAutomation.pushBranch: ")] : [readWrite, message]);
    }
  });

  it("refuses image automation pushing to the environment branch, in staging too", () => {
    const v = withChange((c) => (c[`${P}:apps`][0].imageAutomation.pushBranch = "staging"));
    expect(problems(v)).toEqual([
      `${P}:apps[0].imageAutomation.pushBranch: image automation may not push to the environment branch "staging"; name its own branch (default image-updates/staging), whose pull request merges once the checks pass`,
    ]);
  });

  it("refuses app names that would reconcile into the Flux or a Kubernetes system namespace", () => {
    const names = ["flux-system", "kube-system", "default", "kube-public", "kube-node-lease"];
    const v = withChange((c) => {
      c[`${P}:apps`] = names.map((name, i) => ({ name, repo: `acme-corp/app${i}` }));
      c[`${P}:github`].configRepo.deployKey.readWrite = false;
    });
    expect(problems(v)).toEqual([
      `${P}:apps[0].name: flux-system is reserved (the Flux namespace); each app reconciles into the namespace of its name, so pick another`,
      ...names.slice(1).map((name, i) => `${P}:apps[${i + 1}].name: ${name} is reserved (a Kubernetes system namespace); each app reconciles into the namespace of its name, so pick another`),
    ]);
    const platform = withChange((c) => {
      c[`${P}:reconciler`] = { namespace: "gitops" };
      c[`${P}:apps`][1].name = "gitops";
    });
    expect(problems(platform)).toEqual([
      `${P}:apps[1].name: gitops is reserved (the Flux namespace); each app reconciles into the namespace of its name, so pick another`,
    ]);
    const metrics = withChange((c) => (c[`${P}:apps`][1].name = "monitoring"));
    expect(problems(metrics)).toEqual([
      `${P}:apps[1].name: monitoring is reserved (reconciler.metricsNamespace, allowed to scrape Flux); each app reconciles into the namespace of its name, so pick another`,
    ]);
  });

  it("refuses an operator release that is not the vendored one, saying how to vendor it", () => {
    const v = withChange((c) => (c[`${P}:reconciler`] = { operator: { version: "v0.59.0", image: "ghcr.io/controlplaneio-fluxcd/flux-operator:v0.59.0" } }));
    expect(problems(v)).toEqual([
      `${P}:reconciler.operator.version: v0.59.0 is not the vendored release v0.58.1 (vendor/flux-operator); vendor its CRDs with \`npm run vendor:flux-operator -- v0.59.0\` or set v0.58.1`,
    ]);
  });


  it("refuses nonsensical retention and counts", () => {
    const v = withChange((c) => {
      c[`${P}:storage`] = { noncurrentVersionExpirationDays: 0, abortIncompleteUploadDays: 0, kmsDeletionWindowDays: 5 };
      c[`${P}:registry`] = { keepLastImages: 0, untaggedExpiryDays: 0 };
    });
    expect(problems(v)).toEqual([
      `${P}:storage.noncurrentVersionExpirationDays: expected at least 1 day`,
      `${P}:storage.abortIncompleteUploadDays: expected at least 1 day`,
      `${P}:storage.kmsDeletionWindowDays: expected 7 to 30 days`,
      `${P}:registry.keepLastImages: expected at least 1 image`,
      `${P}:registry.untaggedExpiryDays: expected at least 1 day`,
    ]);
    const long = withChange((c) => {
      c[`${P}:storage`] = { kmsDeletionWindowDays: 31 };
    });
    expect(problems(long)).toEqual([`${P}:storage.kmsDeletionWindowDays: expected 7 to 30 days`]);
  });

  it("refuses invalid Kubernetes names", () => {
    const v = withChange((c) => {
      c[`${P}:apps`][0].name = "Orders_App";
      c[`${P}:apps`][1].name = "p".repeat(64);
      c[`${P}:reconciler`] = { namespace: "-flux" };
    });
    const message = "expected a lowercase RFC 1123 label (a-z, 0-9, '-', at most 63 characters)";
    expect(problems(v)).toEqual([`${P}:apps[0].name: ${message}`, `${P}:apps[1].name: ${message}`, `${P}:reconciler.namespace: ${message}`]);
  });

  it("refuses invalid state bucket names and KMS key ARNs", () => {
    const bucket = "expected an S3 bucket name (3-63 characters: a-z, 0-9, '.', '-'; starts and ends with a letter or digit; not an IP address)";
    const key = "expected a KMS key ARN such as arn:aws:kms:eu-west-1:111111111111:key/<key id> (not an alias)";
    for (const name of ["Pulumi_State", "ab", "192.168.1.1", "state..bucket", "xn--state", "state-"]) {
      expect(problems(withChange((c) => (c[`${P}:ci`].stateBucket = name)))).toEqual([`${P}:ci.stateBucket: ${bucket}`]);
    }
    expect(problems(withChange((c) => (c[`${P}:ci`].secretsKeyArn = "arn:aws:kms:eu-west-1:111111111111:alias/pulumi")))).toEqual([
      `${P}:ci.secretsKeyArn: ${key}`,
    ]);
  });

  it("refuses a GitHub token in stack config, secret or plaintext, without echoing it", () => {
    const token = fakeGithubToken("R3alLook1ngT0kenAAAAAAAAAAAAAAAAAAAAA");
    const found = problems({ ...valid(), [`${P}:githubToken`]: token, "github:token": token }, "staging", [`${P}:githubToken`]);
    expect(found).toEqual([
      `${P}:githubToken: no longer read: the GitHub provider takes its token from GITHUB_TOKEN in the environment of the pulumi process (a GitHub App installation token minted per run); remove it with \`pulumi config rm githubToken\``,
      "github:token: a GitHub token in stack config outlives every run; the GitHub provider takes its token from GITHUB_TOKEN in the environment of the pulumi process (a GitHub App installation token minted per run); remove it with `pulumi config rm github:token`",
    ]);
    expect(found.join("\n")).not.toContain("R3alLook");
  });


  it("refuses weak deploy key algorithms", () => {
    const v = withChange((c) => {
      c[`${P}:apps`][1].deployKey = { algorithm: "RSA" };
    });
    expect(problems(v)).toEqual([`${P}:apps[1].deployKey.algorithm: expected ED25519 or ECDSA (RSA keys are refused)`]);
  });

  it("refuses a read-write deploy key without image automation, and image automation without one", () => {
    const noAutomation = withChange((c) => {
      delete c[`${P}:apps`][0].imageAutomation;
    });
    expect(problems(noAutomation)).toEqual([
      `${P}:github.configRepo.deployKey.readWrite: a read-write key needs image automation on at least one app; set it to false`,
    ]);
    const readOnly = withChange((c) => {
      c[`${P}:github`].configRepo.deployKey.readWrite = false;
    });
    expect(problems(readOnly)).toEqual([
      `${P}:github.configRepo.deployKey.readWrite: image automation commits to the config repo and needs a read-write key; set it to true`,
    ]);
    const appWrite = withChange((c) => {
      c[`${P}:apps`][1].deployKey = { readWrite: true };
    });
    expect(problems(appWrite)).toEqual([`${P}:apps[1].deployKey.readWrite: app repositories are only read; image automation writes to the config repo`]);
  });
});

describe("config: other spellings of bad input are refused too", () => {
  it("refuses IPv4-mapped IPv6 blocks, which spell IPv4 ranges past the width check", () => {
    expect(problems(ingressWith({ fromPort: 22, toPort: 22, cidrs: ["::ffff:0:0/96", "::ffff:cb00:7100/120"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: ::ffff:0:0/96 is an IPv4-mapped IPv6 block; write IPv4 blocks as IPv4 (e.g. 203.0.113.0/24)`,
      `${P}:firewall.ingress[0].cidrs[1]: ::ffff:cb00:7100/120 is an IPv4-mapped IPv6 block; write IPv4 blocks as IPv4 (e.g. 203.0.113.0/24)`,
    ]);
    expect(() => parse(ingressWith({ fromPort: 22, toPort: 22, cidrs: ["2001:db8::/32", "64:ff9b::/96"] }))).not.toThrow();
  });

  it("refuses a prefix length with leading zeros, and still names the world behind it", () => {
    expect(problems(ingressWith({ fromPort: 22, toPort: 22, cidrs: ["0.0.0.0/00", "10.0.0.0/08"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: expected a CIDR block such as 203.0.113.0/24, got "0.0.0.0/00"`,
      `${P}:firewall.ingress[0].cidrs[1]: expected a CIDR block such as 203.0.113.0/24, got "10.0.0.0/08"`,
      `${P}:firewall.ingress[0].cidrs[0]: 0.0.0.0/00 may not reach port 22`,
    ]);
  });

  it("refuses the world on SSH in every spelling of ::/0", () => {
    expect(problems(ingressWith({ fromPort: 22, toPort: 22, cidrs: ["::0/0", "0::0/0", "0:0:0:0:0:0:0:0/0"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: ::0/0 may not reach port 22`,
      `${P}:firewall.ingress[0].cidrs[1]: 0::0/0 may not reach port 22`,
      `${P}:firewall.ingress[0].cidrs[2]: 0:0:0:0:0:0:0:0/0 may not reach port 22`,
    ]);
  });

  it("refuses a repository written with a trailing .git, which would dodge the one-key-per-repository checks", () => {
    const change = withChange((c) => {
      c[`${P}:apps`][1].repo = "acme-corp/orders.git";
      c[`${P}:github`].configRepo.repo = "acme-corp/gitops-platform.GIT";
    });
    expect(problems(change)).toEqual([
      `${P}:github.configRepo.repo: expected owner/name without a trailing .git`,
      `${P}:apps[1].repo: expected owner/name without a trailing .git`,
    ]);
    expect(() => parse(withChange((c) => (c[`${P}:apps`][1].repo = "acme-corp/orders.github")))).not.toThrow();
  });

  it("refuses HEAD and @, a .lock component anywhere, and invisible characters in branch names", () => {
    const branch = "expected a git branch name (no spaces, '..', '~', '^', ':', '?', '*', '[', '\\', no leading '/', '-' or 'refs/')";
    const change = withChange((c) => {
      c[`${P}:apps`][0].branch = "HEAD";
      c[`${P}:apps`][1].branch = "@";
      c[`${P}:apps`][0].imageAutomation.pushBranch = "updates.lock/orders";
      c[`${P}:ci`].defaultBranch = "ma\u200bin";
    });
    expect(problems(change)).toEqual([
      `${P}:apps[0].branch: expected a branch name; HEAD and @ name a commit, not a branch`,
      `${P}:apps[0].imageAutomation.pushBranch: ${branch}`,
      `${P}:apps[1].branch: expected a branch name; HEAD and @ name a commit, not a branch`,
      `${P}:ci.defaultBranch: ${branch}`,
    ]);
    expect(() => parse(withChange((c) => (c[`${P}:apps`][1].branch = "release/head-lock")))).not.toThrow();
  });

  it("refuses tag keys AWS reserves", () => {
    expect(problems(withChange((c) => (c[`${P}:aws`].tags = { "AWS:team": "platform" })))).toEqual([
      `${P}:aws.tags.AWS:team: tag keys may not start with aws: (reserved by AWS)`,
    ]);
    expect(() => parse(withChange((c) => (c[`${P}:aws`].tags = { "team:aws": "platform" })))).not.toThrow();
  });

  it("refuses a typo of the project's namespace, which would otherwise be ignored", () => {
    expect(problems({ ...valid(), "gitops-platfrom:registry": { keepLastImages: 5 } })).toEqual([
      `gitops-platfrom:registry: unknown namespace gitops-platfrom (check for a typo: gitops-platform:registry)`,
    ]);
    expect(() => parse({ ...valid(), "kubernetes:context": "staging", "github:owner": "acme-corp" })).not.toThrow();
  });

  it("refuses provider credentials stored in plaintext", () => {
    expect(problems({ ...valid(), "aws:token": "example", "aws:secretKey": "example" })).toEqual([
      "aws:secretKey: must be a secret; store it with `pulumi config set --secret aws:secretKey`",
      "aws:token: must be a secret; store it with `pulumi config set --secret aws:token`",
    ]);
    expect(() => parse({ ...valid(), "aws:token": "example" }, "staging", ["aws:token"])).not.toThrow();
  });


  it("never quotes a value stored as a secret in a problem, not even cut short", () => {
    const secretCidr = "10.1.2.3/8";
    const values = withChange((c) => {
      c[`${P}:firewall`].ingress[0].cidrs = [secretCidr];
      c[`${P}:firewall`].ingress[0].description = { note: "x".repeat(80) };
    });
    const listed = problems(values, "staging", [`${P}:firewall`]);
    expect(listed).toEqual([
      `${P}:firewall.ingress[0].description: expected a string, got a secret value (not shown)`,
      `${P}:firewall.ingress[0].cidrs[0]: host bits set in [secret]; use the network address`,
    ]);
    // The same config stored in plaintext is quoted, so the test above shows the masking.
    expect(problems(values)[1]).toBe(`${P}:firewall.ingress[0].cidrs[0]: host bits set in ${secretCidr}; use the network address`);
  });

  it("keeps a secret value out of every problem of an otherwise bad config", () => {
    const token = fakeGithubToken("R3alLook1ngT0kenAAAAAAAAAAAAAAAAAAAAA");
    const values = withChange((c) => {
      c["aws:token"] = token;
      c[`${P}:environment`] = "prod";
      // A token pasted into a plaintext key by mistake, next to the real one.
      c[`${P}:github`].hookCidrs = [token];
    });
    try {
      parse(values, "staging", ["aws:token"]);
      throw new Error("expected the config to be refused");
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).not.toContain("R3alLook");
      expect((error as ConfigError).problems).toEqual([
        `${P}:github.hookCidrs[0]: expected a CIDR block such as 203.0.113.0/24, got "[secret]"`,
        `${P}:environment: must equal the stack name "staging", got "prod"`,
      ]);
    }
  });
});

describe("config: world-open ports", () => {
  it("refuses at least every port the policy pack refuses", () => {
    expect([...ADMIN_PORTS, ...RISKY_PORTS].filter((port) => !WORLD_CLOSED_PORTS.includes(port))).toEqual([]);
    expect(problems(ingressWith({ fromPort: 6443, toPort: 6443, cidrs: ["0.0.0.0/0", "2000::/3"] }))).toEqual([
      `${P}:firewall.ingress[0].cidrs[0]: 0.0.0.0/0 may not reach port 6443`,
      `${P}:firewall.ingress[0].cidrs[1]: 2000::/3 covers most of the internet; write ::/0 if the world is meant, so every check sees it`,
      `${P}:firewall.ingress[0].cidrs[1]: 2000::/3 may not reach port 6443`,
    ]);
    expect(problems(ingressWith({ fromPort: 10250, toPort: 10250, cidrs: ["::/0"] }))).toEqual([`${P}:firewall.ingress[0].cidrs[0]: ::/0 may not reach port 10250`]);
    expect(() => parse(ingressWith({ fromPort: 6443, toPort: 6443, cidrs: ["10.20.0.0/16"] }))).not.toThrow();
  });
});
