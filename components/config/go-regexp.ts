/**
 * Tag patterns as Flux reads them: Go's regexp syntax, checked on top of what JavaScript's RegExp
 * compiles (see {@link goRegexp}).
 */

/**
 * A tag pattern as image-reflector-controller compiles it: Go's `regexp.Compile` (RE2 syntax;
 * internal/policy/filter.go), whose parser is Go's regexp/syntax (parse.go). Returns what Go
 * refuses among what JavaScript's RegExp would compile, or the pattern rewritten for JavaScript to
 * check the rest of its syntax (parentheses, brackets, repeats). Go refuses:
 * - lookarounds: `(?=` and `(?!` (parsePerlFlags: "invalid or unsupported Perl syntax"), `(?<=`
 *   and `(?<!` (an invalid named capture);
 * - an escape of a letter or digit, or of a non-ASCII character, it does not define (parseEscape:
 *   "invalid escape sequence"), among them the backreferences `\1` and `\k<name>`: outside a
 *   class `\A \b \B \Q..\E \z`, and anywhere `\d \D \s \S \w \W \p \P \x \a \f \n \r \t \v`,
 *   `\0` and `\1`-`\7` followed by an octal digit;
 * - repeat counts over 1000 (parseRepeat: "invalid repeat count");
 * - a class left open, such as `[]a` (parseClass: "missing closing ]").
 * Rewritten for JavaScript: `(?P<name>` to `(?<name>`, and Go's flag groups (`(?i)`, `(?s:`),
 * which JavaScript does not write the same, dropped.
 */
export function goRegexp(pattern: string): { source: string } | { problem: string } {
  let source = "";
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? "";
    const rest = pattern.slice(i);
    if (c === "\\") {
      const next = pattern[i + 1] ?? "";
      if (!inClass && next === "Q") {
        // \Q...\E: literal text (to the end when there is no \E).
        const end = pattern.indexOf("\\E", i + 2);
        const literal = pattern.slice(i + 2, end < 0 ? undefined : end);
        source += literal.replace(/[\\^$.*+?()[\]{}|\/-]/g, "\\$&");
        i = end < 0 ? pattern.length : end + 1;
        continue;
      }
      const octal = /^[1-7][0-7]/.test(pattern.slice(i + 1, i + 3));
      const known = (inClass ? "dDsSwWpPxafnrtv0" : "AbBzdDsSwWpPxafnrtv0").includes(next);
      if ((/^[A-Za-z0-9]$/.test(next) || next > "\x7f") && !known && !octal) {
        return { problem: `invalid escape sequence \\${next}${/[1-9k]/.test(next) ? " (Go's regexp has no backreferences)" : ""}` };
      }
      source += c + next;
      i++;
      continue;
    }
    if (inClass) {
      // A POSIX class such as [:alpha:] inside a bracket expression.
      const posix = /^\[:[A-Za-z]+:\]/.exec(rest);
      if (posix) {
        source += posix[0];
        i += posix[0].length - 1;
      } else {
        if (c === "]") inClass = false;
        source += c;
      }
      continue;
    }
    if (c === "[") {
      // A ']' first in the class (after an optional '^') is a literal.
      const open = /^\[\^?\]?/.exec(rest)?.[0] ?? "[";
      inClass = true;
      source += open;
      i += open.length - 1;
      continue;
    }
    if (/^\(\?(=|!|<=|<!)/.test(rest)) return { problem: `lookarounds such as ${rest.slice(0, rest.startsWith("(?<") ? 4 : 3)} are not supported` };
    const repeat = /^\{([0-9]+)(,([0-9]*))?\}/.exec(rest);
    if (repeat && (Number(repeat[1]) > 1000 || Number(repeat[3] || 0) > 1000)) return { problem: `repeat count ${repeat[0]} is over 1000` };
    const flags = /^\(\?[imsU-]+([:)])/.exec(rest);
    if (flags) {
      source += flags[1] === ":" ? "(?:" : "";
      i += flags[0].length - 1;
      continue;
    }
    if (rest.startsWith("(?P<")) {
      source += "(?<";
      i += 3;
      continue;
    }
    source += c;
  }
  // JavaScript reads `[]` as an empty class; Go takes a first ']' as a literal (parseClass).
  if (inClass) return { problem: "missing closing ] of a character class (a ']' first in the class is a literal)" };
  return { source };
}
