import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { loadStackConfig, runProgram } from "../tools/engine";

const root = path.resolve(__dirname, "..");

describe("smoke", () => {
  it("runs", async () => {
    const stack = loadStackConfig(root, "staging");
    const result = await runProgram({ stack: "staging", config: stack.config, secretKeys: stack.secretKeys, program: path.join(root, "index.ts") });
    for (const r of result.resources) console.log(r.type, r.name, JSON.stringify(r.inputs).slice(0, 300));
    console.log(JSON.stringify(result.outputs, null, 1));
  });
});
