/** Scenarios on confinement: an app cannot escape its tenancy (6), and a Git server with another host key is refused (8). */
import * as fs from "node:fs";
import * as path from "node:path";
import { waitReady } from "../lib/cluster";
import { NS } from "../lib/controllers";
import { git, startGitServer, stopGitServer } from "../lib/git";
import { seen, waitFor } from "../lib/util";
import { NotRunnable, type Push, type ScenarioContext } from "./context";

export function pushIsolationScenarios(push: Push, context: ScenarioContext): void {
  const { kubectl, app, appRepo, appPath, appBranch, reconcileApp, appliedRevision, gitServer, hostKey, otherHostKey } = context;

  push("6 tenancy: app cannot bind cluster roles or write flux-system", async () => {
    if (!app || !appRepo) throw new NotRunnable("the stack has no app");
    const escalation = [
      "apiVersion: rbac.authorization.k8s.io/v1",
      "kind: ClusterRoleBinding",
      "metadata:",
      "  name: e2e-tenant-escalation",
      "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}",
      `subjects: [{kind: ServiceAccount, name: default, namespace: ${app.name}}]`,
      "---",
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata:",
      "  name: e2e-tenant-intrusion",
      `  namespace: ${NS}`,
      "data: {x: y}",
      "",
    ].join("\n");
    // Precondition: the app is Ready at its current head, so a failure below is this commit's.
    const head = (await git(appRepo.work, "rev-parse", "HEAD")).trim();
    await reconcileApp();
    await waitReady(kubectl, "kustomization", app.name, NS, 120_000, appliedRevision(head));
    const kustomization = fs.readFileSync(path.join(appRepo.work, appPath, "kustomization.yaml"), "utf8");
    appRepo.write({ [`${appPath}/escalation.yaml`]: escalation, [`${appPath}/kustomization.yaml`]: `${kustomization}  - escalation.yaml\n` });
    const commit = await appRepo.commit("try to escape the tenant", appBranch);
    try {
      await reconcileApp();
      const status = await waitFor(`Kustomization ${NS}/${app.name} to reconcile ${commit.slice(0, 7)}`, 120_000, async () => {
        const o = await kubectl.get("kustomization", app.name, NS);
        const ready = o?.status?.conditions?.find((c) => c.type === "Ready");
        if (o?.status?.lastAppliedRevision?.endsWith(commit)) return { applied: true, message: ready?.message ?? "" };
        if (ready?.status === "False" && o?.status?.lastAttemptedRevision?.endsWith(commit)) return { applied: false, message: ready.message ?? "" };
        return seen(`Ready=${ready?.status} ${ready?.message ?? ""}`);
      });
      const crb = await kubectl.get("clusterrolebinding", "e2e-tenant-escalation");
      const intrusion = await kubectl.get("configmap", "e2e-tenant-intrusion", NS);
      if (status.applied || crb || intrusion) {
        throw new Error(
          `not confined: ${crb ? "ClusterRoleBinding e2e-tenant-escalation was created" : ""}${crb && intrusion ? " and " : ""}${intrusion ? `ConfigMap ${NS}/e2e-tenant-intrusion was written` : ""}` +
            ` (the rendered Kustomization ${app.name} has no serviceAccountName/targetNamespace, so kustomize-controller applies it with its own rights)`,
        );
      }
      if (!/ClusterRoleBinding\/e2e-tenant-escalation|ConfigMap\/flux-system\/e2e-tenant-intrusion/.test(status.message)) {
        throw new Error(`Kustomization ${app.name} failed, but not on the tenant's escalation objects: ${status.message}`);
      }
      return `refused: ${status.message}`;
    } finally {
      // Put the app repository back so later scenarios start clean.
      await appRepo.revertHead(appBranch);
      await reconcileApp();
    }
  });

  push("8 host key pinning: a server with another host key is refused", async () => {
    if (!app) throw new NotRunnable("the stack has no app");
    await stopGitServer("gitserver");
    await startGitServer("gitserver-other-key", { ...gitServer, hostKeyFile: otherHostKey.file });
    try {
      await kubectl.requestReconcile("gitrepository", app.name, NS);
      const ready = await waitFor(`GitRepository ${NS}/${app.name} to report the host key mismatch`, 90_000, async () => {
        const c = await kubectl.condition("gitrepository", app.name, NS);
        // fluxcd/pkg ssh/v0.22.0 knownhosts returns x/crypto's KeyError: "knownhosts: key mismatch".
        return c?.status === "False" && (c.message ?? "").includes("knownhosts: key mismatch") ? c : seen(`Ready=${c?.status} ${c?.message ?? ""}`);
      });
      return `${ready.reason ?? ""}: ${ready.message ?? ""}`;
    } finally {
      await stopGitServer("gitserver-other-key");
      await startGitServer("gitserver", { ...gitServer, hostKeyFile: hostKey.file });
    }
  });
}
