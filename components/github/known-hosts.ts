/**
 * Pinned SSH host keys for github.com, and the check every `known_hosts` line of the config passes.
 *
 * The reconciler verifies GitHub's host key against these lines on every fetch; nothing is ever
 * scanned on first use (trust-on-first-use would accept whatever answers on port 22 the first time).
 * GitHub's own keys are part of the vocabulary the policy pack shares (policies/vocabulary.ts).
 */
import { GITHUB_SSH_HOST } from "../../policies/vocabulary";

/**
 * Host key types a pinned line may carry: the ones GitHub publishes plus the larger ECDSA curves.
 * `ssh-rsa` here names the host key format (GitHub signs with SHA-2); DSA is refused.
 */
export const HOST_KEY_TYPES: readonly string[] = Object.freeze([
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "ssh-rsa",
]);

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Returns what is wrong with one `known_hosts` line, or undefined when it pins a github.com host key:
 * exactly `github.com <key type> <base64 key>`, no marker, no hashed or wildcard host, and a key blob
 * whose embedded type matches the declared one (catches truncated or pasted-wrong keys).
 */
export function knownHostsLineProblem(line: string): string | undefined {
  const expected = `expected "${GITHUB_SSH_HOST} <key type> <base64 key>"`;
  const fields = line.trim().split(/\s+/).filter((field) => field.length > 0);
  if (fields.length === 0) return `${expected}, got an empty line`;
  const [host = "", type = "", key = ""] = fields;
  if (host.startsWith("@")) return `markers such as ${host} are not accepted; ${expected}`;
  if (host.startsWith("#")) return `comments are not accepted; ${expected}`;
  if (host.startsWith("|")) return `hashed host names are not accepted; write the host as ${GITHUB_SSH_HOST}`;
  if (/[*?!]/.test(host)) return `wildcard and negated host patterns are not accepted; write the host as ${GITHUB_SSH_HOST}`;
  if (host !== GITHUB_SSH_HOST) return `host must be ${GITHUB_SSH_HOST}, got ${JSON.stringify(host)}`;
  if (fields.length !== 3) return `${expected} (3 fields), got ${fields.length} field${fields.length === 1 ? "" : "s"}`;
  if (!HOST_KEY_TYPES.includes(type)) return `key type ${JSON.stringify(type)} is not accepted; expected one of ${HOST_KEY_TYPES.join(", ")}`;
  if (!BASE64.test(key) || key.length % 4 !== 0 || embeddedKeyType(key) !== type) return `the key is not a base64 ${type} public key`;
  return undefined;
}

/** The key type an OpenSSH public key blob names in its first field (uint32 length + name). */
function embeddedKeyType(base64: string): string | undefined {
  const blob = Buffer.from(base64, "base64");
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || blob.length < 4 + length) return undefined;
  return blob.subarray(4, 4 + length).toString("latin1");
}

/** The Secret's `known_hosts` file: one line each, newline-terminated as OpenSSH writes it. */
export function knownHostsFile(lines: readonly string[]): string {
  return lines.map((line) => line.trim()).join("\n") + "\n";
}
