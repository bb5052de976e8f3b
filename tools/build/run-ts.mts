// Runs a TypeScript command of this project: `node tools/build/run-ts.mts <entry.ts> [args...]`.
// The entry exports `main(argv): Promise<number>`; its result is the exit status.
import { runEntry } from "./bundle.mts";

const [entry, ...args] = process.argv.slice(2);
if (entry === undefined) {
  process.stderr.write("usage: node tools/build/run-ts.mts <entry.ts> [args...]\n");
  process.exitCode = 2;
} else {
  runEntry(entry, args);
}
