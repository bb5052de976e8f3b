/**
 * Value formats of the stack contract: the reusable zod schemas of single values (names, refs,
 * paths, CIDRs, ARNs, quantities) and the arithmetic the cross-key rules need on them (CIDR
 * containment, quantity values). No section and no default lives here.
 */
import { z } from "zod";
import { knownHostsLineProblem } from "../github/known-hosts";
import { IMAGE_DIGEST } from "../../policies/vocabulary";
import { EXACT_VERSION, GITHUB_OWNER, githubRepoProblem, RFC1123_LABEL } from "../names";
import { SEMVER_RANGE_EXAMPLES, semverRangeProblem } from "../semver-range";

/** RFC 1123 label: Kubernetes namespace and object names, environment names. */
export const dnsLabel = z
  .string()
  .regex(RFC1123_LABEL, "expected a lowercase RFC 1123 label (a-z, 0-9, '-', at most 63 characters)");

/** A GitHub owner (user or organisation) login. */
export const githubOwner = z
  .string()
  .regex(GITHUB_OWNER, "expected a GitHub owner login (letters, digits, single '-')");

/** A GitHub repository in `owner/name` form. */
export const githubRepo = z.string().superRefine((value, ctx) => {
  const problem = githubRepoProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** One pinned `known_hosts` line for github.com (see components/github/known-hosts.ts). */
export const knownHostsLine = z.string().superRefine((value, ctx) => {
  const problem = knownHostsLineProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** A git branch name, per git-check-ref-format, without the `refs/heads/` prefix. */
export const gitBranch = z.string().refine(
  (value) =>
    value.length > 0 &&
    value.length <= 255 &&
    !value.startsWith("/") &&
    !value.endsWith("/") &&
    !value.endsWith(".") &&
    !value.startsWith("-") &&
    !value.startsWith("refs/") &&
    !value.includes("..") &&
    !value.includes("//") &&
    !value.includes("@{") &&
    // \p{Cf}: zero-width and bidi controls, which make two different names look alike.
    !/[\s~^:?*[\\\x00-\x1f\x7f\p{Cf}]/u.test(value) &&
    value.split("/").every((part) => part.length > 0 && !part.startsWith(".") && !part.endsWith(".lock")),
  "expected a git branch name (no spaces, '..', '~', '^', ':', '?', '*', '[', '\\', no leading '/', '-' or 'refs/')",
)
  // Valid ref syntax, but HEAD and @ name the checked-out commit, not a branch.
  .refine((value) => value !== "HEAD" && value !== "@", "expected a branch name; HEAD and @ name a commit, not a branch");

/** A relative path inside a repository: no traversal, not absolute. */
export const repoPath = z
  .string()
  .refine(
    (value) =>
      value.length > 0 &&
      value.length <= 512 &&
      !value.startsWith("/") &&
      !/^[A-Za-z]:/.test(value) &&
      !value.includes("\\") &&
      !/[\x00-\x1f\x7f]/.test(value) &&
      value.split("/").every((part) => part !== ".." && part !== ""),
    "expected a relative path inside the repository (no '..', no leading '/', no empty segments)",
  )
  .transform((value) => value.replace(/^\.\/+/, ""));

/** An IPv4 or IPv6 CIDR block in canonical form (host bits zero). */
export const cidr = z.string().superRefine((value, ctx) => {
  const problem = cidrProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** A Go/Flux duration such as `1m`, `30s`, `1h30m`. */
export const fluxDuration = z
  .string()
  .regex(/^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/, "expected a duration such as 30s, 5m or 1h")
  // A zero interval makes a Flux controller reconcile in a busy loop.
  .refine((value) => !/^(0+(\.0+)?(ms|s|m|h))+$/.test(value), "expected a duration greater than zero");

export const port = z.number().int("expected an integer port").min(0, "expected a port from 0 to 65535").max(65535, "expected a port from 0 to 65535");

/**
 * A semantic version range as image-reflector-controller parses an ImagePolicy's
 * `spec.policy.semver.range` (Masterminds/semver v3 NewConstraint; see components/semver-range.ts).
 */
export const semverRange = z.string().superRefine((value, ctx) => {
  const problem = semverRangeProblem(value);
  if (problem) {
    ctx.addIssue({ code: "custom", message: `not a semver range Flux's image-reflector-controller can parse (${problem}); expected a range such as ${SEMVER_RANGE_EXAMPLES}` });
  }
});

/** An exact semantic version such as `v2.7.3` or `2.7.3`. */
export const exactVersion = EXACT_VERSION;

/** An S3 bucket name (general purpose buckets, as AWS's naming rules allow for new buckets). */
export const bucketName = z.string().refine(
  (value) =>
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value) &&
    !value.includes("..") &&
    !value.includes(".-") &&
    !value.includes("-.") &&
    !/^\d{1,3}(\.\d{1,3}){3}$/.test(value) &&
    !/^(xn--|sthree-|amzn-s3-demo-)/.test(value) &&
    !/(-s3alias|--ol-s3|--x-s3|--table-s3|\.mrap)$/.test(value),
  "expected an S3 bucket name (3-63 characters: a-z, 0-9, '.', '-'; starts and ends with a letter or digit; not an IP address)",
);

export const kmsKeyArn = z
  .string()
  .regex(
    /^arn:aws(-cn|-us-gov)?:kms:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:key\/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/,
    "expected a KMS key ARN such as arn:aws:kms:eu-west-1:111111111111:key/<key id> (not an alias)",
  );

/** An IAM role or user ARN, exact (no wildcards, not an account root, which would mean every principal of the account). */
export const iamPrincipalArn = z
  .string()
  .regex(
    /^arn:aws(-cn|-us-gov)?:iam::\d{12}:(role|user)\/[\w+=,.@/-]{1,512}$/,
    "expected an IAM role or user ARN such as arn:aws:iam::111111111111:role/app-team (no wildcards, not an account root)",
  );

export const imageRef = z
  .string()
  .regex(
    // The digest, when there is one, is the vocabulary's (IMAGE_DIGEST without its anchors).
    new RegExp(String.raw`^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@${IMAGE_DIGEST.source.slice(1, -1)})?$`),
    "expected an image reference registry/name[:tag][@sha256:<digest>]",
  );

/** A Kubernetes resource quantity for CPU (`100m`, `1`) or memory (`64Mi`, `1Gi`). */
export const quantity = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/, "expected a Kubernetes quantity such as 100m, 1, 64Mi or 1Gi");

/** A DNS host name (lowercase, at least two labels), e.g. `flux-webhook.staging.example.com`. */
export const hostName = z
  .string()
  .refine(
    (value) =>
      value.length <= 253 &&
      value.split(".").length >= 2 &&
      value.split(".").every((label) => RFC1123_LABEL.test(label)),
    "expected a lowercase DNS host name such as flux-webhook.example.com",
  );

const QUANTITY_SUFFIX: Record<string, number> = { "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** The numeric value of a Kubernetes quantity already validated by {@link quantity}. */
export function quantityValue(value: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)([A-Za-z]*)$/.exec(value);
  return Number(match?.[1] ?? NaN) * (QUANTITY_SUFFIX[match?.[2] ?? ""] ?? NaN);
}

/** Whether the CIDR block `outer` contains `inner` (both canonical, same address family). */
export function cidrContains(outer: string, inner: string): boolean {
  const a = cidrBits(outer);
  const b = cidrBits(inner);
  if (a === undefined || b === undefined || a.bits.length !== b.bits.length || a.prefix > b.prefix) return false;
  return a.bits.slice(0, a.prefix) === b.bits.slice(0, a.prefix);
}

function cidrBits(block: string): { bits: string; prefix: number } | undefined {
  if (cidrProblem(block) !== undefined) return undefined;
  const [address = "", prefix = ""] = block.split("/");
  const bits = address.includes(":")
    ? (expandIpv6(address) ?? []).map((g) => g.toString(2).padStart(16, "0")).join("")
    : address
        .split(".")
        .map((o) => Number(o).toString(2).padStart(8, "0"))
        .join("");
  return { bits, prefix: Number(prefix) };
}

/** Returns a problem with a CIDR block, or undefined when it is a canonical IPv4/IPv6 block. */
export function cidrProblem(value: string): string | undefined {
  // No leading zeros in the prefix: /00 and /08 are not how AWS or anyone else writes a block.
  const match = /^([^/]+)\/(0|[1-9]\d{0,2})$/.exec(value);
  if (!match) return `expected a CIDR block such as 203.0.113.0/24, got ${JSON.stringify(value)}`;
  const [, address = "", bitsText = ""] = match;
  const bits = Number(bitsText);
  if (address.includes(":")) {
    const groups = expandIpv6(address);
    if (!groups) return `expected a CIDR block such as 2001:db8::/32, got ${JSON.stringify(value)}`;
    if (bits > 128) return `prefix length must be 0 to 128 in ${value}`;
    const bin = groups.map((g) => g.toString(2).padStart(16, "0")).join("");
    if (/1/.test(bin.slice(bits))) return `host bits set in ${value}; use the network address`;
    // ::ffff:0:0/96 spells the whole IPv4 internet in IPv6 and would slip past the width check.
    if (bits >= 96 && bin.slice(0, 96) === `${"0".repeat(80)}${"1".repeat(16)}`) {
      return `${value} is an IPv4-mapped IPv6 block; write IPv4 blocks as IPv4 (e.g. 203.0.113.0/24)`;
    }
    return undefined;
  }
  const octets = address.split(".");
  if (octets.length !== 4 || octets.some((o) => !/^(0|[1-9]\d{0,2})$/.test(o) || Number(o) > 255)) {
    return `expected a CIDR block such as 203.0.113.0/24, got ${JSON.stringify(value)}`;
  }
  if (bits > 32) return `prefix length must be 0 to 32 in ${value}`;
  const bin = octets.map((o) => Number(o).toString(2).padStart(8, "0")).join("");
  if (/1/.test(bin.slice(bits))) return `host bits set in ${value}; use the network address`;
  return undefined;
}

function expandIpv6(address: string): number[] | undefined {
  if (!/^[0-9a-fA-F:]+$/.test(address) || address.split("::").length > 2) return undefined;
  const [head = "", tail] = address.split("::");
  const parse = (part: string) => (part === "" ? [] : part.split(":"));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const groups = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...right];
  if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => parseInt(g, 16));
}

