// `npm install` of a package.json without the network: a node_modules of symlinks into the
// project's installed node_modules, holding exactly the declared dependencies and what they need in
// turn (dependencies, optional dependencies and non-optional peers, as npm installs them), at the
// top level where the project has them hoisted. Run what is installed with node's
// --preserve-symlinks, or the links lead back into the project's node_modules.
import * as fs from "node:fs";
import * as path from "node:path";

interface Manifest {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const manifest = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as Manifest;

/** Where `name` resolves from the package at `dir`, inside `nodeModules`; undefined when not installed. */
function resolveFrom(nodeModules: string, dir: string, name: string): string | undefined {
  for (let at = dir; at === nodeModules || at.startsWith(`${nodeModules}${path.sep}`); at = path.dirname(at)) {
    const candidate = path.join(path.basename(at) === "node_modules" ? at : path.join(at, "node_modules"), name);
    if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
  }
  return undefined;
}

/** Installs `dir`'s dependencies from `nodeModules`; returns the top-level package names. */
export function installOffline(dir: string, nodeModules: string): string[] {
  const top = new Set<string>();
  const seen = new Set<string>();
  const visit = (pkgDir: string): void => {
    if (seen.has(pkgDir)) return;
    seen.add(pkgDir);
    const pkg = manifest(pkgDir);
    const optionalPeer = (name: string) => pkg.peerDependenciesMeta?.[name]?.optional === true && !pkg.dependencies?.[name] && !pkg.optionalDependencies?.[name];
    const names = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies }).filter((name) => !optionalPeer(name));
    for (const name of names) {
      const found = resolveFrom(nodeModules, pkgDir, name);
      if (found === undefined) continue; // an optional dependency for another platform
      if (found === path.join(nodeModules, name)) top.add(name);
      visit(found);
    }
  };
  for (const name of Object.keys(manifest(dir).dependencies ?? {})) {
    const found = path.join(nodeModules, name);
    if (!fs.existsSync(path.join(found, "package.json"))) throw new Error(`${name} is not installed in ${nodeModules}`);
    top.add(name);
    visit(found);
  }
  for (const name of top) {
    const link = path.join(dir, "node_modules", name);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(path.join(nodeModules, name), link, "dir");
  }
  return [...top].sort();
}
