/**
 * Pinned SSH host keys for github.com, and the check every `known_hosts` line of the config passes.
 *
 * The reconciler verifies GitHub's host key against these lines on every fetch; nothing is ever
 * scanned on first use (trust-on-first-use would accept whatever answers on port 22 the first time).
 */

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

/** The only host the reconciler connects to over SSH. */
export const GITHUB_SSH_HOST = "github.com";

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
