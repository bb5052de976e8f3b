/**
 * Facts the program (components/) and the policy pack both rely on, each written once: what the
 * program declares and what the pack checks cannot drift apart.
 *
 * Why here: the pack is published as this folder alone (`pulumi policy publish policies`), so
 * whatever it imports must live inside it or be a package its package.json declares; the program
 * has no such limit and imports from here. This module (like network-rules.ts, the network half of
 * the same vocabulary) imports nothing, so importing it never loads @pulumi/policy into the program.
 */

// ---------------------------------------------------------------------------------------------
// GitHub
// ---------------------------------------------------------------------------------------------

/** GitHub's host: the only one the reconciler connects to over SSH, and the one its commit statuses are sent to (https). */
export const GITHUB_SSH_HOST = "github.com";

/**
 * GitHub's published SSH host keys for github.com, as `known_hosts` lines.
 *
 * Source: GitHub Docs, "GitHub's SSH key fingerprints"
 * (https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/githubs-ssh-key-fingerprints),
 * also served as `ssh_keys` by https://api.github.com/meta; checked 2026-11-21. The RSA key is the
 * one GitHub rotated to on 2023-03-24. Their SHA256 fingerprints, which a test recomputes:
 * - ssh-ed25519          SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU
 * - ecdsa-sha2-nistp256  SHA256:p2QAMXNIC1TJYWeIOttrVc98/R1BUFWu3/LiyKgUfQM
 * - ssh-rsa              SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s
 * If GitHub rotates a host key, update this constant (or override `github.knownHosts` in config).
 */
export const GITHUB_KNOWN_HOSTS: readonly string[] = Object.freeze([
  "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
  "github.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg=",
  "github.com ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQCj7ndNxQowgcQnjshcLrqPEiiphnt+VTTvDP6mHBL9j1aNUkY4Ue1gvwnGLVlOhGeYrnZaMgRK6+PKCUXaDbC7qtbW8gIkhL7aGCsOr/C56SJMy/BCZfxd1nWzAOxSDPgVsmerOBYfNqltV9/hWCqBywINIR+5dIg6JTJ72pcEpEjcYgXkE2YEFXV1JHnsKgbLWNlhScqb2UmyRkQyytRLtL+38TGxkxCflmO+5Z8CSSNY7GidjMIZ7Q4zMjA2n1nGrlTDkzwDCsw+wqFPGQA179cnfGWOWRVruj16z6XyvxvjJwbz0wQZ75XK5tKSb7FNyeIEs4TT4jk+S4dhPeAUC5y+bDYirYgM4GC7uEnztnZyaVWQ7B381AK4Qdrwt51ZqExKbQpTUNn+EjqoTwvqNj4kqx5QUCI0ThS/YkOxJCXmPUWZbhjpCg56i+2aB6CmK2JGhn57K5mj0MNdBXA4/WnwH6XoPWJzK5Nyu2zB3nAZp+S5hpQs+p1vN1/wsjk=",
]);

/**
 * A repository as GitHub names it, `owner/name`, split in two. A bare `name` (how the GitHub
 * provider addresses a repository of its own owner) has no owner.
 */
export function splitRepository(repository: string): { readonly owner?: string; readonly name: string } {
  const slash = repository.indexOf("/");
  return slash < 0 ? { name: repository } : { owner: repository.slice(0, slash), name: repository.slice(slash + 1) };
}

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

/** What the offline plan shows instead of a secret value (its output, its `--out` render). */
export const SECRET_MASK = "[secret]";

/** The tag that marks the SOPS key of the app secrets (components/aws/app-secrets.ts sets it; the pack finds the key by it). */
export const SOPS_KEY_TAG = { key: "gitops-platform/purpose", value: "sops" } as const;

// ---------------------------------------------------------------------------------------------
// Versions, images, names
// ---------------------------------------------------------------------------------------------

/** An exact release version such as `v2.7.3` or `2.7.3`: never a range, never `latest`. */
export const EXACT_VERSION = /^v?\d+\.\d+\.\d+$/;

/** Where the Flux Operator's release images are published (`<repository>:<version>`). */
export const FLUX_OPERATOR_IMAGE_REPOSITORY = "ghcr.io/controlplaneio-fluxcd/flux-operator";

/** An image digest as registries write it after the `@`. */
export const IMAGE_DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * An image reference `registry/path[:tag][@digest]` split into its parts: the tag is what follows
 * the last `:` of the last path segment (so a registry port is never taken for a tag).
 */
export function imageParts(image: string): { readonly name: string; readonly tag?: string; readonly digest?: string } {
  const [name = "", digest] = image.split("@");
  const lastSegment = name.slice(name.lastIndexOf("/") + 1);
  const colon = lastSegment.indexOf(":");
  return {
    name: colon >= 0 ? name.slice(0, name.length - lastSegment.length + colon) : name,
    ...(colon >= 0 ? { tag: lastSegment.slice(colon + 1) } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

/** True when the image is pinned by a sha256 digest. */
export function pinnedByDigest(image: string): boolean {
  const { digest } = imageParts(image);
  return digest !== undefined && IMAGE_DIGEST.test(digest);
}

/** RFC 1123 label: Kubernetes namespace and object names, environment names, DNS labels. */
export const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

// ---------------------------------------------------------------------------------------------
// Kubernetes
// ---------------------------------------------------------------------------------------------

/** The reconciler's namespace when the config names none: the program's default and the pack's. */
export const FLUX_NAMESPACE = "flux-system";

/** Port every Flux controller and the Flux Operator serve Prometheus metrics on (`--metrics-addr :8080`). */
export const METRICS_PORT = 8080;

// ---------------------------------------------------------------------------------------------
// AWS
// ---------------------------------------------------------------------------------------------

/** The audience AWS STS expects in web-identity tokens (GitHub OIDC, EKS IRSA). */
export const STS_AUDIENCE = "sts.amazonaws.com";

/**
 * An IAM action that only reads: describe, get, list and head calls, and decrypting (`kms:Decrypt`,
 * which a role may only do with the keys its policy names). Everything else counts as writing, and
 * so does a wildcard (`s3:Get*` may grow) or any action AWS adds under another verb. The credential
 * table (tools/generate/credential-roles.ts) and the pack's `iam-github-oidc-trust` judge roles by
 * this one test.
 */
export function isReadAction(action: string): boolean {
  return /^[a-z0-9-]+:(Get|List|Describe|BatchGet|Head)[A-Za-z]*$/.test(action) || action === "kms:Decrypt";
}

/** The ECR registry login: account-wide, it has no resource-level permissions. */
export const ECR_LOGIN_ACTION = "ecr:GetAuthorizationToken";

/** What pushing an image needs, and nothing more (an app's CI role). */
export const ECR_PUSH_ACTIONS: readonly string[] = [
  "ecr:BatchCheckLayerAvailability",
  "ecr:InitiateLayerUpload",
  "ecr:UploadLayerPart",
  "ecr:CompleteLayerUpload",
  "ecr:PutImage",
  "ecr:BatchGetImage",
];

/** What a repository policy grants the image reflector: list tags and read manifests. */
export const ECR_PULL_ACTIONS: readonly string[] = [
  "ecr:BatchCheckLayerAvailability",
  "ecr:BatchGetImage",
  "ecr:GetDownloadUrlForLayer",
  "ecr:DescribeImages",
  "ecr:ListImages",
];

/** The ECR actions image-reflector-controller's identity policy needs to list and inspect tags. */
export const ECR_READ_ACTIONS: readonly string[] = [
  "ecr:BatchCheckLayerAvailability",
  "ecr:BatchGetImage",
  "ecr:DescribeImages",
  "ecr:DescribeRepositories",
  "ecr:GetDownloadUrlForLayer",
  "ecr:ListImages",
];

/** ECR actions that write images: a grant of any of them makes a principal a pusher. */
export const ECR_WRITE_ACTIONS: readonly string[] = ["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:BatchDeleteImage"];

/**
 * Actions that have no resource-level permissions, so a policy can only grant them on Resource "*"
 * (AWS Service Authorization Reference: no resource type listed for them). All of them read
 * metadata only: the registry login token, security groups and their rules, KMS alias names.
 */
export const RESOURCE_WILDCARD_ACTIONS: readonly string[] = [
  ECR_LOGIN_ACTION,
  "ec2:DescribeSecurityGroups",
  "ec2:DescribeSecurityGroupRules",
  "kms:ListAliases",
];
