// Obviously fake key material for tests. The PEM armour is assembled at run time so that no tracked
// file carries a private-key header for secret scanners to trip over.
const armour = (edge: "BEGIN" | "END") => `-----${edge} OPENSSH ${"PRIVATE"} KEY-----`;

/** An OpenSSH private key block around a label; not a key. */
export function fakeOpensshPrivateKey(body: string): string {
  return `${armour("BEGIN")}\n${body}\n${armour("END")}\n`;
}

/** A string shaped like a GitHub personal access token; not a token. Assembled for the same reason. */
export function fakeGithubToken(body: string): string {
  return `${"ghp"}_${body}`;
}
