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
import { s3NoPublicPrincipal, s3OwnershipEnforced, s3ProtectRetain, s3PublicAccessBlock, s3TlsOnly, s3VersioningLifecycle } from "../../policies/aws-s3";
import { s3EncryptionKms } from "../../policies/aws-s3-encryption";
import { sgHygiene, sgNoWorldAdminPorts, sgNoWorldRiskyPorts, sgWorldIngressAllowlist } from "../../policies/aws-network";
import { iamIrsaTrust, iamNoWildcards } from "../../policies/aws-iam";
import { ecrImmutableTags, ecrLifecyclePolicy, ecrRepositoryPolicy, ecrScanOnPush } from "../../policies/aws-ecr";
import { kmsRotationDeletionWindow } from "../../policies/aws-kms";
import { k8sImageDigest, k8sPodSecurity, k8sResourcesProbes } from "../../policies/kubernetes";
import { fluxGitSecret, fluxPinnedVersions, k8sReconcilerNamespaceRestricted, k8sReconcilerNetworkPolicies } from "../../policies/flux-reconciler";
import { secretMaterialPlaintext } from "../../policies/secrets";
import { fakeOpensshPrivateKey } from "../support/fake-keys";

type Outputs = (resource: { readonly type: string; readonly name: string; readonly inputs: Record<string, unknown> }) => Record<string, unknown> | undefined;

/** What a provider computes for the resources these programs declare. */
const providerOutputs: Outputs = ({ type, name, inputs }) => {
  switch (type) {
    case "aws:s3/bucket:Bucket":
      return { bucket: `${name}-bucket`, arn: `arn:aws:s3:::${name}-bucket` };
    case "aws:ec2/managedPrefixList:ManagedPrefixList":
      return { id: "pl-0123456789abcdef0" };
    case "aws:ecr/repository:Repository":
      return { arn: `arn:aws:ecr:eu-west-1:111111111111:repository/${name}`, name };
    case "aws:ec2/securityGroup:SecurityGroup":
      return { id: "sg-0123456789abcdef0" };
    case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
      return { arn: "arn:aws:iam::111111111111:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF" };
    case "aws:kms/key:Key":
      return { arn: "arn:aws:kms:eu-west-1:111111111111:key/0b7c2a52-6a7e-4f0e-9d8a-3c1f5e2b7a10" };
    case "tls:index/privateKey:PrivateKey":
      return { privateKeyOpenssh: fakeOpensshPrivateKey("ZmFrZSBrZXkgZm9yIHRlc3RzIG9ubHk="), publicKeyOpenssh: "ssh-ed25519 AAAAfake" };
    case "kubernetes:core/v1:Namespace":
    case "kubernetes:core/v1:Secret": {
      // Auto-naming: without a name the provider adds a random suffix to the resource's.
      const metadata = (inputs.metadata ?? {}) as Record<string, unknown>;
      return { metadata: { ...metadata, name: metadata.name ?? `${name}-0a1b2c`, ...(type === "kubernetes:core/v1:Secret" ? { namespace: metadata.namespace ?? "default" } : {}) } };
    }
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

  // The remaining rules of the pack (the GitHub and promotion rules are tested with their own).
  const bucketProgram = (extra: (bucket: aws.s3.Bucket) => void) => () => {
    const bucket = new aws.s3.Bucket("data", {});
    extra(bucket);
  };
  const deployment = (name: string, container: Record<string, unknown>, namespace: pulumi.Input<string> = "apps") =>
    new k8s.apps.v1.Deployment(name, {
      metadata: { name, namespace },
      spec: {
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
            containers: [{ name, securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } }, ...container }],
          },
        },
      },
    });

  it.each<[string, Policy, () => void]>([
    ["s3-public-access-block", s3PublicAccessBlock, bucketProgram((b) => new aws.s3.BucketPublicAccessBlock("data", { bucket: b.id, blockPublicAcls: false, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true }))],
    ["s3-ownership-enforced", s3OwnershipEnforced, bucketProgram((b) => new aws.s3.BucketOwnershipControls("data", { bucket: b.id, rule: { objectOwnership: "ObjectWriter" } }))],
    ["s3-tls-only", s3TlsOnly, bucketProgram((b) => new aws.s3.BucketPolicy("data", { bucket: b.id, policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:DeleteBucket", Resource: b.arn }] }) }))],
    ["s3-no-public-principal", s3NoPublicPrincipal, bucketProgram((b) => new aws.s3.BucketPolicy("data", { bucket: b.id, policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: pulumi.interpolate`${b.arn}/*` }] }) }))],
    ["s3-versioning-lifecycle", s3VersioningLifecycle, bucketProgram((b) => new aws.s3.BucketVersioning("data", { bucket: b.id, versioningConfiguration: { status: "Suspended" } }))],
    ["s3-protect-retain", s3ProtectRetain, bucketProgram((b) => new aws.s3.BucketVersioning("data", { bucket: b.id, versioningConfiguration: { status: "Enabled" } }))],
    ["ecr-immutable-tags", ecrImmutableTags, () => new aws.ecr.Repository("orders", { imageTagMutability: "MUTABLE", imageScanningConfiguration: { scanOnPush: true } })],
    ["ecr-scan-on-push", ecrScanOnPush, () => new aws.ecr.Repository("orders", { imageTagMutability: "IMMUTABLE" })],
    ["ecr-lifecycle-policy", ecrLifecyclePolicy, () => new aws.ecr.LifecyclePolicy("orders", { repository: new aws.ecr.Repository("orders", {}).name, policy: JSON.stringify({ rules: [] }) })],
    [
      "ecr-repository-policy",
      ecrRepositoryPolicy,
      () => {
        const repository = new aws.ecr.Repository("orders", {});
        new aws.ecr.RepositoryPolicy("orders", { repository: repository.name, policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: [{ Sid: repository.name, Effect: "Allow", Principal: "*", Action: "ecr:BatchGetImage" }] }) });
      },
    ],
    ["sg-no-world-risky-ports", sgNoWorldRiskyPorts, () => new aws.vpc.SecurityGroupIngressRule("db", { securityGroupId: new aws.ec2.SecurityGroup("entry", { description: "entry" }).id, description: "db", ipProtocol: "tcp", fromPort: 5432, toPort: 5432, cidrIpv4: "0.0.0.0/0" })],
    ["sg-world-ingress-allowlist", sgWorldIngressAllowlist, () => new aws.vpc.SecurityGroupIngressRule("http", { securityGroupId: new aws.ec2.SecurityGroup("entry", { description: "entry" }).id, description: "http", ipProtocol: "tcp", fromPort: 80, toPort: 80, cidrIpv4: "0.0.0.0/0" })],
    ["sg-hygiene", sgHygiene, () => new aws.vpc.SecurityGroupIngressRule("https", { securityGroupId: new aws.ec2.SecurityGroup("entry", { description: "entry" }).id, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "10.0.0.0/8" })],
    [
      "iam-irsa-trust",
      iamIrsaTrust,
      () => {
        const provider = new aws.iam.OpenIdConnectProvider("eks", { url: "https://oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF", clientIdLists: ["sts.amazonaws.com"] });
        const host = "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF";
        new aws.iam.Role("reflector", {
          assumeRolePolicy: pulumi.jsonStringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { Federated: provider.arn }, Action: "sts:AssumeRoleWithWebIdentity", Condition: { StringLike: { [`${host}:aud`]: "sts.amazonaws.com", [`${host}:sub`]: "system:serviceaccount:*" } } }],
          }),
        });
      },
    ],
    ["k8s-resources-probes", k8sResourcesProbes, () => deployment("web", { image: "nginx" }, new k8s.core.v1.Namespace("apps", {}).metadata.name)],
    ["k8s-image-digest", k8sImageDigest, () => deployment("web", { image: "nginx:1.27" }, new k8s.core.v1.Namespace("apps", {}).metadata.name)],
    ["k8s-reconciler-namespace-restricted", k8sReconcilerNamespaceRestricted, () => new k8s.core.v1.Namespace("flux", { metadata: { name: "flux-system", labels: { "pod-security.kubernetes.io/enforce": "baseline" } } })],
    [
      "k8s-reconciler-network-policies",
      k8sReconcilerNetworkPolicies,
      () => {
        const ns = new k8s.core.v1.Namespace("flux", { metadata: { name: "flux-system" } });
        deployment("flux-operator", { image: "ghcr.io/controlplaneio-fluxcd/flux-operator:v0.58.1" }, ns.metadata.name);
      },
    ],
    [
      "flux-pinned-versions",
      fluxPinnedVersions,
      () => {
        const ns = new k8s.core.v1.Namespace("flux", { metadata: { name: "flux-system" } });
        new k8s.apiextensions.CustomResource("flux", { apiVersion: "fluxcd.controlplane.io/v1", kind: "FluxInstance", metadata: { name: "flux", namespace: ns.metadata.name }, spec: { distribution: { version: "2.x", registry: "ghcr.io/fluxcd" } } });
      },
    ],
  ])("%s", async (name, policy, program) => {
    expect(await bothWays(policy, program)).toEqual(BOTH_WAYS[name]);
  });
});

/** What each remaining rule reports for its failing case: the same verdict both times, or a note naming the resource first. */
const same = (found: string[]) => ({ preview: found, known: found });
const BOTH_WAYS: Record<string, { preview: string[]; known: string[] }> = {
  "s3-public-access-block": same(["mandatory data: public access block of bucket \"data\" must set blockPublicAcls to true"]),
  "s3-ownership-enforced": same(["mandatory data: ownership controls of bucket \"data\" must set objectOwnership to BucketOwnerEnforced, got \"ObjectWriter\""]),
  "s3-tls-only": { preview: ["advisory -: can't run policy 's3-tls-only' from policy pack 'gitops-platform@v0.1.0' during preview: aws:s3/bucketPolicy:BucketPolicy \"data\": string value at .policy can't be known during preview"], known: ["mandatory data: bucket policy of bucket \"data\" must deny s3:* to every principal when aws:SecureTransport is false"] },
  "s3-no-public-principal": { preview: ["advisory data: can't run policy 's3-no-public-principal' from policy pack 'gitops-platform@v0.1.0' during preview: string value at .policy can't be known during preview"], known: ["mandatory data: bucket policy statement #0 allows Principal \"*\"; name the principals that need access"] },
  "s3-versioning-lifecycle": same(["mandatory data: bucket \"data\" has no lifecycle rules; declare an aws.s3.BucketLifecycleConfiguration for it that expires noncurrent versions and aborts incomplete multipart uploads", "mandatory data: versioning of bucket \"data\" must have status Enabled, got \"Suspended\""]),
  "s3-protect-retain": same(["mandatory data: bucket must be protected (protect: true) so that it cannot be deleted", "mandatory data: bucket must be retained on delete (retainOnDelete: true)"]),
  "ecr-immutable-tags": same(["mandatory orders: image tags must be immutable (imageTagMutability: IMMUTABLE), got \"MUTABLE\""]),
  "ecr-scan-on-push": same(["mandatory orders: repository must scan images on push (imageScanningConfiguration.scanOnPush: true, or enhanced registry scanning that covers it)"]),
  "ecr-lifecycle-policy": same(["mandatory orders: lifecycle policy of repository \"orders\" must expire untagged images (a rule selecting tagStatus untagged)", "mandatory orders: lifecycle policy of repository \"orders\" must keep only the last N images (a rule with countType imageCountMoreThan for tagged or any images)"]),
  "ecr-repository-policy": { preview: ["advisory orders: can't run policy 'ecr-repository-policy' from policy pack 'gitops-platform@v0.1.0' during preview: string value at .policy can't be known during preview"], known: ["mandatory orders: statement \"orders\" grants to Principal \"*\"; grant pull to the reconciler role and push to the app's CI role only"] },
  "sg-no-world-risky-ports": same(["mandatory db: rule lets 0.0.0.0/0 reach port 5432 (tcp 5432)"]),
  "sg-world-ingress-allowlist": same(["mandatory http: rule opens tcp 80 to 0.0.0.0/0; world-open ingress is allowed only on port 443"]),
  "sg-hygiene": same(["mandatory https: security group rule has no description"]),
  "iam-irsa-trust": { preview: ["advisory -: can't run policy 'iam-irsa-trust' from policy pack 'gitops-platform@v0.1.0' during preview: aws:iam/role:Role \"reflector\": string value at .assumeRolePolicy can't be known during preview"], known: ["mandatory reflector: IRSA trust (statement #0) matches oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF:sub \"system:serviceaccount:*\" with a wildcard; name one namespace and service account exactly", "mandatory reflector: IRSA trust (statement #0) must pin oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF:aud to \"sts.amazonaws.com\" with StringEquals"] },
  "k8s-resources-probes": same(["mandatory web: container \"web\" must have a livenessProbe", "mandatory web: container \"web\" must have a readinessProbe", "mandatory web: container \"web\" must set resources requests.cpu, requests.memory, limits.cpu, limits.memory"]),
  "k8s-image-digest": same(["mandatory web: container \"web\" image \"nginx:1.27\" is not pinned by digest (@sha256:<64 hex digits>)"]),
  "k8s-reconciler-namespace-restricted": same(["mandatory flux: reconciler namespace \"flux-system\" must be labelled pod-security.kubernetes.io/enforce: restricted, got \"baseline\""]),
  "k8s-reconciler-network-policies": same(["mandatory flux: reconciler namespace \"flux-system\" has no NetworkPolicy; deny ingress by default and allow only the webhook receiver and metrics"]),
  "flux-pinned-versions": same(["mandatory flux: FluxInstance version \"2.x\" is a range; pin an exact version such as 2.7.3"]),
};
