// What the docs name exists: every repository path a markdown file writes in backticks, every
// relative link (and its #heading), every `npm run <script>`, and every entry of the README's
// layout tree. Files move; a sentence that still names the old place fails here instead of
// misleading a reader.
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const root = path.resolve(__dirname, "..", "..");

/** What the docs are checked against: tracked files (and untracked ones not ignored) and the directories holding them. */
interface Tree {
  readonly files: readonly string[];
  readonly dirs: ReadonlySet<string>;
  /** package.json's script names. */
  readonly scripts: ReadonlySet<string>;
}

function treeOf(files: readonly string[], scripts: readonly string[]): Tree {
  const dirs = new Set<string>();
  for (const file of files) {
    const parts = file.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  return { files, dirs, scripts: new Set(scripts) };
}

function projectTree(): Tree {
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: root, encoding: "utf8" })
    .split("\0")
    .filter((file) => file !== "" && fs.existsSync(path.join(root, file)));
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> };
  return treeOf(files, Object.keys(pkg.scripts));
}

/**
 * Paths of files that live elsewhere — an upstream project, an app repository — written where the
 * paragraph says whose they are. Each is allowed only in a paragraph naming that place.
 */
const ELSEWHERE: Readonly<Record<string, string>> = {
  "docs/spec/v1beta3/providers.md": "notification-controller",
  "kustomize_varsub.go": "fluxcd/pkg",
  ".github/workflows/ci.yml": "app repository",
};

/** File names worth checking when written alone, without a folder. */
const FILE_NAME = /^[\w.<>*-]+\.(?:ts|mts|cts|cjs|mjs|js|json|ya?ml|md|sh|go)$/;

/**
 * Whether `reference` (a path with `/`, optionally ending in `/`) names a tracked file or a directory
 * of tracked files, from the repository root or from `base`. A segment may hold placeholders such as
 * `<env>` or a `*` glob, standing for a name the reader chooses (`Pulumi.<stack>.yaml`,
 * `clusters/<env>/`): the path must then match at least one tracked path, so a placeholder in a
 * folder that no longer exists still fails.
 */
function exists(tree: Tree, reference: string, base: string): boolean {
  const trimmed = reference.replace(/\/$/, "");
  const candidates = base === "" ? [trimmed] : [trimmed, path.posix.join(base, trimmed)];
  if (!/[<*]/.test(trimmed)) return candidates.some((candidate) => tree.files.includes(candidate) || tree.dirs.has(candidate));
  const patterns = candidates.map(
    (candidate) => new RegExp(`^${candidate.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/<[^>/]+>|\*/g, "[^/]+")}(?:/|$)`),
  );
  return tree.files.some((file) => patterns.some((pattern) => pattern.test(file)));
}

/** A file name written alone names the last segment of some tracked file (placeholders allowed). */
function existsAsName(tree: Tree, name: string): boolean {
  const pattern = new RegExp(`(?:^|/)${name.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/<[^>/]+>|\*/g, "[^/]+")}$`);
  return tree.files.some((file) => pattern.test(file));
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The anchors of a markdown text's headings (a repeated heading gets `-1`, `-2`, … as on GitHub). */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const match of withoutFences(text).matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const base = slug(match[1] as string);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    out.add(count === 0 ? base : `${base}-${count}`);
  }
  return out;
}

/** The text with fenced code blocks blanked (line numbers kept), where backticks and `#` mean nothing. */
function withoutFences(text: string): string {
  return text.replace(/^```[^\n]*\n[\s\S]*?^```[^\n]*$/gm, (block) => block.replace(/[^\n]/g, " "));
}

/** Every stale reference of one markdown file, one message each, in the order they appear. */
function docProblems(tree: Tree, file: string, text: string, read: (file: string) => string | undefined): string[] {
  const base = path.posix.dirname(file) === "." ? "" : path.posix.dirname(file);
  const tops = new Set([...tree.files, ...tree.dirs].filter((entry) => !entry.includes("/")));
  const local = new Set([...tree.files, ...tree.dirs].filter((entry) => base !== "" && path.posix.dirname(entry) === base).map((entry) => path.posix.basename(entry)));
  const prose = withoutFences(text);
  const lineOf = (index: number) => text.slice(0, index).split("\n").length;
  const paragraphAt = (index: number) => {
    const start = prose.lastIndexOf("\n\n", index);
    const end = prose.indexOf("\n\n", index);
    return prose.slice(start === -1 ? 0 : start, end === -1 ? undefined : end).replace(/\s+/g, " ");
  };
  const problems: { at: number; message: string }[] = [];

  for (const match of prose.matchAll(/`([^`\n]+)`/g)) {
    const span = match[1] as string;
    if (/\s/.test(span) || /^[a-z][\w+.-]*:\/\//i.test(span)) continue;
    const first = span.split("/")[0] as string;
    const isPath = span.includes("/") ? tops.has(first) || local.has(first) : FILE_NAME.test(span);
    if (!isPath) continue;
    const found = span.includes("/") ? exists(tree, span, base) : existsAsName(tree, span);
    const elsewhere = ELSEWHERE[span];
    if (found || (elsewhere !== undefined && paragraphAt(match.index).includes(elsewhere))) continue;
    problems.push({ at: match.index, message: `${file}:${lineOf(match.index)}: \`${span}\` names no tracked file or directory` });
  }

  for (const match of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = match[1] as string;
    if (/^[a-z][\w+.-]*:/i.test(target)) continue;
    const [pathPart, anchor] = target.split("#") as [string, string | undefined];
    const targetFile = pathPart === "" ? file : path.posix.normalize(path.posix.join(base, pathPart)).replace(/\/$/, "");
    if (pathPart !== "" && !exists(tree, targetFile, "")) {
      problems.push({ at: match.index, message: `${file}:${lineOf(match.index)}: link (${target}) names no tracked file or directory` });
    } else if (anchor !== undefined) {
      const targetText = read(targetFile);
      if (targetText === undefined || !anchors(targetText).has(anchor)) {
        problems.push({ at: match.index, message: `${file}:${lineOf(match.index)}: link (${target}) names no heading #${anchor} of ${targetFile}` });
      }
    }
  }

  // In code blocks too: a command a reader copies must run.
  for (const match of text.matchAll(/\bnpm run (?:-s |--silent )?([\w:.-]+)/g)) {
    const script = match[1] as string;
    if (!tree.scripts.has(script)) problems.push({ at: match.index, message: `${file}:${lineOf(match.index)}: npm run ${script}: package.json has no script "${script}"` });
  }

  return problems.sort((a, b) => a.at - b.at).map((problem) => problem.message);
}

/**
 * The entries of the README's layout tree (the fenced block under "## Layout"), as repository paths:
 * a name at the start of a line, or indented by two spaces under the folder above it, followed by
 * two spaces or more; deeper lines continue a description. A line that starts like an entry but is
 * not one (`a, b  text`) is returned as unreadable rather than skipped.
 */
function layoutEntries(readme: string): { entries: string[]; unreadable: string[] } {
  const section = /^## Layout\n+```\n([\s\S]*?)^```/m.exec(readme);
  if (!section) throw new Error('README.md has no "## Layout" section with a fenced tree');
  const entries: string[] = [];
  const unreadable: string[] = [];
  let parent = "";
  for (const line of (section[1] as string).split("\n")) {
    if (!/^ {0,2}\S/.test(line)) continue;
    const entry = /^( {0,2})(\S+)(?: {2,}|$)/.exec(line);
    if (!entry) {
      unreadable.push(line.trim());
      continue;
    }
    const name = entry[2] as string;
    if (entry[1] === "") {
      parent = name.endsWith("/") ? name : "";
      entries.push(name);
    } else entries.push(`${parent}${name}`);
  }
  return { entries, unreadable };
}

/** The folders the layout must show: every top-level folder, and the folders inside components/ and tools/. */
function foldersToShow(tree: Tree): string[] {
  return [...tree.dirs].filter((dir) => !dir.includes("/") || /^(components|tools)\/[^/]+$/.test(dir)).sort();
}

function layoutProblems(tree: Tree, readme: string): string[] {
  const { entries, unreadable } = layoutEntries(readme);
  const unread = unreadable.map((line) => `README.md layout: not an entry (one name, then two spaces): ${line}`);
  const missing = entries.filter((entry) => !exists(tree, entry, "")).map((entry) => `README.md layout: ${entry} names no tracked file or directory`);
  const shown = (dir: string) => entries.some((entry) => entry.replace(/\/$/, "") === dir || entry.startsWith(`${dir}/`));
  const unshown = foldersToShow(tree)
    .filter((dir) => !shown(dir))
    .map((dir) => `README.md layout: ${dir}/ is not shown`);
  return [...unread, ...missing, ...unshown];
}

describe("the docs name what exists", () => {
  const tree = projectTree();
  const read = (file: string) => (tree.files.includes(file) ? fs.readFileSync(path.join(root, file), "utf8") : undefined);
  const docs = tree.files.filter((file) => file.endsWith(".md"));

  it("checks the README, every page of docs/ and every other markdown file", () => {
    expect(docs).toEqual(expect.arrayContaining(["README.md", "docs/plan.md", "docs/delivery.md", "e2e/README.md"]));
  });

  it("every path in backticks, relative link and heading anchor, and `npm run` script they name exists", () => {
    expect(docs.flatMap((file) => docProblems(tree, file, read(file) as string, read))).toEqual([]);
  });

  it("the README's layout tree names only what exists, and shows every top-level folder and those of components/ and tools/", () => {
    expect(layoutProblems(tree, read("README.md") as string)).toEqual([]);
  });
});

describe("the docs check itself", () => {
  const tree = treeOf(
    ["README.md", "docs/guide.md", "components/aws/storage.ts", "components/names.ts", "Pulumi.staging.yaml", "clusters/staging/kustomization.yaml", "e2e/lib/render.ts"],
    ["plan", "test"],
  );
  const check = (text: string, file = "docs/guide.md", pages: Record<string, string> = {}) => docProblems(tree, file, text, (name) => pages[name]);

  it("reports a path that no longer exists, with file and line", () => {
    expect(check("# Guide\n\nThe schema is in `components/config.ts`.\nThe bucket: `components/aws/storage.ts`.\n")).toEqual([
      "docs/guide.md:3: `components/config.ts` names no tracked file or directory",
    ]);
  });

  it("accepts a directory of tracked files, with or without its slash", () => {
    expect(check("`components/aws/` and `components/aws` and `clusters/staging/`\n")).toEqual([]);
  });

  it("accepts a placeholder only where it matches a tracked path", () => {
    expect(check("`Pulumi.<stack>.yaml`, `clusters/<env>/kustomization.yaml`, `components/*/storage.ts`\n")).toEqual([]);
    expect(check("`clusters/<env>/flux.yaml` and `policies/config/<stack>.json`\n")).toEqual([
      "docs/guide.md:1: `clusters/<env>/flux.yaml` names no tracked file or directory",
    ]);
  });

  it("reads paths relative to the markdown file's own folder too", () => {
    expect(check("Listed in `lib/render.ts`; also `lib/gone.ts`.\n", "e2e/README.md")).toEqual([
      "e2e/README.md:1: `lib/gone.ts` names no tracked file or directory",
    ]);
  });

  it("checks a file name written alone against the names of tracked files", () => {
    expect(check("`names.ts` and `config.ts`\n")).toEqual(["docs/guide.md:1: `config.ts` names no tracked file or directory"]);
  });

  it("leaves alone what is not a path of this repository: other roots, words with spaces, URLs", () => {
    expect(check("`deploy/<env>`, `internal/notifier`, `origin/staging`, `npm test`, `s3://bucket/x`\n")).toEqual([]);
  });

  it("allows a file of another project or repository only in a paragraph that names it", () => {
    expect(check("Flux's notification-controller documents it (`docs/spec/v1beta3/providers.md`).\n")).toEqual([]);
    expect(check("As documented (`docs/spec/v1beta3/providers.md`).\n")).toEqual([
      "docs/guide.md:1: `docs/spec/v1beta3/providers.md` names no tracked file or directory",
    ]);
  });

  it("ignores fenced code blocks for paths but not for npm scripts", () => {
    expect(check("```\ncomponents/gone.ts\nnpm run plan -- --stack staging\nnpm run nosuch\n```\n")).toEqual([
      'docs/guide.md:4: npm run nosuch: package.json has no script "nosuch"',
    ]);
  });

  it("checks relative links and their heading anchors", () => {
    const pages = { "README.md": "# Title\n\n## Running it for real\n\n## Layout\n" };
    expect(
      check("[a](../README.md#running-it-for-real) [b](../README.md#gone) [c](gone.md) [d](https://example.com/x) [e](#guide)\n\n# Guide\n", "docs/guide.md", {
        ...pages,
        "docs/guide.md": "# Guide\n",
      }),
    ).toEqual([
      "docs/guide.md:1: link (../README.md#gone) names no heading #gone of README.md",
      "docs/guide.md:1: link (gone.md) names no tracked file or directory",
    ]);
  });

  it("derives anchors as GitHub does: punctuation dropped, repeated headings numbered", () => {
    expect([...anchors("## `--diff <git-ref>`\n## From an empty account (once per stack)\n## Notes\n## Notes\n```\n# not a heading\n```\n")]).toEqual([
      "--diff-git-ref",
      "from-an-empty-account-once-per-stack",
      "notes",
      "notes-1",
    ]);
  });

  it("reads the layout tree: entries at the start of a line, two-space entries under their folder, continuation lines skipped", () => {
    const readme =
      "## Layout\n\n```\nindex.ts      entry\ncomponents/   parts\n  aws/        AWS\n              more words about aws\n  gone/       was here\n  a.ts, b.ts  two\n```\n";
    expect(layoutEntries(readme)).toEqual({ entries: ["index.ts", "components/", "components/aws/", "components/gone/"], unreadable: ["a.ts, b.ts  two"] });
    const layoutTree = treeOf(["index.ts", "components/aws/storage.ts", "components/k8s/reconciler.ts", "tools/plan/main.ts"], []);
    expect(layoutProblems(layoutTree, readme)).toEqual([
      "README.md layout: not an entry (one name, then two spaces): a.ts, b.ts  two",
      "README.md layout: components/gone/ names no tracked file or directory",
      "README.md layout: components/k8s/ is not shown",
      "README.md layout: tools/ is not shown",
      "README.md layout: tools/plan/ is not shown",
    ]);
  });
});
