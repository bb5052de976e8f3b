import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Each file loads the Pulumi SDKs once (~1 s); forks keep the mock runtime's global state per file.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
