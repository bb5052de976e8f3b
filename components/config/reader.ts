/**
 * The one place the program reads Pulumi's config: the composition root (index.ts) calls
 * {@link readConfig}; everything below it gets typed values.
 */
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { parseConfig } from "./parse";
import type { PlatformConfig } from "./values";

/**
 * Reads this stack's config from the Pulumi runtime and validates it. The one place the program
 * touches `pulumi.Config`-level state.
 */
export function readConfig(): PlatformConfig {
  const values = pulumi.runtime.allConfig();
  const secretKeys = Object.keys(values).filter((key) => isConfigSecret(key));
  return parseConfig({ stack: pulumi.getStack(), values, secretKeys, refuseExamples: !runsUnderMocks() });
}

/**
 * Whether the program runs under Pulumi's mock runtime (`pulumi.runtime.setMocks`: the offline
 * engine, unit tests) rather than against a real engine. Not a setting anyone can put in config:
 * the CLI's language host always connects the program to its resource monitor over gRPC
 * (`PULUMI_NODEJS_MONITOR`), and only `setMocks` installs a MockMonitor.
 */
export function runsUnderMocks(): boolean {
  return pulumi.runtime.getMonitor() instanceof MockMonitor;
}

// The SDK knows which keys were stored as secrets (PULUMI_CONFIG_SECRET_KEYS) but exports the
// check only at run time, not in its typings; a plaintext token must be refused, so we ask it.
function isConfigSecret(key: string): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (k: string) => boolean };
  if (typeof runtimeConfig.isConfigSecret !== "function") {
    throw new Error("@pulumi/pulumi no longer exposes runtime.config.isConfigSecret; cannot tell secret config from plaintext");
  }
  return runtimeConfig.isConfigSecret(key);
}

