#!/usr/bin/env node
// @ts-check
// Runs a project script on Node 24 LTS, the version this project targets.
//
// Where the running Node is already 24 or newer, the script runs in this very process (no extra
// start-up cost). Where it is older, a pinned Node 24 from the registry is installed once into
// tools/build/node24/node_modules (its own lockfile pins it) and the script is re-run there, with that
// Node first on PATH so every tool the script spawns runs on it too. Users who have Node 24 never
// download it. Written for old Node versions on purpose: plain CommonJS, no modern syntax (type
// checked as JavaScript, with JSDoc types). The scripts it runs are TypeScript that Node 24 runs as
// it is (type stripping); Node's on-disk compile cache keeps their stripped and compiled code, and the
// bytecode of every module they load (the Pulumi SDKs are thousands of files), between runs. It
// lives next to the dependencies, so a fresh `npm ci` starts it afresh.
"use strict";
var path = require("path");
var fs = require("fs");
var childProcess = require("child_process");

var REQUIRED_MAJOR = 24;
var here = __dirname;
var pinnedDir = path.join(here, "node24");
var pinnedBin = path.join(pinnedDir, "node_modules", ".bin");
var pinnedNode = path.join(pinnedBin, process.platform === "win32" ? "node.cmd" : "node");
var compileCache = path.join(here, "..", "..", "node_modules", ".cache", "gitops-platform", "v8");

/**
 * @param {string} message
 * @returns {never}
 */
function fail(message) {
  process.stderr.write("node24: " + message + "\n");
  process.exit(2);
}

var script = process.argv[2];
if (!script) fail("usage: node tools/build/node24.cjs <script> [args...]");
var scriptPath = path.resolve(script);
var args = process.argv.slice(3);

var major = Number(process.versions.node.split(".")[0]);
if (major >= REQUIRED_MAJOR) {
  process.argv = [process.argv[0] || process.execPath, scriptPath].concat(args);
  require("module").enableCompileCache(compileCache);
  require(scriptPath);
} else {
  runPinned();
}

/** Installs the pinned Node where it is missing and re-runs the script on it; exits with its status. */
function runPinned() {
  if (!fs.existsSync(pinnedNode)) {
    process.stderr.write(
      "node24: Node " + process.versions.node + " is older than " + REQUIRED_MAJOR +
        "; installing the pinned Node " + REQUIRED_MAJOR + " into tools/build/node24 (once)...\n"
    );
    var npm = process.platform === "win32" ? "npm.cmd" : "npm";
    var install = childProcess.spawnSync(
      npm,
      ["ci", "--prefix", pinnedDir, "--no-audit", "--no-fund", "--loglevel=error"],
      { stdio: ["ignore", process.stderr, "inherit"] }
    );
    if (install.status !== 0 || !fs.existsSync(pinnedNode)) {
      fail("could not install Node " + REQUIRED_MAJOR + " (npm ci in tools/build/node24 failed); install Node " +
        REQUIRED_MAJOR + " yourself, e.g. with nvm and the .nvmrc file");
    }
  }

  var env = Object.assign({}, process.env);
  env.PATH = pinnedBin + path.delimiter + (process.env.PATH || "");
  env.NODE_COMPILE_CACHE = env.NODE_COMPILE_CACHE || compileCache;
  // Node flags given to this launcher (e.g. heap sizing) apply to the re-run too.
  var result = childProcess.spawnSync(pinnedNode, process.execArgv.concat([scriptPath], args), { stdio: "inherit", env: env });
  if (result.error) fail(String(result.error.message));
  if (result.signal) process.kill(process.pid, result.signal);
  process.exit(result.status === null ? 1 : result.status);
}
