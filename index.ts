// The program: validate the stack's config, build the environment's Platform, export its outputs.
// A function export (not top-level code) so the offline engine can run it once per test; the Pulumi
// CLI calls it and awaits what it returns.
import * as pulumi from "@pulumi/pulumi";
import { readConfig } from "./components/config";
import { Platform } from "./components/platform/platform";

export = () => {
  const config = readConfig();
  const platform = new Platform(config.environment, { config });
  return {
    bucketName: platform.bucketName,
    storageKeyArn: platform.storageKeyArn,
    repositoryUrls: platform.repositoryUrls,
    ciRoleArns: platform.ciRoleArns,
    previewRoleArn: platform.previewRoleArn,
    deployRoleArn: platform.deployRoleArn,
    ...(platform.driftRoleArn ? { driftRoleArn: platform.driftRoleArn } : {}),
    securityGroupId: platform.securityGroupId,
    ...(platform.webAclArn ? { webAclArn: platform.webAclArn } : {}),
    vpcId: platform.vpcId,
    deployKeys: platform.deployKeys,
    // Secret: the receiver's path derives from its token.
    ...(platform.webhookUrl ? { webhookUrl: pulumi.secret(platform.webhookUrl) } : {}),
    ...(platform.webhookLoadBalancer ? { webhookLoadBalancer: platform.webhookLoadBalancer } : {}),
    ...(platform.appSecrets ? { appSecretsKeyArn: platform.appSecrets.keyArn, appSecretsAlias: platform.appSecrets.aliasName } : {}),
  };
};
