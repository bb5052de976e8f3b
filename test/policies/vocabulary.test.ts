// The vocabulary the program (and its offline engine) and the policy pack share
// (policies/vocabulary.ts): each fact written once, the pack self-contained, and the program never loading the pack's machinery.
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import {
  ECR_LOGIN_ACTION,
  ECR_PULL_ACTIONS,
  ECR_PUSH_ACTIONS,
  ECR_READ_ACTIONS,
  ECR_WRITE_ACTIONS,
  EXACT_VERSION,
  GITHUB_KNOWN_HOSTS,
  imageParts,
  pinnedByDigest,
  RESOURCE_WILDCARD_ACTIONS,
  RFC1123_LABEL,
  SECRET_MASK,
  SOPS_KEY_TAG,
  splitRepository,
  STS_AUDIENCE,
} from "../../policies/vocabulary";

const root = path.resolve(__dirname, "..", "..");
const VOCABULARY = "policies/vocabulary.ts";

/** Every .ts file below `dir` (relative to the project root). */
function sources(dir: string): string[] {
  return fs
    .readdirSync(path.join(root, dir), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => path.join(dir, file))
    .sort();
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, fs.readFileSync(path.join(root, file), "utf8"), ts.ScriptTarget.Latest, true);
}

/** The module specifiers a file imports or re-exports (static, dynamic and require). */
function importsOf(file: string): string[] {
  const specifiers: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0]!)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === "require")) specifiers.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(parse(file));
  return specifiers;
}

/** The package a bare specifier names: `@scope/name` or `name` (subpaths dropped). */
function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return (specifier.startsWith("@") ? parts.slice(0, 2) : parts.slice(0, 1)).join("/");
}

/** Every literal of a file (strings, template pieces, regular expressions, numbers), with its line. */
function literalsOf(file: string): { text: string; kind: "string" | "regex" | "number" | "strings"; where: string }[] {
  const sourceFile = parse(file);
  const found: { text: string; kind: "string" | "regex" | "number" | "strings"; where: string }[] = [];
  const where = (node: ts.Node) => `${file}:${sourceFile.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
      found.push({ text: node.text, kind: "string", where: where(node) });
    } else if (ts.isRegularExpressionLiteral(node)) {
      found.push({ text: node.text, kind: "regex", where: where(node) });
    } else if (ts.isNumericLiteral(node)) {
      found.push({ text: node.text, kind: "number", where: where(node) });
    } else if (ts.isArrayLiteralExpression(node) && node.elements.length > 0 && node.elements.every(ts.isStringLiteral)) {
      // A list of strings, sorted and joined: a copied action list in any order.
      found.push({ text: node.elements.map((element) => (element as ts.StringLiteral).text).sort().join(","), kind: "strings", where: where(node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

describe("the policy pack stands on its own", () => {
  it("imports nothing from outside policies/ and declares what it imports and what the policy runner needs, at the project's pinned versions, and nothing else", () => {
    const project = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    const pack = JSON.parse(fs.readFileSync(path.join(root, "policies", "package.json"), "utf8")) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
    const escapes: string[] = [];
    const packages = new Set<string>();
    let usesNode = false;
    for (const file of sources("policies")) {
      for (const specifier of importsOf(file)) {
        if (specifier.startsWith(".")) {
          const target = path.relative(path.join(root, "policies"), path.resolve(root, path.dirname(file), specifier));
          if (target.startsWith("..")) escapes.push(`${file}: ${specifier}`);
        } else if (specifier.startsWith("node:")) usesNode = true;
        else packages.add(packageOf(specifier));
      }
    }
    expect(escapes).toEqual([]);
    // The Pulumi CLI starts a pack with @pulumi/pulumi's cmd/run-policy-pack from the pack's own
    // node_modules, which compiles it with ts-node and the pack's own typescript (else the
    // TypeScript 3.8 vendored in @pulumi/pulumi, which rejects the pack's tsconfig); the pack's
    // tsconfig names the node types its node: imports need.
    const runner = ["@pulumi/pulumi", "typescript", ...(usesNode ? ["@types/node"] : [])];
    const needed = [...new Set([...packages, ...runner])].sort();
    const pinned = Object.fromEntries(needed.map((name) => [name, project.dependencies[name] ?? project.devDependencies[name]]));
    // All are needed to load the pack, so none is a devDependency (an install with --omit=dev skips those).
    expect(pack.devDependencies).toBeUndefined();
    expect(pack.dependencies ?? {}).toEqual(pinned);
    expect(Object.values(pinned).every((version) => version !== undefined && EXACT_VERSION.test(version))).toBe(true);
  });

  it("compiles with the project's compiler settings, but for the project-only ones", () => {
    const options = (file: string) => {
      const parsed = ts.parseConfigFileTextToJson(file, fs.readFileSync(path.join(root, file), "utf8"));
      expect(parsed.error).toBeUndefined();
      return (parsed.config as { compilerOptions: Record<string, unknown> }).compilerOptions;
    };
    const project = options("tsconfig.json");
    const pack = options("policies/tsconfig.json");
    // Only the project has JavaScript (checkJs), .mts files importing by real name
    // (rewriteRelativeImportExtensions) and an outDir; exactOptionalPropertyTypes is false, the default.
    const projectOnly = ["outDir", "allowJs", "checkJs", "rewriteRelativeImportExtensions", "exactOptionalPropertyTypes"];
    expect(pack).toEqual(Object.fromEntries(Object.entries(project).filter(([key]) => !projectOnly.includes(key))));
  });

  it("the program imports from the pack only modules that import nothing, so it never loads @pulumi/policy", () => {
    const program = ["index.ts", ...sources("components")];
    const reached = new Set<string>();
    for (const file of program) {
      for (const specifier of importsOf(file).filter((s) => s.startsWith("."))) {
        const target = path.relative(root, path.resolve(root, path.dirname(file), specifier));
        if (target.startsWith(`policies${path.sep}`)) reached.add(`${target.replace(/\.ts$/, "")}.ts`);
      }
    }
    expect([...reached].sort()).toEqual(["policies/network-rules.ts", VOCABULARY]);
    expect([...reached].filter((file) => importsOf(file).length > 0)).toEqual([]);
  });
});

describe("one vocabulary: each shared fact is written once, in policies/vocabulary.ts", () => {
  // What counts as a copy: the same literal anywhere in the program or the pack outside the
  // vocabulary (an action list in any order).
  const copies = (): string[] => {
    const hostKeys = GITHUB_KNOWN_HOSTS.map((line) => line.split(" ")[2] as string);
    const actionLists = new Set([ECR_PUSH_ACTIONS, ECR_PULL_ACTIONS, ECR_READ_ACTIONS, ECR_WRITE_ACTIONS, RESOURCE_WILDCARD_ACTIONS].map((list) => [...list].sort().join(",")));
    const found: string[] = [];
    for (const file of ["index.ts", ...sources("components"), ...sources("policies"), ...sources("tools/engine"), ...sources("tools/plan")].filter((f) => f !== VOCABULARY)) {
      for (const literal of literalsOf(file)) {
        const copy =
          (literal.kind === "string" &&
            (hostKeys.some((key) => literal.text.includes(key)) || [STS_AUDIENCE, ECR_LOGIN_ACTION, SECRET_MASK, SOPS_KEY_TAG.key].includes(literal.text))) ||
          (literal.kind === "strings" && actionLists.has(literal.text)) ||
          (literal.kind === "regex" && (literal.text === String(EXACT_VERSION) || literal.text.includes(RFC1123_LABEL.source.slice(1, -1)))) ||
          (literal.kind === "number" && literal.text === "8080");
        if (copy) found.push(`${literal.where}: ${literal.text}`);
      }
    }
    return found;
  };

  it("finds no copy of GitHub's host keys, the STS audience, the ECR login or an ECR action list, the exact-version or RFC 1123 patterns, the metrics port, the secret mask or the SOPS key tag", () => {
    expect(copies()).toEqual([]);
  });

  it("the pack counts every write action the program grants a CI role as a push", () => {
    const writes = ECR_PUSH_ACTIONS.filter((action) => !ECR_PULL_ACTIONS.includes(action));
    expect(writes).toEqual(["ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"]);
    expect(writes.filter((action) => !ECR_WRITE_ACTIONS.includes(action))).toEqual([]);
  });
});

describe("vocabulary functions", () => {
  it("imageParts: the tag is in the last path segment, a registry port is not a tag", () => {
    expect(imageParts("ghcr.io/org/app:v1.2.3")).toEqual({ name: "ghcr.io/org/app", tag: "v1.2.3" });
    expect(imageParts("localhost:5000/app")).toEqual({ name: "localhost:5000/app" });
    expect(imageParts("localhost:5000/app:1@sha256:abc")).toEqual({ name: "localhost:5000/app", tag: "1", digest: "sha256:abc" });
    expect(imageParts("app")).toEqual({ name: "app" });
  });

  it("pinnedByDigest: only a full sha256 digest pins", () => {
    expect(pinnedByDigest(`ghcr.io/org/app:v1@sha256:${"a".repeat(64)}`)).toBe(true);
    expect(pinnedByDigest(`ghcr.io/org/app@sha256:${"a".repeat(63)}`)).toBe(false);
    expect(pinnedByDigest("ghcr.io/org/app:latest")).toBe(false);
  });

  it("splitRepository: owner/name in two; a bare name has no owner", () => {
    expect(splitRepository("acme/orders")).toEqual({ owner: "acme", name: "orders" });
    expect(splitRepository("orders")).toEqual({ name: "orders" });
  });

  it("EXACT_VERSION and RFC1123_LABEL", () => {
    expect(["2.7.3", "v0.58.1"].map((v) => EXACT_VERSION.test(v))).toEqual([true, true]);
    expect(["2.x", "2.7", "latest", "2.7.3-rc.1"].map((v) => EXACT_VERSION.test(v))).toEqual([false, false, false, false]);
    expect(["flux-system", "a", "a".repeat(63)].map((v) => RFC1123_LABEL.test(v))).toEqual([true, true, true]);
    expect(["Flux", "-a", "a-", "a".repeat(64), "a.b"].map((v) => RFC1123_LABEL.test(v))).toEqual([false, false, false, false, false]);
  });
});
