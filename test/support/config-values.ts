/** Stack config fixtures for the config tests: a valid staging and production config, and ways to bend them. */
// Fixtures are bent into shapes no type describes.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access */
import { parseConfig, type PlatformConfig } from "../../components/config";
import { configProblems, encodeConfig } from "./config";

export const P = "gitops-platform";

export type Values = Record<string, unknown>;

/** A complete, valid staging config, as the stack file would hold it (objects not yet JSON-encoded). */
export function valid(): Values {
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
export function validProd(): Values {
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

export function parse(values: Values, stack = "staging", secretKeys: string[] = []): PlatformConfig {
  return parseConfig({ stack, values: encodeConfig(values), secretKeys });
}

/** The problems a config has; fails the test if it has none. */
export function problems(values: Values, stack = "staging", secretKeys: string[] = []): readonly string[] {
  const found = configProblems({ stack, values: encodeConfig(values), secretKeys });
  if (found.length === 0) throw new Error("expected the config to be refused");
  return found;
}

/** Applies a change to a fresh valid config (staging unless given another base). */
export function withChange(change: (v: Record<string, any>) => void, base: () => Values = valid): Values {
  const v = base();
  change(v as Record<string, any>);
  return v;
}

export const ingressWith = (rule: Record<string, unknown>) =>
  withChange((v) => {
    v[`${P}:firewall`].ingress = [{ description: "test rule", fromPort: 443, toPort: 443, cidrs: ["203.0.113.0/24"], ...rule }];
  });
