// Bad input is the point of these tests: fixtures are bent into shapes no type describes.
/* eslint-disable @typescript-eslint/no-unsafe-member-access */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { CI_IDENTITY_DEFAULTS } from "../../components/aws/ci-identity";
import { REGISTRY_DEFAULTS } from "../../components/aws/registry";
import { STORAGE_DEFAULTS } from "../../components/aws/storage";
import { DEPLOY_KEY_DEFAULTS } from "../../components/github/deploy-key";
import { GITHUB_WIRING_DEFAULTS } from "../../components/github/github-wiring";
import { loadStackConfig } from "../../tools/engine";
import { P, parse, problems, valid, validProd, withChange } from "../support/config-values";
import { STACKS } from "../support/stacks";

const root = path.resolve(__dirname, "..", "..");

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
    // Component defaults come from their `*_DEFAULTS` constants (the point: the schema applies them);
    // the schema's own defaults are literals on purpose, their independent expectation.
    const config = parse(valid());
    expect(config.production).toBe(false);
    expect(config.storage).toEqual(STORAGE_DEFAULTS);
    expect(config.registry).toEqual(REGISTRY_DEFAULTS);
    expect(config.firewall.egress).toEqual([]);
    expect(config.firewall.ingress[0]!.protocol).toBe("tcp");
    expect(config.firewall.waf).toEqual({ enabled: false, rateLimit: 2000, managedRuleGroups: ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"] });
    expect(config.ci.createOidcProvider).toBe(CI_IDENTITY_DEFAULTS.createOidcProvider);
    expect(config.ci.defaultBranch).toBeUndefined();
    expect(config.promotion).toEqual({ to: [] });
    expect(config.apps[1]).toEqual({
      name: "payments",
      repo: "acme-corp/payments",
      branch: "main",
      path: "deploy/staging",
      interval: "5m",
      deployKey: { generation: DEPLOY_KEY_DEFAULTS.generation, algorithm: DEPLOY_KEY_DEFAULTS.algorithm, readWrite: DEPLOY_KEY_DEFAULTS.readWrite },
    });
    expect(config.github.branchProtection).toEqual({
      enabled: GITHUB_WIRING_DEFAULTS.protectBranch,
      requiredReviews: GITHUB_WIRING_DEFAULTS.requiredReviews,
      requiredChecks: GITHUB_WIRING_DEFAULTS.requiredChecks,
    });
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

  it("refuses a Flux version range in every environment", () => {
    const message = `${P}:reconciler.flux.version: expected an exact Flux version such as 2.7.3; a range such as 2.x could resolve to another Flux than the other environment runs`;
    for (const [base, stack] of [[valid, "staging"], [validProd, "prod"]] as const) {
      for (const version of ["2.x", "2", "2.7", "~2.7.0", ">=2.7.3"]) {
        expect(problems(withChange((c) => (c[`${P}:reconciler`] = { flux: { version } }), base), stack)).toEqual([message]);
      }
    }
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
});

describe("config: other spellings of bad input are refused too", () => {
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
});
