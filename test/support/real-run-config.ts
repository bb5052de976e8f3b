// Reads the stack config the way index.ts does, in a process set up as the Pulumi CLI's Node.js
// language host sets up a real run (the test passes PULUMI_NODEJS_MONITOR, PULUMI_NODEJS_STACK,
// PULUMI_CONFIG, ...), and prints what readConfig refuses as JSON: [] when it accepts the config.
import { ConfigError, readConfig, runsUnderMocks } from "../../components/config";

export async function main(): Promise<number> {
  const underMocks = runsUnderMocks();
  try {
    readConfig();
    process.stdout.write(JSON.stringify({ underMocks, problems: [] }));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stdout.write(JSON.stringify({ underMocks, problems: error.problems }));
  }
  return Promise.resolve(0);
}
