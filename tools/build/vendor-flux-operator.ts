/**
 * `npm run vendor:flux-operator -- vX.Y.Z`: vendors the Flux Operator's CRDs of one release into
 * `vendor/flux-operator/<version>/`, unmodified, and records where each came from and its sha256 in
 * `vendor/flux-operator/manifest.json`. The previous release's folder is removed: both stacks run
 * the one vendored release (a bump is a pull request to staging, promoted like everything else).
 *
 * The files come from the release's Go module (`go mod download`), which the Go checksum database
 * (sum.golang.org) vouches for; the module's `h1:` hash is recorded next to the files' own hashes.
 * The CRDs are those upstream's `config/crd/kustomization.yaml` lists, in its order. Upstream's
 * manager Deployment is vendored too, under `reference/`, never applied: the tests hold the
 * Deployment declared in components/k8s/flux-operator.ts to it, so a bump shows what upstream changed.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { load } from "js-yaml";
import { EXACT_VERSION, FLUX_OPERATOR_IMAGE_REPOSITORY } from "../../policies/vocabulary";

export const MODULE = "github.com/controlplaneio-fluxcd/flux-operator";
export const REPOSITORY = "controlplaneio-fluxcd/flux-operator";
/** Where upstream keeps the CRDs, and the kustomization listing them. */
export const CRD_DIR = "config/crd";
/** Upstream files vendored for comparison only (`reference/` in the vendored folder). */
export const REFERENCE_FILES = ["config/manager/deployment.yaml"] as const;

/** One vendored file: its name here, its path and URL upstream, its sha256. */
export interface VendoredFile {
  readonly file: string;
  readonly upstreamPath: string;
  readonly url: string;
  readonly sha256: string;
}

/** `vendor/flux-operator/manifest.json`. */
export interface VendorManifest {
  readonly repository: string;
  readonly version: string;
  readonly module: string;
  /** The module's hash as go.sum and sum.golang.org record it. */
  readonly moduleSum: string;
  /** The CRDs, applied by the program. */
  readonly files: readonly VendoredFile[];
  /** Upstream files the tests compare the program with (under `reference/`); never applied. */
  readonly references: readonly VendoredFile[];
}

/** What `go mod download -json` reports about a module. */
export interface DownloadedModule {
  readonly Dir: string;
  readonly Sum: string;
  readonly Version: string;
}

export function sha256(content: Buffer | string): string {
  return createHash("sha256").update(content).digest("hex");
}

/** Downloads (or finds in the module cache) the module with the Go toolchain. */
export function goModDownload(version: string): DownloadedModule {
  let out: string;
  try {
    out = execFileSync("go", ["mod", "download", "-json", `${MODULE}@${version}`], { encoding: "utf8", cwd: os.tmpdir() });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stdout?: string };
    if (e.code === "ENOENT") throw new Error("the Go toolchain (go) is needed to download the module: install it from https://go.dev/dl/");
    // go prints its JSON, with an Error field, on stdout even when it fails.
    const reported = e.stdout ? (JSON.parse(e.stdout) as { Error?: string }).Error : undefined;
    throw new Error(`go mod download ${MODULE}@${version} failed: ${reported ?? e.message}`);
  }
  return JSON.parse(out) as DownloadedModule;
}

/**
 * Copies the release's CRDs from the module at `module.Dir` into `vendorRoot/<version>/`, writes the
 * manifest and removes other releases' folders. Returns the manifest.
 */
export function vendorRelease(vendorRoot: string, version: string, module: DownloadedModule): VendorManifest {
  if (module.Version !== version) throw new Error(`asked for ${version}, the module download reports ${module.Version}`);
  const kustomization = load(fs.readFileSync(path.join(module.Dir, CRD_DIR, "kustomization.yaml"), "utf8")) as { resources?: unknown };
  const resources = kustomization.resources;
  if (!Array.isArray(resources) || resources.length === 0 || !resources.every((r): r is string => typeof r === "string")) {
    throw new Error(`${CRD_DIR}/kustomization.yaml of ${version} lists no resources`);
  }
  const target = path.join(vendorRoot, version);
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(target, { recursive: true });
  const files = resources.map((resource): VendoredFile => {
    const upstreamPath = path.posix.join(CRD_DIR, resource);
    if (!upstreamPath.startsWith(`${CRD_DIR}/`)) throw new Error(`${CRD_DIR}/kustomization.yaml of ${version} points outside ${CRD_DIR}: ${resource}`);
    const content = fs.readFileSync(path.join(module.Dir, upstreamPath));
    const file = path.posix.basename(upstreamPath);
    fs.writeFileSync(path.join(target, file), content);
    return { file, upstreamPath, url: `https://raw.githubusercontent.com/${REPOSITORY}/${version}/${upstreamPath}`, sha256: sha256(content) };
  });
  fs.mkdirSync(path.join(target, "reference"));
  const references = REFERENCE_FILES.map((upstreamPath): VendoredFile => {
    const content = fs.readFileSync(path.join(module.Dir, upstreamPath));
    const file = `reference/${path.posix.basename(upstreamPath)}`;
    fs.writeFileSync(path.join(target, file), content);
    return { file, upstreamPath, url: `https://raw.githubusercontent.com/${REPOSITORY}/${version}/${upstreamPath}`, sha256: sha256(content) };
  });
  const manifest: VendorManifest = { repository: REPOSITORY, version, module: `${MODULE}@${version}`, moduleSum: module.Sum, files, references };
  for (const entry of fs.readdirSync(vendorRoot, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name !== version) fs.rmSync(path.join(vendorRoot, entry.name), { recursive: true });
  }
  fs.writeFileSync(path.join(vendorRoot, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

export function main(argv: readonly string[]): Promise<number> {
  const [version, ...rest] = argv;
  // An exact release, tagged with its leading v as upstream tags it.
  if (version === undefined || rest.length > 0 || !version.startsWith("v") || !EXACT_VERSION.test(version)) {
    process.stderr.write("usage: npm run vendor:flux-operator -- vX.Y.Z\n");
    return Promise.resolve(2);
  }
  const vendorRoot = path.resolve(process.cwd(), "vendor", "flux-operator");
  const manifest = vendorRelease(vendorRoot, version, goModDownload(version));
  process.stdout.write(
    [
      `vendored ${manifest.files.length} CRDs of ${manifest.module} (${manifest.moduleSum}) into vendor/flux-operator/${version}/`,
      `next: set reconciler.operator.version to ${version} in every Pulumi.<stack>.yaml, with the image of that release`,
      `(${FLUX_OPERATOR_IMAGE_REPOSITORY}:${version}@sha256:<digest>; \`crane digest\` gives the digest),`,
      "and check the operator Deployment in components/k8s/flux-operator.ts against that release's config/manager.",
      "",
    ].join("\n"),
  );
  return Promise.resolve(0);
}
