// The e2e's verdict: BLOCKED is accepted only when asked for, never counted as passed; a failure always fails.
import { describe, expect, it } from "vitest";
import { succeeded, table, type Outcome } from "../../e2e/lib/outcome";

const o = (name: string, result: Outcome["result"]): Outcome => ({ name, result, seconds: 1, detail: result === "BLOCKED" ? "not run: not served" : "" });

describe("e2e verdict", () => {
  it("succeeds only when every scenario passed, unless BLOCKED ones are allowed", () => {
    expect(succeeded([o("1", "PASS"), o("2", "PASS")], false)).toBe(true);
    expect(succeeded([o("1", "PASS"), o("2b", "BLOCKED")], false)).toBe(false);
    expect(succeeded([o("1", "PASS"), o("2b", "BLOCKED")], true)).toBe(true);
  });

  it("fails on any FAIL, with or without BLOCKED allowed, and when nothing passed", () => {
    expect(succeeded([o("1", "PASS"), o("2b", "BLOCKED"), o("4", "FAIL")], true)).toBe(false);
    expect(succeeded([o("2b", "BLOCKED"), o("3b", "BLOCKED")], true)).toBe(false);
    expect(succeeded([], true)).toBe(false);
  });

  it("closes with the counts, BLOCKED as skipped and said not to have passed", () => {
    const text = table([o("1 sync", "PASS"), o("2b webhook", "BLOCKED"), o("4 revert", "FAIL")], 3, 90);
    expect(text.trimEnd().split("\n").slice(-3)).toEqual([
      "build 3s, total 90s",
      "skipped: 1 BLOCKED scenario(s) cannot run on this machine (see detail); they did not pass",
      "1 passed, 1 failed, 1 skipped",
    ]);
    expect(table([o("1 sync", "PASS")], 0, 1).trimEnd().split("\n").at(-1)).toBe("1 passed, 0 failed");
  });
});
