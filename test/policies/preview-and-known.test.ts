// Each rule's failing case judged twice through the offline engine: at first preview, where
// provider-computed values are unknown, and with those values known (the engine's provider-outputs
// hook), as in every preview after the first `up`. A rule must not pass the first and block the
// second: where it can decide by reference it gives the same verdict; where a value it must read
// is unknown it says so in a note naming the resource.
import { describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as tls from "@pulumi/tls";
import type { Policy } from "@pulumi/policy";
import { runProgram } from "../../tools/engine";
import { evaluatePolicies } from "../../tools/engine/policy";
import { s3EncryptionKms } from "../../policies/aws-s3";
import { sgNoWorldAdminPorts } from "../../policies/aws-network";
import { iamNoWildcards } from "../../policies/aws-iam";
import { kmsRotationDeletionWindow } from "../../policies/aws-kms";
import { fluxGitSecret, k8sPodSecurity } from "../../policies/kubernetes";
import { secretMaterialPlaintext } from "../../policies/secrets";
import { fakeOpensshPrivateKey } from "../support/fake-keys";

type Outputs = (resource: { readonly type: string; readonly name: string; readonly inputs: Record<string, unknown> }) => Record<string, unknown> | undefined;

/** What a provider computes for the resources these programs declare. */
const providerOutputs: Outputs = ({ type, name }) => {
  switch (type) {
    case "aws:s3/bucket:Bucket":
      return { bucket: `${name}-bucket`, arn: `arn:aws:s3:::${name}-bucket` };
    case "aws:ec2/managedPrefixList:ManagedPrefixList":
      return { id: "pl-0123456789abcdef0" };
    case "aws:kms/key:Key":
      return { arn: "arn:aws:kms:eu-west-1:111111111111:key/0b7c2a52-6a7e-4f0e-9d8a-3c1f5e2b7a10" };
    case "tls:index/privateKey:PrivateKey":
      return { privateKeyOpenssh: fakeOpensshPrivateKey("ZmFrZSBrZXkgZm9yIHRlc3RzIG9ubHk="), publicKeyOpenssh: "ssh-ed25519 AAAAfake" };
    case "kubernetes:core/v1:Namespace":
    case "kubernetes:core/v1:Secret":
      // Auto-naming: the provider adds a random suffix.
      return { metadata: { name: `${name}-0a1b2c`, namespace: "flux-system" } };
    default:
      return undefined;
  }
};

/** The policy's findings at first preview and with provider values known: `<level> <resource name>: <message>`. */
async function bothWays(policy: Policy, program: () => void): Promise<{ preview: string[]; known: string[] }> {
  const judge = async (outputs?: Outputs) => {
    const result = await runProgram({ stack: "test", config: { "aws:region": "eu-west-1" }, program, ...(outputs ? { providerOutputs: outputs } : {}) });
    const found = await evaluatePolicies(result, [{ name: "gitops-platform", version: "0.1.0", policies: [policy], config: { [policy.name]: "mandatory" } }]);
    return found.map((v) => `${v.enforcementLevel} ${v.resource?.split("::").pop() ?? "-"}: ${v.message}`);
  };
  return { preview: await judge(), known: await judge(providerOutputs) };
}

const note = (policy: string, what: string) => `can't run policy '${policy}' from policy pack 'gitops-platform@v0.1.0' during preview: ${what} can't be known during preview`;

describe("failing cases are judged at first preview and with values known", () => {
  it("s3-encryption-kms: SSE-S3 on a bucket that does not receive load balancer logs", async () => {
    const found = await bothWays(s3EncryptionKms, () => {
      const bucket = new aws.s3.Bucket("data", {});
      new aws.s3.BucketServerSideEncryptionConfiguration("data", { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] });
      new aws.s3.BucketPolicy("data", {
        bucket: bucket.id,
        policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } }] }),
      });
    });
    expect(found).toEqual({
      preview: [
        "mandatory data: encryption of bucket \"data\" uses SSE-S3 (AES256); use SSE-KMS (aws:kms) with a KMS key declared in this stack (only a bucket whose policy lets Elastic Load Balancing deliver access logs may use SSE-S3, and this bucket's policy is not known during preview)",
      ],
      known: ['mandatory data: encryption of bucket "data" uses SSE-S3 (AES256); use SSE-KMS (aws:kms) with a KMS key declared in this stack'],
    });
  });

  it("s3-encryption-kms: a load balancer log bucket named in the program passes both times", async () => {
    const found = await bothWays(s3EncryptionKms, () => {
      const bucket = new aws.s3.Bucket("alb-logs", { bucket: "acme-alb-logs" });
      new aws.s3.BucketServerSideEncryptionConfiguration("alb-logs", { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] });
      new aws.s3.BucketPolicy("alb-logs", {
        bucket: bucket.id,
        policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: { Service: "logdelivery.elasticloadbalancing.amazonaws.com" }, Action: "s3:PutObject", Resource: "arn:aws:s3:::acme-alb-logs/AWSLogs/111111111111/*" }],
        }),
      });
    });
    expect(found).toEqual({ preview: [], known: [] });
  });

  it("sg-no-world-admin-ports: SSH from a declared prefix list with a world-open entry", async () => {
    const found = await bothWays(sgNoWorldAdminPorts, () => {
      const list = new aws.ec2.ManagedPrefixList("office", { name: "office", addressFamily: "IPv4", maxEntries: 2, entries: [{ cidr: "0.0.0.0/0", description: "oops" }] });
      new aws.vpc.SecurityGroupIngressRule("ssh", { securityGroupId: "sg-0123456789abcdef0", description: "SSH", ipProtocol: "tcp", fromPort: 22, toPort: 22, prefixListId: list.id });
    });
    const violation = 'mandatory ssh: rule lets 0.0.0.0/0 (from prefix list "office") reach port 22 (tcp 22)';
    expect(found).toEqual({ preview: [violation], known: [violation] });
  });

  it("k8s-pod-security: a privileged container in a namespace computed from a Namespace", async () => {
    const found = await bothWays(k8sPodSecurity, () => {
      const ns = new k8s.core.v1.Namespace("apps", {});
      new k8s.apps.v1.Deployment("web", {
        metadata: { namespace: ns.metadata.name },
        spec: {
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: {
              securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
              containers: [{ name: "web", image: "nginx", securityContext: { privileged: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } } }],
            },
          },
        },
      });
    });
    expect(found).toEqual({ preview: ['mandatory web: container "web" must not be privileged'], known: ['mandatory web: container "web" must not be privileged'] });
  });

  it("flux-git-secret: a scanned host key in the Secret a GitRepository refers to by a computed name; an unrelated Secret is not judged", async () => {
    const found = await bothWays(fluxGitSecret, () => {
      const secret = new k8s.core.v1.Secret("git", {
        metadata: { namespace: "flux-system" },
        stringData: { identity: "x", "identity.pub": "y", known_hosts: "github.com ssh-ed25519 AAAAscanned" },
      });
      new k8s.core.v1.Secret("unrelated", { metadata: { namespace: "apps" }, stringData: { identity: "x", known_hosts: "example.com ssh-ed25519 AAAAother" } });
      new k8s.apiextensions.CustomResource("source", {
        apiVersion: "source.toolkit.fluxcd.io/v1",
        kind: "GitRepository",
        metadata: { name: "config", namespace: "flux-system" },
        spec: { url: "ssh://git@github.com/acme-corp/gitops-platform", ref: { branch: "main" }, secretRef: { name: secret.metadata.name } },
      });
    });
    const violation =
      'mandatory git: known_hosts of git secret "git", line 1 (github.com ssh-ed25519), is not a pinned host key; pin the published host keys instead of scanning them on first use';
    expect(found).toEqual({ preview: [violation], known: [violation] });
  });

  it("iam-no-wildcards: s3:* in a document built from a bucket's ARN is a note naming the resource, then a violation", async () => {
    const found = await bothWays(iamNoWildcards, () => {
      const bucket = new aws.s3.Bucket("data", {});
      new aws.iam.Policy("wide", { policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: bucket.arn }] }) });
    });
    expect(found).toEqual({
      preview: [`advisory wide: ${note("iam-no-wildcards", "string value at .policy")}`],
      known: ['mandatory wide: policy statement #0 allows "s3:*"; list the actions it needs'],
    });
  });

  it("kms-rotation-deletion-window: a key policy granting kms:* to everyone", async () => {
    const found = await bothWays(kmsRotationDeletionWindow, () => {
      new aws.kms.Key("open", {
        enableKeyRotation: true,
        policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "Everyone", Effect: "Allow", Principal: "*", Action: "kms:*", Resource: "*" }] }),
      });
    });
    const violation = 'mandatory open: key policy statement "Everyone" allows "kms:*" to every principal; grant the key\'s administration to named principals such as the account root';
    expect(found).toEqual({ preview: [violation], known: [violation] });
  });

  it("secret-material-plaintext: a private key copied into a ConfigMap is a note naming the ConfigMap, then a violation", async () => {
    const found = await bothWays(secretMaterialPlaintext, () => {
      const key = new tls.PrivateKey("deploy", { algorithm: "ED25519" });
      new k8s.core.v1.ConfigMap("settings", { metadata: { name: "settings" }, data: { identity: key.privateKeyOpenssh } });
    });
    expect(found).toEqual({
      preview: [`advisory -: ${note("secret-material-plaintext", 'kubernetes:core/v1:ConfigMap "settings": string value at .data.identity')}`],
      known: [
        "mandatory settings: data.identity contains a private key in a property that is not stored as a secret; pass key material only through secret properties such as a Kubernetes Secret's data",
      ],
    });
  });
});
