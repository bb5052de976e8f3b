/** The e2e's verdict: the table it prints and whether the run succeeded. */

export interface Outcome {
  readonly name: string;
  /** BLOCKED: the scenario cannot run on this machine (a piece it needs cannot be built here). */
  readonly result: "PASS" | "FAIL" | "BLOCKED";
  readonly seconds: number;
  readonly detail: string;
}

/**
 * True when every scenario passed; with `allowBlocked`, BLOCKED ones are accepted too, never
 * counted as passed. A run in which nothing passed (setup failed, or everything was blocked) fails.
 */
export function succeeded(outcomes: readonly Outcome[], allowBlocked: boolean): boolean {
  const accepted = new Set<Outcome["result"]>(allowBlocked ? ["PASS", "BLOCKED"] : ["PASS"]);
  return outcomes.some((o) => o.result === "PASS") && outcomes.every((o) => accepted.has(o.result));
}

/** The table: one row per scenario, then the times and the closing "N passed, N failed" line. */
export function table(outcomes: readonly Outcome[], buildSeconds: number, total: number): string {
  const width = Math.max(8, ...outcomes.map((o) => o.name.length));
  const lines = [`${"scenario".padEnd(width)}  result  seconds  detail`];
  for (const o of outcomes) lines.push(`${o.name.padEnd(width)}  ${o.result.padEnd(6)}  ${String(o.seconds).padStart(7)}  ${o.detail.replace(/\s+/g, " ").slice(0, 400)}`);
  const count = (r: Outcome["result"]): number => outcomes.filter((o) => o.result === r).length;
  const blocked = count("BLOCKED");
  lines.push("", `build ${buildSeconds}s, total ${total}s`);
  if (blocked > 0) lines.push(`skipped: ${blocked} BLOCKED scenario(s) cannot run on this machine (see detail); they did not pass`);
  lines.push(`${count("PASS")} passed, ${count("FAIL")} failed${blocked > 0 ? `, ${blocked} skipped` : ""}`);
  return lines.join("\n") + "\n";
}
