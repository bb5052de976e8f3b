/** Shell words for the workflow simulator: what a `run:` script runs, with env variables expanded. */
import { parse as shellWords } from "shell-quote";

/** The shell words of each command line of a script (and of each `$(...)` in it), env expanded. */
export function scriptCommands(script: string, env: Record<string, string>, runner: Record<string, string>): string[][] {
  const lines = script
    .replace(/\\\n\s*/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith("#"));
  // The runner's GITHUB_* and RUNNER_* variables win over a workflow's env of the same name
  // (docs.github.com, "Variables reference": they cannot be overwritten).
  const expand = (key: string) => (/^(GITHUB|RUNNER)_/.test(key) ? runner[key] : undefined) ?? env[key] ?? runner[key] ?? `$${key}`;
  const out: string[][] = [];
  for (const line of lines) {
    const pieces = [line, ...[...line.matchAll(/\$\(([^()]*)\)/g)].map((m) => m[1] ?? "")];
    for (const piece of pieces) {
      // Parameter expansions beyond ${NAME} (`${V:+…}`, `${V%%/*}`, `${!name}`) stay as written:
      // shell-quote does not parse them, and what they give depends on the run.
      const kept: string[] = [];
      const plainPiece = piece.replace(/\$\{(?![A-Za-z_]\w*\})[^}]*\}/g, (m) => `@@${kept.push(m) - 1}@@`);
      const restore = (word: string) => word.replace(/@@(\d+)@@/g, (_m, i: string) => kept[Number(i)] ?? "");
      let current: string[] = [];
      for (const token of shellWords(plainPiece, expand)) {
        if (typeof token === "string") current.push(restore(token));
        else if ("op" in token && ["|", "||", "&&", ";", "&", "(", ")"].includes(token.op)) {
          if (current.length > 0) out.push(current);
          current = [];
        } else if ("op" in token && token.op !== "glob") current.push(token.op);
        else if ("pattern" in token) current.push(token.pattern);
      }
      if (current.length > 0) out.push(current);
    }
  }
  return out;
}
