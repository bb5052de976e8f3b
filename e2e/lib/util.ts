/** Small helpers of the e2e: bounded commands, bounded waits, loopback port checks. */
import { execFile } from "node:child_process";
import * as net from "node:net";

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/** Runs a command (no shell) for at most `timeoutMs`; never throws for a non-zero exit. */
export function run(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(
      command,
      [...args],
      { cwd: options.cwd, env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        const killed = error && (error as { killed?: boolean }).killed ? `\n(killed after ${options.timeoutMs ?? 60_000} ms)` : "";
        resolve({ stdout: String(stdout), stderr: String(stderr) + killed, code });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Like {@link run}, but a non-zero exit throws with the command and its stderr. */
export async function must(command: string, args: readonly string[], options: Parameters<typeof run>[2] = {}): Promise<string> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited ${result.code}: ${(result.stderr || result.stdout).trim()}`);
  }
  return result.stdout;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` every `intervalMs` until it returns a value other than undefined, for at most
 * `timeoutMs`; then fails naming what it waited for and the last thing it saw.
 */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = "nothing yet";
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what} (last seen: ${last})`);
    await sleep(intervalMs);
  }
}

/** Records what a probe saw last, for {@link waitFor}'s timeout message. */
export function seen(message: string): never {
  throw new Error(message);
}

/** Why `port` on 127.0.0.1 cannot be listened on now (the error code), or undefined when it is free. */
export function portTaken(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(undefined)));
  });
}

/**
 * The first base from 24100 in steps of 100 whose `count` consecutive ports are all free, so two
 * e2e runs on one machine (two checkouts, CI beside a developer) do not collide.
 */
export async function freePortBase(count: number): Promise<number> {
  for (let base = 24_100; base <= 26_000; base += 100) {
    let free = true;
    for (let p = base; p < base + count && free; p++) free = (await portTaken(p)) === undefined;
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free loopback ports from 24100 to 26099; set E2E_PORT_BASE to a free base port`);
}

/** Fails when `port` on 127.0.0.1 is taken, naming what needed it. */
export async function assertPortFree(port: number, what: string): Promise<void> {
  const taken = await portTaken(port);
  if (taken !== undefined) throw new Error(`127.0.0.1:${port} (${what}) is not free (${taken}); set E2E_PORT_BASE to another base port`);
}
