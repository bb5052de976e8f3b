/**
 * Name and version formats that both the stack contract (components/config/) and the components
 * check: the contract to refuse bad config with its key path, a component to refuse bad args when
 * used on its own. Plain predicates, so components need nothing from the contract.
 */

/** RFC 1123 label: Kubernetes namespace and object names, environment names. */
export const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A GitHub owner (user or organisation) login. */
export const GITHUB_OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$/;

const GITHUB_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** An exact semantic version such as `v2.7.3` or `2.7.3`. */
export const EXACT_VERSION = /^v?\d+\.\d+\.\d+$/;

/** What is wrong with a GitHub repository given as `owner/name`, or undefined when nothing is. */
export function githubRepoProblem(value: string): string | undefined {
  const parts = value.split("/");
  const wellFormed =
    parts.length === 2 && GITHUB_OWNER.test(parts[0] ?? "") && GITHUB_NAME.test(parts[1] ?? "") && parts[1] !== "." && parts[1] !== "..";
  if (!wellFormed) return "expected a GitHub repository as owner/name";
  // GitHub drops a trailing .git, so owner/x.git is owner/x under another spelling: it would slip
  // past the one-key-per-repository and config-repo checks, and break the ssh URL built from it.
  if (/\.git$/i.test(value)) return "expected owner/name without a trailing .git";
  return undefined;
}
