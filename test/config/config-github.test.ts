import { describe, expect, it } from "vitest";
import * as crypto from "node:crypto";
import * as path from "node:path";
import { loadStackConfig } from "../../tools/engine";
import { parseConfig, type PlatformConfig } from "../../components/config";
import { GITHUB_KNOWN_HOSTS } from "../../policies/vocabulary";
import { knownHostsLineProblem } from "../../components/github/known-hosts";
import { configProblems, encodeConfig } from "../support/config";

const root = path.resolve(__dirname, "..", "..");

type Json = Record<string, unknown>;

/** The staging stack's config, with `edit` applied to the parsed values. */
function raw(edit: (config: { github: Json; apps: Json[] }) => void = () => {}) {
  const stack = loadStackConfig(root, "staging");
  const values = structuredClone(stack.config);
  const config = { github: values["gitops-platform:github"] as Json, apps: values["gitops-platform:apps"] as Json[] };
  edit(config);
  values["gitops-platform:github"] = config.github;
  values["gitops-platform:apps"] = config.apps;
  return { stack: "staging", values: encodeConfig(values), secretKeys: stack.secretKeys };
}

function problems(edit: (config: { github: Json; apps: Json[] }) => void): readonly string[] {
  return configProblems(raw(edit));
}

const configRepo = (c: { github: Json }) => c.github.configRepo as Json;
const ed25519 = GITHUB_KNOWN_HOSTS[0] as string;

describe("config: github and deploy keys", () => {
  it("accepts the staging stack", () => {
    expect(problems(() => {})).toEqual([]);
  });

  it("uses the correct default values", () => {
    const config: PlatformConfig = parseConfig(
      raw((c) => {
        // hookCidrs stays: the stack's webhook receiver needs GitHub's ranges.
        c.github = { owner: "acme-corp", configRepo: { repo: "acme-corp/gitops-platform", branch: "staging" }, hookCidrs: c.github.hookCidrs };
        c.apps = [{ name: "orders", repo: "acme-corp/orders" }];
      }),
    );
    expect(config.github.configRepo.deployKey).toEqual({ generation: 0, algorithm: "ED25519", readWrite: false });
    expect(config.apps[0]?.deployKey).toEqual({ generation: 0, algorithm: "ED25519", readWrite: false });
    expect(config.github.branchProtection).toEqual({ enabled: true, requiredReviews: 1, requiredChecks: ["preview"] });
    // No override: GitHub's published host keys, the DeployKey's own default.
    expect(config.github.knownHosts).toEqual(GITHUB_KNOWN_HOSTS);
    expect(config.github.configRepo.path).toBe("clusters/staging");
    expect(config.apps[0]?.path).toBe("deploy/staging");
  });

  it("refuses a repository not in owner/name form", () => {
    expect(problems((c) => (c.apps[0]!.repo = "orders"))).toEqual(["gitops-platform:apps[0].repo: expected a GitHub repository as owner/name"]);
    expect(problems((c) => (configRepo(c).repo = "acme-corp/gitops/platform"))).toEqual([
      "gitops-platform:github.configRepo.repo: expected a GitHub repository as owner/name",
    ]);
  });

  it("refuses a repository of another owner than the provider's", () => {
    expect(problems((c) => (c.apps[1]!.repo = "other-org/payments"))).toEqual([
      "gitops-platform:apps[1].repo: owner other-org differs from github.owner acme-corp; the GitHub provider manages one owner's repositories",
    ]);
    // GitHub logins are case-insensitive.
    expect(problems((c) => (c.apps[1]!.repo = "Acme-Corp/payments"))).toEqual([]);
  });

  it("refuses the config repo listed as an app repo", () => {
    expect(problems((c) => (c.apps[1]!.repo = "acme-corp/GitOps-Platform"))).toEqual([
      "gitops-platform:apps[1].repo: acme-corp/GitOps-Platform is the config repo (github.configRepo.repo); an app's manifests and CI live in its own repository",
    ]);
  });

  it("refuses the same repository twice", () => {
    expect(problems((c) => (c.apps[1]!.repo = "acme-corp/Orders"))).toEqual([
      "gitops-platform:apps[1].repo: acme-corp/Orders is already used by gitops-platform:apps[0].repo; every repository needs its own deploy key",
    ]);
  });

  it("refuses a read-write key without image automation", () => {
    expect(
      problems((c) => {
        delete c.apps[0]!.imageAutomation;
      }),
    ).toEqual([
      "gitops-platform:github.configRepo.deployKey.readWrite: a read-write key needs image automation on at least one app; set it to false",
    ]);
    expect(problems((c) => (c.apps[1]!.deployKey = { readWrite: true }))).toEqual([
      "gitops-platform:apps[1].deployKey.readWrite: app repositories are only read; image automation writes to the config repo",
    ]);
  });

  it("refuses image automation without a read-write key on the config repo", () => {
    expect(problems((c) => (configRepo(c).deployKey = { readWrite: false }))).toEqual([
      "gitops-platform:github.configRepo.deployKey.readWrite: image automation commits to the config repo and needs a read-write key; set it to true",
    ]);
  });

  it("refuses a weak key algorithm", () => {
    expect(problems((c) => (configRepo(c).deployKey = { readWrite: true, algorithm: "RSA" }))).toEqual([
      "gitops-platform:github.configRepo.deployKey.algorithm: expected ED25519 or ECDSA (RSA keys are refused)",
    ]);
    expect(problems((c) => (c.apps[0]!.deployKey = { algorithm: "ECDSA" }))).toEqual([]);
  });

  it("refuses a key generation that is not a non-negative integer", () => {
    for (const generation of [-1, 1.5, 2 ** 53]) {
      expect(problems((c) => (c.apps[0]!.deployKey = { generation }))).toEqual(["gitops-platform:apps[0].deployKey.generation: expected a non-negative integer"]);
    }
    expect(problems((c) => (c.apps[0]!.deployKey = { generation: "1" }))).toEqual(['gitops-platform:apps[0].deployKey.generation: expected a number, got "1"']);
    expect(problems((c) => (c.apps[0]!.deployKey = { generation: 7 }))).toEqual([]);
  });

  it("refuses an empty known_hosts", () => {
    expect(problems((c) => (c.github.knownHosts = []))).toEqual([
      "gitops-platform:github.knownHosts: expected at least one line; omit the key to use GitHub's published host keys",
    ]);
    expect(problems((c) => (c.github.knownHosts = "github.com"))).toEqual(['gitops-platform:github.knownHosts: expected an array, got "github.com"']);
  });

  it("refuses malformed known_hosts lines, each with its index", () => {
    const blob = ed25519.split(" ")[2] as string;
    const cases: [string, string][] = [
      ["", 'expected "github.com <key type> <base64 key>", got an empty line'],
      ["github.com ssh-ed25519", 'expected "github.com <key type> <base64 key>" (3 fields), got 2 fields'],
      [`${ed25519} comment`, 'expected "github.com <key type> <base64 key>" (3 fields), got 4 fields'],
      [`|1|c2FsdA==|aGFzaA== ssh-ed25519 ${blob}`, "hashed host names are not accepted; write the host as github.com"],
      [`*.github.com ssh-ed25519 ${blob}`, "wildcard and negated host patterns are not accepted; write the host as github.com"],
      [`github.com,gitlab.com ssh-ed25519 ${blob}`, 'host must be github.com, got "github.com,gitlab.com"'],
      [`gitlab.com ssh-ed25519 ${blob}`, 'host must be github.com, got "gitlab.com"'],
      [`@cert-authority github.com ssh-ed25519 ${blob}`, 'markers such as @cert-authority are not accepted; expected "github.com <key type> <base64 key>"'],
      [`# github.com ssh-ed25519 ${blob}`, 'comments are not accepted; expected "github.com <key type> <base64 key>"'],
      [`github.com ssh-dss ${blob}`, 'key type "ssh-dss" is not accepted; expected one of ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, ssh-rsa'],
      [`github.com ssh-rsa ${blob}`, "the key is not a base64 ssh-rsa public key"],
      ["github.com ssh-ed25519 not-base64!", "the key is not a base64 ssh-ed25519 public key"],
      [`github.com ssh-ed25519 ${blob.slice(0, 12)}`, "the key is not a base64 ssh-ed25519 public key"],
    ];
    for (const [line, message] of cases) {
      expect(problems((c) => (c.github.knownHosts = [ed25519, line]))).toEqual([`gitops-platform:github.knownHosts[1]: ${message}`]);
    }
  });

  it("accepts pinned known_hosts lines", () => {
    expect(problems((c) => (c.github.knownHosts = [...GITHUB_KNOWN_HOSTS]))).toEqual([]);
    const config = parseConfig(raw((c) => (c.github.knownHosts = [`  ${ed25519}  `])));
    expect(config.github.knownHosts).toEqual([`  ${ed25519}  `]);
  });

  it("refuses branch protection without a required check", () => {
    expect(problems((c) => (c.github.branchProtection = { requiredChecks: [] }))).toEqual([
      "gitops-platform:github.branchProtection.requiredChecks: expected at least one check (the preview job)",
    ]);
    expect(problems((c) => (c.github.branchProtection = { requiredChecks: [" preview"] }))).toEqual([
      "gitops-platform:github.branchProtection.requiredChecks[0]: expected a check name (the job name, no leading or trailing spaces)",
    ]);
  });

  it("lists every problem at once", () => {
    expect(
      problems((c) => {
        c.apps[0]!.repo = "orders";
        c.apps[1]!.deployKey = { algorithm: "RSA", generation: -1 };
        c.github.knownHosts = [];
      }),
    ).toHaveLength(4);
  });
});

describe("GitHub's published host keys", () => {
  // GitHub publishes the SHA256 fingerprints beside the keys; recompute them from the pinned blobs.
  it("match GitHub's published fingerprints", () => {
    const fingerprints = GITHUB_KNOWN_HOSTS.map((line) => {
      const [, type, blob] = line.split(" ") as [string, string, string];
      return `${type} SHA256:${crypto.createHash("sha256").update(Buffer.from(blob, "base64")).digest("base64").replace(/=+$/, "")}`;
    });
    expect(fingerprints).toEqual([
      "ssh-ed25519 SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU",
      "ecdsa-sha2-nistp256 SHA256:p2QAMXNIC1TJYWeIOttrVc98/R1BUFWu3/LiyKgUfQM",
      "ssh-rsa SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
    ]);
  });

  it("pass the known_hosts check", () => {
    expect(GITHUB_KNOWN_HOSTS.map(knownHostsLineProblem)).toEqual([undefined, undefined, undefined]);
  });
});
