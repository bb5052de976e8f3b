/**
 * `npm run check-tag-changes -- <base> <head> <upstream>`: the check on a pull request into `prod`
 * (any production environment that receives promotions; `<upstream>` the branch it receives them from)
 * that keeps image tags on the promotion road. Image tags (`IMAGE_TAG` in
 * `clusters/base/<app>-image.yaml`) change on `staging` only and reach `prod` with the promotion
 * pull request from `staging`; a tag changed on `prod` alone conflicts with the next bump on
 * staging and leaves the environments on different tags (docs/apps.md, "The rule for tags").
 *
 * `<base>`, `<head>` and `<upstream>` are git revisions: the pull request's base and head, and the
 * upstream's branch (e.g. `origin/staging`). The pull request passes when its head is part of the
 * upstream's history (a promotion, whatever the head branch is called: a fork's branch named
 * `staging` is not), or when it changes no tag line since it left the base. Exit status: 0 pass,
 * 1 a tag line changed outside the upstream, 2 usage error.
 */
import { execFileSync } from "node:child_process";
import { IMAGE_TAGS_PATH } from "../../components/k8s/reconciler";

/** Where the tag files live: the directory the program's image automation updates. */
const TAG_FILES = IMAGE_TAGS_PATH;

/** Each changed `IMAGE_TAG` line of the head since it left the base, as `file: old -> new`. */
export function tagChanges(cwd: string, base: string, head: string): string[] {
  const git = (...args: string[]) => execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const forkPoint = git("merge-base", base, head).trim();
  const diff = git("diff", "--unified=0", "--no-color", "--no-ext-diff", forkPoint, head, "--", TAG_FILES);
  const changes = new Map<string, { old?: string; new?: string }>();
  let file = "";
  for (const line of diff.split("\n")) {
    const header = /^\+\+\+ b\/(.*)$/.exec(line) ?? /^--- a\/(.*)$/.exec(line);
    if (header?.[1] !== undefined) {
      file = header[1];
      continue;
    }
    const tag = /^([+-])\s*IMAGE_TAG:\s*"?([^"#\s]*)"?/.exec(line);
    if (tag === null) continue;
    const entry = changes.get(file) ?? {};
    if (tag[1] === "-") entry.old = tag[2];
    else entry.new = tag[2];
    changes.set(file, entry);
  }
  return [...changes]
    .filter(([, change]) => change.old !== change.new)
    .map(([name, change]) => `${name}: IMAGE_TAG ${change.old === undefined ? "(none)" : JSON.stringify(change.old)} -> ${change.new === undefined ? "(none)" : JSON.stringify(change.new)}`);
}

/** Output sinks, replaceable in tests. */
export interface CheckOutput {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const processOutput: CheckOutput = { stdout: (text) => void process.stdout.write(text), stderr: (text) => void process.stderr.write(text) };

export function main(argv: readonly string[], cwd: string = process.cwd(), out: CheckOutput = processOutput): Promise<number> {
  return Promise.resolve(check(argv, cwd, out));
}

function check(argv: readonly string[], cwd: string, out: CheckOutput): number {
  const [base, head, upstream] = argv;
  if (argv.length !== 3 || !base || !head || !upstream) {
    out.stderr("usage: check-tag-changes <base> <head> <upstream>\n");
    return 2;
  }
  try {
    execFileSync("git", ["merge-base", "--is-ancestor", head, upstream], { cwd, stdio: "ignore" });
    out.stdout(`check-tag-changes: ${head} is part of ${upstream}: a promotion carries its tags\n`);
    return 0;
  } catch {
    // Not (all) from the upstream: it may change no tag.
  }
  const changes = tagChanges(cwd, base, head);
  for (const change of changes) {
    out.stderr(`${change}: changed outside ${upstream}; image tags change upstream and reach a production environment only by promotion (docs/apps.md, "The rule for tags")\n`);
  }
  if (changes.length === 0) out.stdout(`check-tag-changes: ${head} changes no image tag\n`);
  return changes.length === 0 ? 0 : 1;
}
