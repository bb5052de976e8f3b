/**
 * Example values that must never reach a real account. The shipped stack files are examples that
 * run offline (`npm run plan`); a real `pulumi preview` or `up` refuses them, each with what to put
 * there and how to find it. Found by kind wherever they appear in the project's config, not by key:
 *
 * - AWS's example account ids (111111111111, 222222222222, AWS documentation's 123456789012, all
 *   zeros), alone or inside an ARN;
 * - an all-zero image digest;
 * - host names under the domains reserved for documentation (RFC 2606: example.com, example.net,
 *   example.org, .example, .invalid);
 * - the address blocks reserved for documentation (RFC 5737: 192.0.2.0/24, 198.51.100.0/24,
 *   203.0.113.0/24; RFC 3849: 2001:db8::/32);
 * - the example GitHub organisation of the shipped stack files, `acme-corp`.
 */

/** Account ids that only ever appear in examples. */
export const EXAMPLE_ACCOUNT_IDS: readonly string[] = ["111111111111", "222222222222", "123456789012", "000000000000"];

/** The GitHub owner the shipped stack files use. */
export const EXAMPLE_GITHUB_OWNER = "acme-corp";

/** Address blocks reserved for documentation, never routed. */
export const DOCUMENTATION_CIDRS: readonly string[] = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"];

const ZERO_DIGEST = /@sha256:0{64}\b/;
const ACCOUNT_ID = /(?<![0-9])[0-9]{12}(?![0-9])/g;
const EXAMPLE_HOST = /(?<![a-z0-9.-])((?:[a-z0-9-]+\.)*(?:example\.(?:com|net|org)|[a-z0-9-]+\.(?:example|invalid)))(?![a-z0-9-]|\.[a-z0-9])/gi;

/** How to find the real value of a key, where a generic hint would not do. */
const HOW_TO_FIND: Readonly<Record<string, string>> = {
  "aws.accountId": "the 12-digit id of the account this stack deploys to (`aws sts get-caller-identity --query Account --output text` with that account's credentials)",
  "ci.secretsKeyArn": "the ARN of the stack's secrets key (`aws kms describe-key --key-id alias/gitops-platform-<stack> --query KeyMetadata.Arn --output text`)",
  "reconciler.webhook.certificateArn":
    "the ARN of the ACM certificate issued for reconciler.webhook.host (`aws acm list-certificates --query \"CertificateSummaryList[].[DomainName,CertificateArn]\" --output text`)",
  "reconciler.webhook.host": "the public DNS name GitHub sends webhooks to: a name in a domain you control, covered by the ACM certificate",
  "reconciler.operator.image": "the digest of that image (`crane digest <image>:<tag>`, or `docker buildx imagetools inspect <image>:<tag>`)",
  "github.owner": "your GitHub organisation or user: the owner of the config repo and the app repositories",
  "appSecrets.encrypters": "the ARN of a role in your account allowed to encrypt app secrets (`aws iam get-role --role-name <name> --query Role.Arn --output text`)",
};

type Segment = string | number;

/** One example value found: where (path segments under the project's namespace) and what to do. */
export interface Placeholder {
  readonly path: readonly Segment[];
  readonly message: string;
}

/** Every example value in `values` (the project's config, decoded). */
export function findPlaceholders(values: Readonly<Record<string, unknown>>): Placeholder[] {
  const found: Placeholder[] = [];
  const visit = (value: unknown, path: Segment[]): void => {
    if (Array.isArray(value)) value.forEach((item, i) => visit(item, [...path, i]));
    else if (value !== null && typeof value === "object") for (const [key, item] of Object.entries(value)) visit(item, [...path, key]);
    else if (typeof value === "string") for (const message of stringProblems(value, path)) found.push({ path, message });
  };
  visit(values, []);
  return found;
}

/** The documentation block containing `block` (a canonical CIDR), if any. */
function documentationBlock(block: string): string | undefined {
  const match = /^([0-9a-f.:]+)\/(\d+)$/i.exec(block);
  if (!match) return undefined;
  const [, address = "", prefix = ""] = match;
  if (address.includes(":")) {
    const groups = address.toLowerCase().split(":");
    return groups[0] === "2001" && /^0*db8$/.test(groups[1] ?? "") && Number(prefix) >= 32 ? "2001:db8::/32" : undefined;
  }
  const network = address.split(".").slice(0, 3).join(".");
  return DOCUMENTATION_CIDRS.find((doc) => doc.startsWith(`${network}.0/`)) !== undefined && Number(prefix) >= 24 ? `${network}.0/24` : undefined;
}

function stringProblems(value: string, path: readonly Segment[]): string[] {
  const key = path.filter((segment) => typeof segment === "string").join(".");
  const hint = (fallback: string) => HOW_TO_FIND[key] ?? fallback;
  const problems: string[] = [];

  if (ZERO_DIGEST.test(value)) {
    const image = value.replace(ZERO_DIGEST, "");
    problems.push(`the all-zero digest is a placeholder; put ${hint("the image's real digest").replaceAll("<image>:<tag>", image)}`);
  }
  for (const id of new Set([...value.matchAll(ACCOUNT_ID)].map((m) => m[0]))) {
    if (!EXAMPLE_ACCOUNT_IDS.includes(id)) continue;
    problems.push(
      value === id
        ? `${id} is an example account id; put ${hint("the id of your AWS account")}`
        : `names the example account ${id}; put ${hint("the value from your own account")}`,
    );
  }
  for (const host of new Set([...value.matchAll(EXAMPLE_HOST)].map((m) => (m[1] ?? "").toLowerCase()))) {
    problems.push(`${host} is a domain reserved for documentation (RFC 2606); put ${hint("a name in a domain you control")}`);
  }
  const documentation = documentationBlock(value);
  if (documentation !== undefined) {
    const rfc = documentation.includes(":") ? "RFC 3849" : "RFC 5737";
    const what = value === documentation ? `${value} is reserved for documentation (${rfc})` : `${value} is in ${documentation}, reserved for documentation (${rfc})`;
    problems.push(`${what}; put the address ranges that really need this access (for example your VPN's egress ranges)`);
  }
  if (key === "github.owner" && value.toLowerCase() === EXAMPLE_GITHUB_OWNER) {
    problems.push(`${value} is the example organisation of the shipped stack files; put ${hint("your GitHub organisation or user")}`);
  }
  return problems;
}
