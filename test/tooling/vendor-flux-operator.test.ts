// The vendored Flux Operator CRDs: what the manifest records matches the files, and the bump command
// (`npm run vendor:flux-operator -- vX.Y.Z`) reproduces them from the release's Go module.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadAll } from "js-yaml";
import { describe, expect, it, vi } from "vitest";
import { goModDownload, main, sha256, vendorRelease, type VendorManifest } from "../../tools/build/vendor-flux-operator";

const root = path.resolve(__dirname, "..", "..");
const vendorRoot = path.join(root, "vendor", "flux-operator");
const manifest = JSON.parse(fs.readFileSync(path.join(vendorRoot, "manifest.json"), "utf8")) as VendorManifest;

/** A stand-in for a release's Go module: `config/crd/kustomization.yaml` and its bases. */
function fakeModule(version: string, crds: Record<string, string>): { Dir: string; Sum: string; Version: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flux-operator-module-"));
  fs.mkdirSync(path.join(dir, "config", "crd", "bases"), { recursive: true });
  for (const [file, content] of Object.entries(crds)) fs.writeFileSync(path.join(dir, "config", "crd", "bases", file), content);
  const resources = Object.keys(crds).map((file) => `- bases/${file}`);
  fs.writeFileSync(path.join(dir, "config", "crd", "kustomization.yaml"), ["resources:", ...resources, ""].join("\n"));
  fs.mkdirSync(path.join(dir, "config", "manager"), { recursive: true });
  fs.writeFileSync(path.join(dir, "config", "manager", "deployment.yaml"), "kind: Deployment\n");
  return { Dir: dir, Sum: "h1:fake=", Version: version };
}

describe("vendored Flux Operator CRDs", () => {
  it("records, for every vendored file, its upstream URL at the release tag and its sha256, and holds nothing else", () => {
    expect(manifest.repository).toBe("controlplaneio-fluxcd/flux-operator");
    expect(manifest.module).toBe(`github.com/controlplaneio-fluxcd/flux-operator@${manifest.version}`);
    expect(manifest.moduleSum).toMatch(/^h1:[A-Za-z0-9+/]{43}=$/);
    expect(fs.readdirSync(vendorRoot).sort()).toEqual(["manifest.json", manifest.version]);
    expect(fs.readdirSync(path.join(vendorRoot, manifest.version)).sort()).toEqual([...manifest.files.map((f) => f.file), "reference"].sort());
    expect(manifest.references.map((r) => [r.file, r.upstreamPath])).toEqual([["reference/deployment.yaml", "config/manager/deployment.yaml"]]);
    expect(fs.readdirSync(path.join(vendorRoot, manifest.version, "reference"))).toEqual(["deployment.yaml"]);
    for (const entry of manifest.references) {
      expect(sha256(fs.readFileSync(path.join(vendorRoot, manifest.version, entry.file))), entry.file).toBe(entry.sha256);
      expect(entry.url).toBe(`https://raw.githubusercontent.com/controlplaneio-fluxcd/flux-operator/${manifest.version}/${entry.upstreamPath}`);
    }
    for (const entry of manifest.files) {
      const content = fs.readFileSync(path.join(vendorRoot, manifest.version, entry.file));
      expect(sha256(content), entry.file).toBe(entry.sha256);
      expect(entry.upstreamPath).toBe(`config/crd/bases/${entry.file}`);
      expect(entry.url).toBe(`https://raw.githubusercontent.com/controlplaneio-fluxcd/flux-operator/${manifest.version}/config/crd/bases/${entry.file}`);
      const docs = loadAll(content.toString("utf8")) as { kind: string; spec: { group: string } }[];
      expect(docs.map((d) => [d.kind, d.spec.group])).toEqual([["CustomResourceDefinition", "fluxcd.controlplane.io"]]);
    }
  });

  it("vendors a release from its module: upstream's CRD list in order, hashes recorded, other releases removed", () => {
    const target = fs.mkdtempSync(path.join(os.tmpdir(), "vendor-"));
    fs.mkdirSync(path.join(target, "v0.1.0"));
    fs.writeFileSync(path.join(target, "v0.1.0", "old.yaml"), "old");
    const module = fakeModule("v0.2.0", { "b.yaml": "kind: B\n", "a.yaml": "kind: A\n" });
    const written = vendorRelease(target, "v0.2.0", module);
    expect(written).toEqual({
      repository: "controlplaneio-fluxcd/flux-operator",
      version: "v0.2.0",
      module: "github.com/controlplaneio-fluxcd/flux-operator@v0.2.0",
      moduleSum: "h1:fake=",
      files: ["b.yaml", "a.yaml"].map((file) => ({
        file,
        upstreamPath: `config/crd/bases/${file}`,
        url: `https://raw.githubusercontent.com/controlplaneio-fluxcd/flux-operator/v0.2.0/config/crd/bases/${file}`,
        sha256: sha256(`kind: ${file[0]?.toUpperCase()}\n`),
      })),
      references: [
        {
          file: "reference/deployment.yaml",
          upstreamPath: "config/manager/deployment.yaml",
          url: "https://raw.githubusercontent.com/controlplaneio-fluxcd/flux-operator/v0.2.0/config/manager/deployment.yaml",
          sha256: sha256("kind: Deployment\n"),
        },
      ],
    });
    expect(fs.readdirSync(target).sort()).toEqual(["manifest.json", "v0.2.0"]);
    expect(JSON.parse(fs.readFileSync(path.join(target, "manifest.json"), "utf8"))).toEqual(written);
    expect(fs.readFileSync(path.join(target, "v0.2.0", "a.yaml"), "utf8")).toBe("kind: A\n");
    expect(() => vendorRelease(target, "v0.3.0", module)).toThrow("asked for v0.3.0, the module download reports v0.2.0");
    fs.writeFileSync(path.join(module.Dir, "config", "crd", "kustomization.yaml"), "resources:\n- ../../go.mod\n");
    expect(() => vendorRelease(target, "v0.2.0", module)).toThrow("config/crd/kustomization.yaml of v0.2.0 points outside config/crd: ../../go.mod");
  });

  it("refuses a malformed version with usage and exit 2", async () => {
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      expect(await main(["0.58.1"])).toBe(2);
      expect(await main([])).toBe(2);
      expect(await main(["v0.58.1", "extra"])).toBe(2);
      expect(stderr.mock.calls.map((call) => call[0])).toEqual(Array(3).fill("usage: npm run vendor:flux-operator -- vX.Y.Z\n"));
    } finally {
      stderr.mockRestore();
    }
  });

  // Needs Go and the module in its cache, served as a file:// proxy with no checksum-database
  // lookup (no network; the recorded h1: hash is compared instead); where either is missing, the
  // hashes above still tie the files to the manifest, and the manifest to upstream.
  const offlineProxy = (() => {
    try {
      const cache = `file://${execFileSync("go", ["env", "GOMODCACHE"], { encoding: "utf8" }).trim()}/cache/download`;
      execFileSync("go", ["mod", "download", "-json", manifest.module], { cwd: os.tmpdir(), env: { ...process.env, GOPROXY: cache, GOSUMDB: "off" }, stdio: "pipe" });
      return cache;
    } catch {
      return undefined;
    }
  })();
  it.skipIf(offlineProxy === undefined)("re-vendoring the pinned release from its Go module reproduces the committed files and manifest", () => {
    const saved = { GOPROXY: process.env.GOPROXY, GOSUMDB: process.env.GOSUMDB };
    process.env.GOPROXY = offlineProxy;
    process.env.GOSUMDB = "off";
    try {
      const target = fs.mkdtempSync(path.join(os.tmpdir(), "revendor-"));
      const again = vendorRelease(target, manifest.version, goModDownload(manifest.version));
      expect(again).toEqual(manifest);
      for (const entry of [...manifest.files, ...manifest.references]) {
        expect(fs.readFileSync(path.join(target, manifest.version, entry.file))).toEqual(fs.readFileSync(path.join(vendorRoot, manifest.version, entry.file)));
      }
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});
