import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Workers are reused across files: each loads the Pulumi SDKs once instead of once per file
    // (a second per file). Safe because every engine run resets the mock runtime, its config and
    // its monitor, and no test replaces a module.
    pool: "forks",
    isolate: false,
    // Bounds for a hang, not speed targets (those live in `npm run bench`): a test that starts the
    // policy pack's analyzer server took over 60 s on 2 cores under a load average of 15.
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
