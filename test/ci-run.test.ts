// .ci/run installs the pinned Node 24 only when it is missing or another version, not on every run.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const root = path.resolve(__dirname, "..");
const olderNode = ["/usr/bin/node", "/bin/node"].find((file) => fs.existsSync(file) && spawnSync(file, ["-p", "process.versions.node.split('.')[0]"], { encoding: "utf8" }).stdout.trim() < "24");

describe.skipIf(olderNode === undefined)(".ci/run on a machine whose Node is older than 24", () => {
  it("reuses the pinned Node already installed and only runs npm ci and npm test", ({ onTestFinished }) => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "ci-run-"));
    onTestFinished(() => fs.rmSync(bin, { recursive: true, force: true }));
    const calls = path.join(bin, "calls.txt");
    // npm records its arguments instead of installing or testing; node is the machine's older one.
    fs.writeFileSync(path.join(bin, "npm"), `#!/bin/sh\necho "$*" >> "${calls}"\n`, { mode: 0o755 });
    fs.symlinkSync(olderNode as string, path.join(bin, "node"));
    const run = spawnSync("bash", [path.join(root, ".ci", "run")], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:/usr/bin:/bin` } });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(fs.readFileSync(calls, "utf8")).toBe("--version\nci --no-audit --no-fund\ntest\n");
  });
});
