/**
 * Semantic version ranges as Flux reads them. image-reflector-controller hands an ImagePolicy's
 * `spec.policy.semver.range` to `semver.NewConstraint` of github.com/Masterminds/semver/v3
 * (image-reflector-controller `internal/policy/semver.go` NewSemVer) and marks the policy failed
 * when it returns an error; nothing checks the range before (the CRD only requires the field).
 *
 * The grammar below follows Masterminds/semver v3.4.0, `constraints.go` (NewConstraint,
 * parseConstraint, rewriteRange and the regular expressions of its init) and `version.go`
 * (NewVersion with CoerceNewVersion on, the library default, which image-reflector-controller
 * keeps). v3.4.0 is what image-reflector-controller v1.0.x to v1.1.x pins in go.mod (Flux 2.7, the
 * release this platform runs); its v1.2.0 pins v3.5.0. Between v3.4.0 and Masterminds/semver main
 * at 71f2b39 (2026-04-10) constraints.go changed only the wording of its errors, not the grammar.
 *
 * A range is one or more alternatives joined by `||`; an alternative is one or more comparisons
 * separated by spaces or commas (all must hold); a comparison is an optional operator
 * (`=`, `!=`, `>`, `<`, `>=`, `=>`, `<=`, `=<`, `~`, `~>`, `^`) and a version with an optional `v`,
 * up to three parts of which any may be `x`, `X` or `*`, and optional `-prerelease` and `+build`
 * parts. `A - B` (spaces around the hyphen) is rewritten to `>= A, <= B` first.
 */

// Go's \s (RE2) is ASCII whitespace only; JavaScript's would also take Unicode spaces and \v.
const S = "[\\t\\n\\f\\r ]";

// The regular expressions of constraints.go's init, as written there (`|` inside the version-part
// class is a literal, as in the original; such a part then fails as a version below).
const CV =
  "v?([0-9|x|X|\\*]+)(\\.[0-9|x|X|\\*]+)?(\\.[0-9|x|X|\\*]+)?" +
  "(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?" +
  "(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?";
const OPS = "=||!=|>|<|>=|=>|<=|=<|~|~>|\\^";
const CONSTRAINT = new RegExp(`^${S}*(${OPS})${S}*(${CV})${S}*$`);
const CONSTRAINT_RANGE = new RegExp(`${S}*(${CV})${S}+-${S}+(${CV})${S}*`, "g");
const FIND_CONSTRAINT = new RegExp(`(${OPS})${S}*(${CV})`, "g");
const VALID_CONSTRAINT = new RegExp(`^(${S}*(${OPS})${S}*(${CV})${S}*)((?:${S}+|,${S}*)(${OPS})${S}*(${CV})${S}*)*$`);

// version.go's looseSemVerRegex, the one NewVersion uses when CoerceNewVersion is on.
const LOOSE_VERSION = /^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?(\+([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?$/;
const UINT64_MAX = 18_446_744_073_709_551_615n;

const isX = (part: string): boolean => part === "x" || part === "X" || part === "*";

/** What NewVersion (coercing) refuses in a version, or undefined. */
function versionProblem(version: string): string | undefined {
  const m = LOOSE_VERSION.exec(version);
  if (!m) return "not a version";
  // strconv.ParseUint(_, 10, 64): leading zeros are fine, more than 64 bits are not.
  for (const part of [m[1], m[2], m[3]]) {
    if (part !== undefined && BigInt(part.replace(/^\./, "")) > UINT64_MAX) return "a version part is larger than 64 bits";
  }
  // validatePrerelease: a numeric identifier has no leading zero.
  if (m[5] !== undefined && m[5].split(".").some((id) => /^[0-9]+$/.test(id) && id.length > 1 && id.startsWith("0"))) {
    return "a numeric pre-release identifier has a leading zero";
  }
  return undefined;
}

/** parseConstraint: one comparison found in an alternative, as the version it compares with. */
function comparisonProblem(comparison: string): string | undefined {
  const m = CONSTRAINT.exec(comparison);
  if (!m) return `improper constraint ${JSON.stringify(comparison)}`;
  const [, , whole = "", major = "", minor = "", patch = "", pre = ""] = m;
  // A wildcard or missing part compares as 0 (the build part is then dropped).
  let version = whole;
  if (isX(major)) version = `0.0.0${pre}`;
  else if (minor === "" || isX(minor.slice(1))) version = `${major}.0.0${pre}`;
  else if (patch === "" || isX(patch.slice(1))) version = `${major}${minor}.0${pre}`;
  const problem = versionProblem(version);
  return problem === undefined ? undefined : `${JSON.stringify(comparison.trim())}: ${problem}`;
}

/**
 * What Masterminds/semver's NewConstraint refuses in `range`, or undefined when image-reflector-controller
 * can use it (see the module comment for the grammar and its source).
 */
export function semverRangeProblem(range: string): string | undefined {
  // rewriteRange: each `A - B` becomes `>= A, <= B ` (strings.Replace of the first occurrence).
  let rewritten = range;
  for (const m of range.matchAll(CONSTRAINT_RANGE)) rewritten = rewritten.replace(m[0], () => `>= ${m[1] ?? ""}, <= ${m[11] ?? ""} `);
  const alternatives = rewritten.split("||");
  for (const [i, alternative] of alternatives.entries()) {
    if (!VALID_CONSTRAINT.test(alternative)) {
      if (alternative.trim() !== "") return `improper constraint ${JSON.stringify(alternative.trim())}`;
      return alternatives.length === 1 ? "empty" : `alternative ${i + 1} of ${alternatives.length} (between '||') is empty`;
    }
    for (const [comparison] of alternative.matchAll(FIND_CONSTRAINT)) {
      const problem = comparisonProblem(comparison);
      if (problem !== undefined) return problem;
    }
  }
  return undefined;
}

/** How a valid range looks, for messages. */
export const SEMVER_RANGE_EXAMPLES = '">=1.0.0 <2.0.0", "~1.2", "^2" or ">=1.0.0, <2.0.0 || >=3.0.0"';
