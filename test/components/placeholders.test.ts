// Example values never reach a real account: a real preview or up (the program run as the Pulumi
// CLI's language host runs it) refuses every example value of the shipped stack files, with what to
// put there; the offline engine (Pulumi's mock runtime) keeps running them.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { parseConfig, runsUnderMocks } from "../../components/config";
import { findPlaceholders } from "../../components/config/placeholders";
import { loadStackConfig, runProgram } from "../../tools/engine";
import { configProblems, encodeConfig } from "../support/config";
import { STACKS } from "../support/stacks";

const root = path.resolve(__dirname, "..", "..");
const P = "gitops-platform";

/** What readConfig refuses in a process set up as the CLI's Node.js language host sets up a real run. */
function realRun(stack: string, config: Record<string, unknown>, secretKeys: readonly string[] = []): { underMocks: boolean; problems: string[] } {
  const run = spawnSync(process.execPath, [path.join(root, "tools", "build", "run-ts.mts"), path.join(__dirname, "..", "support", "real-run-config.ts")], {
    encoding: "utf8",
    env: {
      ...process.env,
      // What @pulumi/pulumi's cmd/run puts in the environment from the language host's arguments.
      PULUMI_NODEJS_MONITOR: "127.0.0.1:1",
      PULUMI_NODEJS_PROJECT: P,
      PULUMI_NODEJS_STACK: stack,
      PULUMI_NODEJS_DRY_RUN: "true",
      PULUMI_CONFIG: JSON.stringify(encodeConfig(config)),
      PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(secretKeys),
    },
  });
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
  return JSON.parse(run.stdout) as { underMocks: boolean; problems: string[] };
}

const accountHint = "put the 12-digit id of the account this stack deploys to (`aws sts get-caller-identity --query Account --output text` with that account's credentials)";
const ownerProblem = `${P}:github.owner: acme-corp is the example organisation of the shipped stack files; put your GitHub organisation or user: the owner of the config repo and the app repositories`;
const keyArn = (account: string) =>
  `${P}:ci.secretsKeyArn: names the example account ${account}; put the ARN of the stack's secrets key (\`aws kms describe-key --key-id alias/gitops-platform-<stack> --query KeyMetadata.Arn --output text\`)`;
const encrypter = (account: string) =>
  `${P}:appSecrets.encrypters[0]: names the example account ${account}; put the ARN of a role in your account allowed to encrypt app secrets (\`aws iam get-role --role-name <name> --query Role.Arn --output text\`)`;
const zeroDigest = `${P}:reconciler.operator.image: the all-zero digest is a placeholder; put the digest of that image (\`crane digest ghcr.io/controlplaneio-fluxcd/flux-operator:v0.58.1\`, or \`docker buildx imagetools inspect ghcr.io/controlplaneio-fluxcd/flux-operator:v0.58.1\`)`;
const host = (env: string) =>
  `${P}:reconciler.webhook.host: flux-webhook.${env}.example.com is a domain reserved for documentation (RFC 2606); put the public DNS name GitHub sends webhooks to: a name in a domain you control, covered by the ACM certificate`;
const certificate = (account: string) =>
  `${P}:reconciler.webhook.certificateArn: names the example account ${account}; put the ARN of the ACM certificate issued for reconciler.webhook.host (\`aws acm list-certificates --query "CertificateSummaryList[].[DomainName,CertificateArn]" --output text\`)`;

describe("example values in a real run", () => {
  it("refuses every example value of Pulumi.staging.yaml, the all-zero operator digest among them, saying what to put there and how to find it", () => {
    const loaded = loadStackConfig(root, "staging");
    expect(realRun("staging", loaded.config, loaded.secretKeys)).toEqual({
      underMocks: false,
      // In the order of the stack file's keys.
      problems: [
        encrypter("111111111111"),
        zeroDigest,
        host("staging"),
        certificate("111111111111"),
        `${P}:aws.accountId: 111111111111 is an example account id; ${accountHint}`,
        ownerProblem,
        `${P}:firewall.ingress[0].cidrs[0]: 203.0.113.0/24 is reserved for documentation (RFC 5737); put the address ranges that really need this access (for example your VPN's egress ranges)`,
        keyArn("111111111111"),
      ],
    });
  });

  it("refuses every example value of Pulumi.prod.yaml, the all-zero operator digest among them", () => {
    const loaded = loadStackConfig(root, "prod");
    expect(realRun("prod", loaded.config, loaded.secretKeys)).toEqual({
      underMocks: false,
      // In the order of the stack file's keys.
      problems: [
        encrypter("222222222222"),
        zeroDigest,
        host("prod"),
        certificate("222222222222"),
        `${P}:aws.accountId: 222222222222 is an example account id; ${accountHint}`,
        ownerProblem,
        keyArn("222222222222"),
      ],
    });
  });

  it("accepts the same stack file once the examples are replaced by real values", () => {
    const loaded = loadStackConfig(root, "prod");
    const real = JSON.parse(
      JSON.stringify(loaded.config)
        .replaceAll("222222222222", "444455556666")
        .replaceAll("acme-corp", "my-org")
        .replaceAll(".example.com", ".my-org.dev")
        .replaceAll(/@sha256:0{64}/g, `@sha256:${"7c".repeat(32)}`),
    ) as Record<string, unknown>;
    expect(realRun("prod", real, loaded.secretKeys)).toEqual({ underMocks: false, problems: [] });
  });

  it("keeps the examples runnable offline: the engine runs under the mock runtime, and both stacks plan", async () => {
    for (const stack of STACKS) {
      const loaded = loadStackConfig(root, stack);
      const probe = await runProgram({ stack, config: loaded.config, secretKeys: loaded.secretKeys, program: () => ({ underMocks: runsUnderMocks() }) });
      expect(probe.outputs).toEqual({ underMocks: true });
      const result = await runProgram({ stack, config: loaded.config, secretKeys: loaded.secretKeys, program: path.join(root, "index.ts") });
      expect(result.resources.length).toBeGreaterThan(50);
    }
  });
});

describe("findPlaceholders", () => {
  it("finds examples by kind under any key: account ids, zero digests, documentation domains and ranges", () => {
    const found = findPlaceholders({
      aws: { tags: { owner: "123456789012", billing: "000000000000" } },
      github: { hookCidrs: ["2001:db8:1::/48", "198.51.100.128/25"] },
      reconciler: { commitAuthor: { email: "bot@mail.example.org" }, webhook: { host: "hooks.corp.example" } },
      apps: [{ image: `registry.invalid/app@sha256:${"0".repeat(64)}` }],
    });
    expect(found.map((f) => [f.path.join("."), f.message])).toEqual([
      ["aws.tags.owner", "123456789012 is an example account id; put the id of your AWS account"],
      ["aws.tags.billing", "000000000000 is an example account id; put the id of your AWS account"],
      ["github.hookCidrs.0", "2001:db8:1::/48 is in 2001:db8::/32, reserved for documentation (RFC 3849); put the address ranges that really need this access (for example your VPN's egress ranges)"],
      ["github.hookCidrs.1", "198.51.100.128/25 is in 198.51.100.0/24, reserved for documentation (RFC 5737); put the address ranges that really need this access (for example your VPN's egress ranges)"],
      ["reconciler.commitAuthor.email", "mail.example.org is a domain reserved for documentation (RFC 2606); put a name in a domain you control"],
      ["reconciler.webhook.host", "hooks.corp.example is a domain reserved for documentation (RFC 2606); put the public DNS name GitHub sends webhooks to: a name in a domain you control, covered by the ACM certificate"],
      ["apps.0.image", "the all-zero digest is a placeholder; put the image's real digest"],
      ["apps.0.image", "registry.invalid is a domain reserved for documentation (RFC 2606); put a name in a domain you control"],
    ]);
  });

  it("leaves real-looking values alone", () => {
    expect(
      findPlaceholders({
        aws: { accountId: "444455556666" },
        github: { owner: "acme-corporation", hookCidrs: ["192.30.252.0/22", "2001:db9::/32", "203.0.112.0/24"] },
        reconciler: { webhook: { host: "flux.example.com.au" }, operator: { image: `ghcr.io/x/y:v1@sha256:${"0".repeat(63)}1` } },
        notes: ["myexample.com", "examples.org", "1111111111111"],
      }),
    ).toEqual([]);
  });

  it("is applied by parseConfig only when asked (a real run), after every other check", () => {
    const loaded = loadStackConfig(root, "staging");
    const raw = { stack: "staging", values: encodeConfig(loaded.config), secretKeys: loaded.secretKeys };
    expect(configProblems(raw)).toEqual([]);
    expect(() => parseConfig({ ...raw, refuseExamples: false })).not.toThrow();
    expect(configProblems({ ...raw, refuseExamples: true })).toHaveLength(8);
  });
});
