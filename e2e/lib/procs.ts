/**
 * Processes the e2e starts: each one's output goes to its own log file, and every one of them is
 * stopped when the run ends, whether it passed, failed or was interrupted (SIGINT/SIGTERM).
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

interface Managed {
  readonly name: string;
  readonly child: ChildProcess;
  exited: boolean;
}

const running: Managed[] = [];

/** Starts `command` with its output in `<logDir>/<name>.log`. */
export function start(name: string, command: string, args: readonly string[], options: { logDir: string; env?: NodeJS.ProcessEnv; cwd?: string }): ChildProcess {
  const log = fs.openSync(path.join(options.logDir, `${name}.log`), "a");
  const child = spawn(command, [...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", log, log],
  });
  fs.closeSync(log);
  const managed: Managed = { name, child, exited: false };
  child.on("exit", () => {
    managed.exited = true;
  });
  child.on("error", () => {
    managed.exited = true;
  });
  running.push(managed);
  return child;
}

/** True while the process started under `name` (the latest one) is alive. */
export function alive(name: string): boolean {
  const managed = [...running].reverse().find((m) => m.name === name);
  return managed !== undefined && !managed.exited;
}

/** Stops one process: SIGTERM, then SIGKILL after `graceMs`. */
export async function stop(name: string, graceMs = 10_000): Promise<void> {
  const targets = running.filter((m) => m.name === name && !m.exited);
  await Promise.all(targets.map((m) => stopOne(m, graceMs)));
}

async function stopOne(managed: Managed, graceMs: number): Promise<void> {
  if (managed.exited) return;
  const done = new Promise<void>((resolve) => managed.child.once("exit", () => resolve()));
  managed.child.kill("SIGTERM");
  const timer = setTimeout(() => managed.child.kill("SIGKILL"), graceMs);
  await done;
  clearTimeout(timer);
}

/** Stops every process still running, the latest started first. */
export async function stopAll(graceMs = 10_000): Promise<void> {
  for (const managed of [...running].reverse()) await stopOne(managed, graceMs);
}

/** Last resort when the Node process exits without `stopAll` having run: kill what is left. */
export function killAllSync(): void {
  for (const managed of running) if (!managed.exited) managed.child.kill("SIGKILL");
}
