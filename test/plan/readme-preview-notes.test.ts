// The README's count of the advisory notes a first preview of prod shows (values only a provider
// knows), against the plan itself: a rule that can judge its resources at preview must not be there.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { main as plan } from "../../tools/plan/main";

const ROOT = path.resolve(__dirname, "..", "..");
const NUMBERS: Record<string, number> = { one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8 };

describe("README: notes on a first preview", () => {
  it("names exactly the rules prod's plan cannot judge at preview, with their count", async () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8").replace(/\s+/g, " ");
    const sentence = /its plan shows (\w+) such notes on a first preview: (.*?)\. On previews/.exec(readme);
    expect(sentence, "the README sentence").not.toBeNull();
    const listed = [...(sentence?.[2] ?? "").matchAll(/`([a-z0-9-]+)`( ×(\d))?/g)].flatMap((m) => Array<string>(Number(m[3] ?? 1)).fill(m[1] ?? ""));
    let text = "";
    expect(await plan(["--stack", "prod", "--json"], { cwd: ROOT, stdout: (t) => (text += t), stderr: () => {} })).toBe(0);
    const doc = JSON.parse(text) as { policyViolations: { policyName: string; message: string }[] };
    const notes = doc.policyViolations.filter((v) => v.message.includes("can't be known during preview")).map((v) => v.policyName);
    expect(listed.sort()).toEqual(notes.sort());
    expect(NUMBERS[sentence?.[1] ?? ""]).toBe(notes.length);
    expect(notes).not.toContain("sops-key-decrypt-only-controller");
  });
});
