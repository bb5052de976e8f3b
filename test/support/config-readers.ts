/**
 * Which files read the stack's config, its metadata or the process environment, found by the
 * TypeScript type checker rather than by text: every identifier is resolved to its declaration
 * (through renamed imports, namespace aliases and re-exports), so `new Config()` after
 * `import { Config } from "@pulumi/pulumi"`, `p.getProject()` or `import { env } from "node:process"`
 * count like `new pulumi.Config()`.
 */
import * as path from "node:path";
import ts from "typescript";

/** Declarations in @pulumi/pulumi that read config or the stack's identity: the files, or a name in a file. */
const PULUMI_READERS: readonly { readonly file: RegExp; readonly names?: readonly string[] }[] = [
  // class Config, and the runtime's getConfig/allConfig/setConfig family.
  { file: /@pulumi\/pulumi\/config\.d\.ts$/ },
  { file: /@pulumi\/pulumi\/runtime\/config\.d\.ts$/ },
  // getStack, getProject, getOrganization, getRootDirectory.
  { file: /@pulumi\/pulumi\/metadata\.d\.ts$/ },
];

function readsWhat(declaration: ts.Declaration, name: string): string | undefined {
  const file = declaration.getSourceFile().fileName.split(path.sep).join("/");
  for (const reader of PULUMI_READERS) {
    if (reader.file.test(file) && (reader.names === undefined || reader.names.includes(name))) return `${name} (@pulumi/pulumi)`;
  }
  // process.env, and `env` imported from node:process: the property `env` of Node's Process.
  if (/@types\/node\//.test(file) && name === "env") {
    const owner = declaration.parent;
    if (owner && ts.isInterfaceDeclaration(owner) && owner.name.text === "Process") return "process.env";
  }
  return undefined;
}

/** For each of `files` (absolute paths), what it reads, as "<file relative to base>: <what>", sorted. */
export function configReaders(base: string, files: readonly string[]): string[] {
  const options: ts.CompilerOptions = {
    noEmit: true,
    allowImportingTsExtensions: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: ["node"],
  };
  // Every other package's declarations are read as empty modules: a reader's declaration lives in
  // @pulumi/pulumi or Node's types, and parsing the cloud SDKs' declarations would cost seconds.
  const host = ts.createCompilerHost(options);
  const roots = new Set(files);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, language, onError, create) => {
    const name = fileName.split(path.sep).join("/");
    if (!roots.has(fileName) && /\/node_modules\//.test(name) && !/\/node_modules\/(?:@pulumi\/pulumi|@types\/node)\//.test(name)) {
      return ts.createSourceFile(fileName, "export {};", language);
    }
    return getSourceFile(fileName, language, onError, create);
  };
  const program = ts.createProgram({ rootNames: [...files], options, host });
  const checker = program.getTypeChecker();
  const candidates = new Set(["env"]);
  for (const source of program.getSourceFiles()) {
    const name = source.fileName.split(path.sep).join("/");
    if (!PULUMI_READERS.some((reader) => reader.file.test(name))) continue;
    for (const statement of source.statements) {
      const declared = (statement as { name?: ts.Node }).name;
      if (declared && ts.isIdentifier(declared)) candidates.add(declared.text);
    }
  }
  const found = new Set<string>();
  for (const file of files) {
    const source = program.getSourceFile(file);
    if (!source) throw new Error(`${file}: not in the program`);
    const visit = (node: ts.Node): void => {
      // Only names a reader's declaration can carry are resolved (resolving every identifier would
      // check the SDKs' declarations too); a renamed import still names the original here.
      if ((ts.isIdentifier(node) || ts.isStringLiteral(node)) && candidates.has(node.text)) {
        let symbol = checker.getSymbolAtLocation(node);
        if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
        for (const declaration of symbol?.declarations ?? []) {
          const what = readsWhat(declaration, symbol?.name ?? "");
          if (what) found.add(`${path.relative(base, file).split(path.sep).join("/")}: ${what}`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return [...found].sort();
}
