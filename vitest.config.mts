import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Workers are reused across files: each loads the Pulumi SDKs once instead of once per file
    // (a second per file). Safe because every engine run resets the mock runtime, its config and
    // its monitor, and no test replaces a module.
    pool: "forks",
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
