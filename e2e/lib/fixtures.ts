/**
 * Repository content the e2e serves: the config repository's `clusters/<env>` (this repository's
 * own when it has one, else a minimal stand-in) and an example application's deploy manifests.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Files of `clusters/` as shipped in this repository (an environment branch carries the whole
 * tree: `clusters/<env>` builds on `clusters/base`), or undefined when `clusters/<env>` is missing.
 */
export function shippedClusterFiles(root: string, env: string): Record<string, string> | undefined {
  if (!fs.existsSync(path.join(root, "clusters", env))) return undefined;
  const dir = path.join(root, "clusters");
  const files: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else files[path.relative(root, full)] = fs.readFileSync(full, "utf8");
    }
  };
  walk(dir);
  return files;
}

/**
 * Stand-in for `clusters/<env>` while the repository ships none: one ConfigMap whose values come
 * from the platform-metadata substitution the program configures on the sync Kustomization.
 */
export function standInClusterFiles(env: string): Record<string, string> {
  return {
    [`clusters/${env}/kustomization.yaml`]: "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - platform-marker.yaml\n",
    [`clusters/${env}/platform-marker.yaml`]: [
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata:",
      "  name: e2e-platform-marker",
      "  namespace: flux-system",
      "data:",
      "  environment: ${ENVIRONMENT}",
      // kustomize re-serialises before Flux substitutes, so quotes around a variable are lost: an
      // all-digit value (the account id) must sit inside a longer string to stay a string.
      "  account: account-${AWS_ACCOUNT_ID}",
      "",
    ].join("\n"),
  };
}

/**
 * The example app's manifests under `deployPath`, following the app contract (docs/apps.md): a
 * ConfigMap and a Deployment in the app's namespace, which the platform creates (an app's tenant
 * Role may not touch Namespaces), the image from the platform's IMAGE_REPOSITORY and IMAGE_TAG.
 */
export function appFiles(app: string, deployPath: string, greeting: string): Record<string, string> {
  return {
    [`${deployPath}/kustomization.yaml`]: "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - config.yaml\n  - deployment.yaml\n",
    [`${deployPath}/config.yaml`]: appConfig(app, greeting),
    [`${deployPath}/deployment.yaml`]: [
      "apiVersion: apps/v1",
      "kind: Deployment",
      "metadata:",
      `  name: ${app}`,
      `  namespace: ${app}`,
      "spec:",
      "  replicas: 1",
      "  selector:",
      `    matchLabels: {app: ${app}}`,
      "  template:",
      "    metadata:",
      `      labels: {app: ${app}}`,
      "    spec:",
      "      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}",
      "      containers:",
      "        - name: app",
      "          image: ${IMAGE_REPOSITORY}:${IMAGE_TAG}",
      "          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}",
      "",
    ].join("\n"),
  };
}

export function appConfig(app: string, greeting: string, extra: Record<string, string> = {}): string {
  const lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", `  name: ${app}-config`, `  namespace: ${app}`, "data:", `  greeting: ${greeting}`];
  for (const [key, value] of Object.entries(extra)) lines.push(`  ${key}: ${value}`);
  return lines.join("\n") + "\n";
}
