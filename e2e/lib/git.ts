/**
 * The Git side of the e2e: ed25519 keys made by ssh-keygen (the same OpenSSH format the program's
 * tls.PrivateKey `privateKeyOpenssh` output has), bare repositories served over SSH by the e2e's
 * Git server, and working copies the scenarios commit from as a developer would.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { alive, start, stop } from "./procs";
import { must, seen, waitFor } from "./util";

export interface KeyPair {
  readonly privateKey: string;
  readonly publicKey: string;
  readonly file: string;
}

export async function ed25519(dir: string, name: string): Promise<KeyPair> {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  await must("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", file]);
  return { file, privateKey: fs.readFileSync(file, "utf8"), publicKey: fs.readFileSync(`${file}.pub`, "utf8").trim() };
}

/** `<type> <base64>` of a public key line, without its comment. */
export const keyBlob = (publicKey: string): string => publicKey.split(/\s+/).slice(0, 2).join(" ");

const GIT_ENV = {
  GIT_AUTHOR_NAME: "e2e developer",
  GIT_AUTHOR_EMAIL: "developer@example.com",
  GIT_COMMITTER_NAME: "e2e developer",
  GIT_COMMITTER_EMAIL: "developer@example.com",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
};

export const git = (cwd: string, ...args: string[]): Promise<string> => must("git", args, { cwd, env: GIT_ENV });

/**
 * A repository `owner/name` served by the Git server, with a working copy to commit from. The
 * working copy pushes to the bare repository on disk (the developer's side is not under test).
 */
export class Repo {
  readonly bare: string;
  readonly work: string;

  constructor(root: string, readonly slug: string) {
    this.bare = path.join(root, "repos", `${slug}.git`);
    this.work = path.join(root, "work", slug);
  }

  async init(branches: Record<string, Record<string, string>>): Promise<void> {
    fs.mkdirSync(this.bare, { recursive: true });
    await git(this.bare, "init", "--bare", "-q", "-b", Object.keys(branches)[0] ?? "main");
    fs.mkdirSync(this.work, { recursive: true });
    await git(this.work, "init", "-q");
    await git(this.work, "remote", "add", "origin", this.bare);
    // Every later branch starts from the first one, as environment branches do: a promotion merges
    // one into the next, which needs a common history.
    let first: string | undefined;
    for (const [branch, files] of Object.entries(branches)) {
      await git(this.work, "checkout", "-q", ...(first ? ["-b", branch, first] : ["--orphan", branch]));
      await git(this.work, "rm", "-rfq", "--ignore-unmatch", ".");
      this.write(files);
      await git(this.work, "add", "-A");
      await git(this.work, "commit", "-q", "--allow-empty", "-m", `${branch}: initial content`);
      await git(this.work, "push", "-q", "origin", `HEAD:refs/heads/${branch}`);
      first ??= branch;
    }
  }

  write(files: Record<string, string>): void {
    for (const [file, content] of Object.entries(files)) {
      const full = path.join(this.work, file);
      fs.mkdirSync(path.dirname(full), { recursive: true });
      fs.writeFileSync(full, content);
    }
  }

  private async checkout(branch: string): Promise<void> {
    // A new orphan branch has no commit to check out yet; it is already current.
    if ((await git(this.work, "symbolic-ref", "--short", "HEAD")).trim() !== branch) await git(this.work, "checkout", "-q", branch);
  }

  /** Commits everything in the working copy and pushes `branch`; returns the commit id. */
  async commit(message: string, branch: string): Promise<string> {
    await this.checkout(branch);
    await git(this.work, "add", "-A");
    await git(this.work, "commit", "-q", "-m", message);
    await git(this.work, "push", "-q", "origin", `HEAD:refs/heads/${branch}`);
    return (await git(this.work, "rev-parse", "HEAD")).trim();
  }

  /** Creates `branch` at the head of `from` (no push: the first commit pushes it). */
  async branchFrom(branch: string, from: string): Promise<void> {
    await this.checkout(from);
    await git(this.work, "checkout", "-q", "-B", branch);
  }

  /** Merges `source` into `target` with a merge commit, as GitHub's "Create a merge commit" does; pushes `target`. */
  async merge(source: string, target: string, message: string): Promise<string> {
    await this.checkout(target);
    await git(this.work, "merge", "-q", "--no-ff", "-m", message, source);
    await git(this.work, "push", "-q", "origin", `HEAD:refs/heads/${target}`);
    return (await git(this.work, "rev-parse", "HEAD")).trim();
  }

  /** The content of `file` at the head of `branch`. */
  async show(branch: string, file: string): Promise<string> {
    return git(this.work, "show", `${branch}:${file}`);
  }

  async revertHead(branch: string): Promise<string> {
    await this.checkout(branch);
    await git(this.work, "revert", "--no-edit", "HEAD");
    await git(this.work, "push", "-q", "origin", `HEAD:refs/heads/${branch}`);
    return (await git(this.work, "rev-parse", "HEAD")).trim();
  }
}

export interface GitServerOptions {
  readonly bin: string;
  readonly root: string;
  readonly port: number;
  readonly hostKeyFile: string;
  readonly authorizedKeys: readonly string[];
  readonly logDir: string;
}

/** Starts the Git server under `name` and waits until it accepts TCP connections. */
export async function startGitServer(name: string, options: GitServerOptions): Promise<void> {
  const authorized = path.join(options.root, `${name}.authorized_keys`);
  fs.writeFileSync(authorized, options.authorizedKeys.join("\n") + "\n");
  const logFile = path.join(options.logDir, `${name}.log`);
  // The log is appended to across restarts: only what this start wrote counts.
  const offset = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
  start(name, options.bin, [
    `-listen=127.0.0.1:${options.port}`,
    `-repos=${path.join(options.root, "repos")}`,
    `-host-key=${options.hostKeyFile}`,
    `-authorized-keys=${authorized}`,
  ], { logDir: options.logDir });
  await waitFor(`the Git server (${name}) to listen on 127.0.0.1:${options.port}`, 30_000, () => {
    if (!alive(name)) throw new Error(`${name} exited; see ${name}.log`);
    const log = fs.readFileSync(logFile).subarray(offset).toString("utf8");
    return Promise.resolve(log.includes(`on 127.0.0.1:${options.port}`) ? true : seen("no 'serving' line in its log yet"));
  });
}

export const stopGitServer = (name: string): Promise<void> => stop(name);
