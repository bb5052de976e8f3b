// The program: validate the stack's config, build the environment's Platform, export its outputs.
import { readConfig } from "./components/config";
import { Platform } from "./components/platform";

export = async () => {
  const config = readConfig();
  const platform = new Platform(config.environment, { config });
  return {
    vpcId: platform.vpcId,
  };
};
