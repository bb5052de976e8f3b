// Text that fits: GitHub refuses issue and comment bodies over its size limit, so logs are cut in
// the middle (keeping Pulumi's verdicts at the end) and fenced so no backtick run breaks out.

/** GitHub refuses issue and comment bodies longer than this. */
export const BODY_LIMIT = 65536;
/** Room kept free under the limit for anything the estimate misses (fences, the truncation notes). */
export const BODY_MARGIN = 1024;

export function byteLength(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/** Removes ANSI colour and cursor sequences. */
export function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, "");
}

/** The longest prefix of `text` of at most `maxBytes` UTF-8 bytes, cut between code points. */
export function headBytes(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of text.slice(0, maxBytes)) {
    const size = byteLength(char);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}

/** The longest suffix of `text` of at most `maxBytes` UTF-8 bytes, cut between code points. */
function tailBytes(text: string, maxBytes: number): string {
  const chars = Array.from(text.slice(-maxBytes));
  let bytes = 0;
  let start = chars.length;
  while (start > 0) {
    const size = byteLength(chars[start - 1] as string);
    if (bytes + size > maxBytes) break;
    bytes += size;
    start -= 1;
  }
  // A slice may begin inside a surrogate pair; such a half is dropped rather than sent broken.
  return chars.slice(start).join("").replace(/^[\udc00-\udfff]/, "");
}

/**
 * `text` in at most `maxBytes` UTF-8 bytes: when too long, the start (a third) and the end (the rest,
 * where Pulumi prints the policy verdicts and the resource summary) around a line that says how much
 * was left out and where the whole log is.
 */
export function truncateMiddle(text: string, maxBytes: number, runUrl: string): string {
  if (byteLength(text) <= maxBytes) return text;
  const omitted = (n: number) => `\n… ${n} characters omitted here; the full output is in the run log: ${runUrl}\n`;
  const noteBytes = byteLength(omitted(text.length));
  const room = Math.max(0, maxBytes - noteBytes);
  let head = headBytes(text, Math.floor(room / 3));
  let tail = tailBytes(text, room - byteLength(head));
  // Cut at line ends where that loses little, so no line is shown half.
  const lastNewline = head.lastIndexOf("\n");
  if (lastNewline > head.length * 0.8) head = head.slice(0, lastNewline);
  const firstNewline = tail.indexOf("\n");
  if (firstNewline >= 0 && firstNewline < tail.length * 0.2) tail = tail.slice(firstNewline + 1);
  return head + omitted(text.length - head.length - tail.length) + tail;
}

/** A fenced code block whose fence is longer than any backtick run inside `text`. */
export function codeBlock(text: string, language = "text"): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}${language}\n${text.replace(/\n+$/, "")}\n${fence}`;
}

/** Pulumi's closing `Resources:` block (`~ 1 to update`, `12 unchanged`), or "" when absent. */
export function resourceSummary(log: string): string {
  const lines = log.split("\n");
  const start = lines.findIndex((line) => /^Resources:\s*$/.test(line));
  if (start < 0) return "";
  const block: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!/^\s+\S/.test(line)) break;
    block.push(line.trim());
  }
  return block.join(", ");
}

/** Counts of `[mandatory]` and `[advisory]` policy violations in a Pulumi log. */
export function policyCounts(log: string): { mandatory: number; advisory: number } {
  return {
    mandatory: (log.match(/\[mandatory\]/g) ?? []).length,
    advisory: (log.match(/\[advisory\]/g) ?? []).length,
  };
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export function shortSha(sha: string | undefined): string {
  return sha ? `\`${sha.slice(0, 12)}\`` : "unknown commit";
}

/** Last resort: a body that is still too long is cut hard, with a pointer to the log. */
export function fitBody(body: string, runUrl: string): string {
  if (byteLength(body) <= BODY_LIMIT) return body;
  const note = `\n\n… cut to GitHub's size limit; the full output is in the run log: ${runUrl}\n`;
  return headBytes(body, BODY_LIMIT - byteLength(note)) + note;
}
