// The config repository's DeployKey with only its required args and its own providers, as the
// DeployKey tests declare it; `overrides` change one field per case.
import * as k8s from "@pulumi/kubernetes";
import { DeployKey, type DeployKeyArgs } from "../../components/github/deploy-key";
import { createGithubProvider } from "../../components/github/github-provider";

export function configRepoKey(overrides: Partial<DeployKeyArgs> = {}): DeployKey {
  const githubProvider = createGithubProvider("github", { owner: "acme-corp" });
  const k8sProvider = new k8s.Provider("k8s", { kubeconfig: "{}" });
  return new DeployKey("config-repo", {
    repository: "acme-corp/gitops-platform",
    environment: "staging",
    purpose: "config",
    namespace: "flux-system",
    secretName: "flux-system",
    githubProvider,
    k8sProvider,
    ...overrides,
  });
}
