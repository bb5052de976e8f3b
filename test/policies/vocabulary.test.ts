// The vocabulary the program (and its offline engine) and the policy pack share
// (policies/vocabulary.ts): each fact written once, the pack self-contained, and the program never loading the pack's machinery.
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { execFileSync } from "node:child_process";
import { escapeRegex } from "../../policies/support";
import {
  ECR_LOGIN_ACTION,
  ECR_PULL_ACTIONS,
  ECR_PUSH_ACTIONS,
  ECR_READ_ACTIONS,
  ECR_WRITE_ACTIONS,
  EXACT_VERSION,
  FLUX_NAMESPACE,
  FLUX_OPERATOR_IMAGE_REPOSITORY,
  GITHUB_KNOWN_HOSTS,
  GITHUB_SSH_HOST,
  IMAGE_DIGEST,
  imageParts,
  METRICS_PORT,
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

interface Literal {
  readonly text: string;
  /** A literal, a list of strings, a `?? "literal"` fallback, or code that parses what the vocabulary parses (text: what it parses). */
  readonly kind: "string" | "regex" | "number" | "strings" | "fallback" | "parser";
  readonly where: string;
}

/** Every literal of a file (strings, template pieces, regular expressions, numbers, `??` fallbacks), with its line, and each hand-written image-reference or owner/name parser. */
function literalsOf(file: string, text?: string): Literal[] {
  const sourceFile = text === undefined ? parse(file) : ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: Literal[] = [];
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
    } else if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken && ts.isStringLiteral(node.right)) {
      found.push({ text: node.right.text, kind: "fallback", where: where(node) });
    } else if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === "split" && node.arguments[0] !== undefined && ts.isStringLiteral(node.arguments[0])) {
      // `image.split("@")` is imageParts' job; `repo.split("/")` is splitRepository's (an action's `uses` or an apiVersion is neither).
      const separator = node.arguments[0].text;
      if (separator === "@" && /image/i.test(node.expression.expression.getText(sourceFile))) found.push({ text: "image-reference parser", kind: "parser", where: where(node) });
      if (separator === "/" && /repo/i.test(node.expression.expression.getText(sourceFile))) found.push({ text: "owner/name split", kind: "parser", where: where(node) });
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
  const hostKeys = GITHUB_KNOWN_HOSTS.map((line) => line.split(" ")[2] as string);
  const actionLists = new Set([ECR_PUSH_ACTIONS, ECR_PULL_ACTIONS, ECR_READ_ACTIONS, ECR_WRITE_ACTIONS, RESOURCE_WILDCARD_ACTIONS].map((list) => [...list].sort().join(",")));
  const body = (pattern: RegExp) => pattern.source.replace(/^\^/, "").replace(/\$$/, "");
  const host = escapeRegex(GITHUB_SSH_HOST);
  /** GitHub's host where a program or pack writes it: a URL's or git remote's host, the bare host, a known_hosts line. Not a Go module path (`github.com/org/mod`). */
  const githubHost = new RegExp(`(?::\\/\\/|@)${host}(?:$|[:/])|^${host}(?:$|\\s)`);

  /** What in a literal is a copy of a vocabulary fact, or undefined. */
  function copyIn(literal: Literal): string | undefined {
    if (literal.kind === "string") {
      if (hostKeys.some((key) => literal.text.includes(key))) return "GitHub host key";
      if ([STS_AUDIENCE, ECR_LOGIN_ACTION, SECRET_MASK, SOPS_KEY_TAG.key].includes(literal.text)) return "shared string";
      if (githubHost.test(literal.text)) return "GITHUB_SSH_HOST";
      if (literal.text.includes(FLUX_OPERATOR_IMAGE_REPOSITORY)) return "FLUX_OPERATOR_IMAGE_REPOSITORY";
    }
    if (literal.kind === "strings" && actionLists.has(literal.text)) return "ECR action list";
    if (literal.kind === "regex") {
      // The whole pattern, however its leading v is written (`v`, `v?` or none).
      if (/^\/\^(v\??)?\\d\+\\\.\\d\+\\\.\\d\+\$\/$/.test(literal.text)) return "EXACT_VERSION";
      if (literal.text.includes(body(RFC1123_LABEL))) return "RFC1123_LABEL";
      if (literal.text.includes(body(IMAGE_DIGEST))) return "IMAGE_DIGEST";
      // The same host in a regular expression: `github\.com`.
      if (literal.text.includes(host)) return "GITHUB_SSH_HOST";
      if (literal.text.includes(escapeRegex(FLUX_OPERATOR_IMAGE_REPOSITORY).replaceAll("/", "\\/"))) return "FLUX_OPERATOR_IMAGE_REPOSITORY";
    }
    if (literal.kind === "number" && literal.text === String(METRICS_PORT)) return "METRICS_PORT";
    if (literal.kind === "fallback" && literal.text === FLUX_NAMESPACE) return "FLUX_NAMESPACE";
    if (literal.kind === "parser") return literal.text;
    return undefined;
  }

  /**
   * Tests and their fixtures (test/) may write these facts out: an expected value written out is
   * what pins the program's output (a copy read from the constant would move with it), and an input
   * written out is what a user writes. Parsers, patterns, fallbacks are never expectations: a test
   * that parses an image or splits owner/name uses the vocabulary like the program.
   */
  const TEST_EXPECTATIONS = ["GitHub host key", "shared string", "ECR action list", "GITHUB_SSH_HOST", "FLUX_OPERATOR_IMAGE_REPOSITORY", "METRICS_PORT"];
  /** Outside test/, each file with the facts it may write itself and why. */
  const EXCEPTIONS: Record<string, { facts: string[]; why: string }> = {
    "tools/ci/delivery/github.mts": { facts: ["GITHUB_SSH_HOST"], why: "the delivery runtime runs under Node's type stripping alone and imports no .ts module; the fallback of GITHUB_SERVER_URL, which GitHub sets on every run" },
    "tools/ci/delivery/main.mts": { facts: ["GITHUB_SSH_HOST"], why: "as tools/ci/delivery/github.mts" },
  };
  const allowed = (file: string, fact: string): boolean =>
    (file.startsWith("test/") && TEST_EXPECTATIONS.includes(fact)) || (EXCEPTIONS[file]?.facts.includes(fact) ?? false);

  /** Every tracked TypeScript file of the repository but the vocabulary. */
  const tracked = (): string[] =>
    execFileSync("git", ["ls-files", "-z", "*.ts", "*.mts", "*.cts"], { cwd: root, encoding: "utf8" })
      .split("\0")
      .filter((file) => file !== "" && file !== VOCABULARY && fs.existsSync(path.join(root, file)));

  const copies = (files: readonly string[] = tracked(), read?: (file: string) => string): string[] => {
    const found: string[] = [];
    for (const file of files) {
      for (const literal of literalsOf(file, read?.(file))) {
        const fact = copyIn(literal);
        if (fact === undefined || allowed(file, fact)) continue;
        found.push(`${literal.where}: ${fact}: ${literal.text}`);
      }
    }
    return found;
  };

  it("finds no copy of a shared fact in any tracked TypeScript file: GitHub's host and host keys, the STS audience, the ECR login or an ECR action list, the exact-version, RFC 1123 and digest patterns, the Flux Operator image repository, the metrics port, the secret mask, the SOPS key tag, the Flux namespace as a fallback, an image-reference parser or an owner/name split", () => {
    expect(copies()).toEqual([]);
  });

  it("would have found each copy this check was widened for", () => {
    const planted: Record<string, string> = {
      "components/k8s/flux-instance.ts": "export const url = (repo: string) => `ssh://git@github.com/${repo}.git`;",
      "components/k8s/notifications.ts": "export const address = (repo: string) => `https://github.com/${repo}`;",
      "policies/k8s-objects.ts": "export const re = /^(?:ssh:\\/\\/)?(?:[\\w.-]+@)?github\\.com[:/]([\\w.-]+)$/i;",
      "policies/flux-reconciler.ts": [
        "const FLUX_IMAGE = /^ghcr\\.io\\/controlplaneio-fluxcd\\/flux-operator$/;",
        "function imageRepository(image: string): string { const name = image.split(\"@\")[0] ?? \"\"; return name; }",
      ].join("\n"),
      "components/config/schema.ts": "const OPERATOR_IMAGE_REPOSITORY = \"ghcr.io/controlplaneio-fluxcd/flux-operator\";",
      "tools/build/vendor-flux-operator.ts": "export const ok = (v: string) => /^v\\d+\\.\\d+\\.\\d+$/.test(v);",
      "components/config/formats.ts": "export const ref = /^[a-z0-9]+(@sha256:[a-f0-9]{64})?$/;",
      "tools/bench/main.ts": "export const owner = (template: { repo: string }) => String(template.repo).split(\"/\")[0];",
      "test/support/reconciler.ts": "export const secretNameOf = (repo: string) => `flux-${repo.split(\"/\")[1]}`;",
      "test/support/workflow-sim/events.ts": "export function o(repository: string) { const [owner] = repository.split(\"/\"); return owner; }",
      "e2e/lib/controllers.ts": "export const ns = (namespace?: string) => namespace ?? \"flux-system\";",
    };
    const found = copies(Object.keys(planted), (file) => planted[file] as string);
    expect(found.map((line) => line.replace(/:\d+: /, ": ").split(": ").slice(0, 2).join(": "))).toEqual([
      "components/k8s/flux-instance.ts: GITHUB_SSH_HOST",
      "components/k8s/notifications.ts: GITHUB_SSH_HOST",
      "policies/k8s-objects.ts: GITHUB_SSH_HOST",
      "policies/flux-reconciler.ts: FLUX_OPERATOR_IMAGE_REPOSITORY",
      "policies/flux-reconciler.ts: image-reference parser",
      "components/config/schema.ts: FLUX_OPERATOR_IMAGE_REPOSITORY",
      "tools/build/vendor-flux-operator.ts: EXACT_VERSION",
      "components/config/formats.ts: IMAGE_DIGEST",
      "tools/bench/main.ts: owner/name split",
      "test/support/reconciler.ts: owner/name split",
      "test/support/workflow-sim/events.ts: owner/name split",
      "e2e/lib/controllers.ts: FLUX_NAMESPACE",
    ]);
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
