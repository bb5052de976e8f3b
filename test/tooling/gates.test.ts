// Every line of JavaScript and TypeScript in the repository is type-checked and linted: each tracked
// file is in tsconfig.json's program (which `tsc -p .` checks and ESLint's typed rules need) and
// none is ignored by ESLint. A file added outside the globs fails here rather than escaping both.
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import * as ts from "typescript";
import { ESLint } from "eslint";

const root = path.resolve(__dirname, "..", "..");
const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;

function trackedSources(): string[] {
  return execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: root, encoding: "utf8" })
    .split("\0")
    .filter((file) => SOURCE.test(file))
    .sort();
}

function programFiles(configFile: string): Set<string> {
  const read = ts.readConfigFile(path.join(root, configFile), (file) => ts.sys.readFile(file));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root);
  return new Set(parsed.fileNames.map((file) => path.relative(root, file)));
}

describe("quality gates cover every source file", () => {
  it("every tracked JavaScript and TypeScript file is in the type-checked program (tsc -p .)", () => {
    const files = trackedSources();
    expect(files).toEqual(expect.arrayContaining(["eslint.config.mjs", "tools/build/node24.cjs", "tools/ci/delivery/main.mts", "index.ts"]));
    const program = programFiles("tsconfig.json");
    expect(files.filter((file) => !program.has(file))).toEqual([]);
  });

  it("JavaScript files are checked as strictly as TypeScript (checkJs) and the config type-checks", () => {
    const read = ts.readConfigFile(path.join(root, "tsconfig.json"), (file) => ts.sys.readFile(file));
    const { options } = ts.parseJsonConfigFileContent(read.config, ts.sys, root);
    expect({ allowJs: options.allowJs, checkJs: options.checkJs, strict: options.strict, noCheck: options.noCheck, noEmit: options.noEmit }).toEqual({
      allowJs: true,
      checkJs: true,
      strict: true,
      noCheck: undefined,
      noEmit: true,
    });
  });

  it("ESLint ignores no tracked source file", async () => {
    const eslint = new ESLint({ cwd: root });
    const ignored: string[] = [];
    for (const file of trackedSources()) if (await eslint.isPathIgnored(path.join(root, file))) ignored.push(file);
    expect(ignored).toEqual([]);
  });
});
