/** Scenarios on an app's delivery from its repository: drift corrected (5), a revert restores (4), a commit is applied (2a). */
import * as crypto from "node:crypto";
import { waitReady } from "../lib/cluster";
import { NS } from "../lib/controllers";
import { appConfig } from "../lib/fixtures";
import { seen, waitFor } from "../lib/util";
import { NotRunnable, type Push, type ScenarioContext } from "./context";

export function pushAppDeliveryScenarios(push: Push, context: ScenarioContext): void {
  const { kubectl, app, appRepo, appPath, appBranch, reconcileApp, appliedRevision } = context;

  push("5 in-cluster drift corrected", async () => {
    if (!app) throw new NotRunnable("the stack has no app");
    await kubectl.must(["patch", "configmap", `${app.name}-config`, "-n", app.name, "--type=merge", "-p", '{"data":{"greeting":"edited-by-hand"}}']);
    await kubectl.must(["delete", "deployment", app.name, "-n", app.name, "--wait=false"]);
    await kubectl.requestReconcile("kustomization", app.name, NS);
    await waitFor(`Deployment ${app.name}/${app.name} recreated and the ConfigMap edit undone`, 90_000, async () => {
      const cm = await kubectl.get("configmap", `${app.name}-config`, app.name);
      const dep = await kubectl.get("deployment", app.name, app.name);
      return cm?.data?.greeting === "hello" && dep ? true : seen(`greeting=${cm?.data?.greeting}, deployment ${dep ? "present" : "absent"}`);
    });
    return "ConfigMap edit reverted, deleted Deployment recreated";
  });

  push("4 git revert restores the previous state", async () => {
    if (!app || !appRepo) throw new NotRunnable("the stack has no app");
    appRepo.write({ [`${appPath}/config.yaml`]: appConfig(app.name, "bad-change") + `---\n${appConfig(`${app.name}-bad`, "x").replace(new RegExp(`namespace: ${app.name}-bad`), `namespace: ${app.name}`)}` });
    const bad = await appRepo.commit("a bad change", appBranch);
    await reconcileApp();
    await waitReady(kubectl, "kustomization", app.name, NS, 120_000, appliedRevision(bad));
    const during = await kubectl.get("configmap", `${app.name}-config`, app.name);
    if (during?.data?.greeting !== "bad-change") throw new Error(`bad commit not applied: greeting=${during?.data?.greeting}`);
    const revert = await appRepo.revertHead(appBranch);
    await reconcileApp();
    await waitReady(kubectl, "kustomization", app.name, NS, 120_000, appliedRevision(revert));
    const after = await kubectl.get("configmap", `${app.name}-config`, app.name);
    const extra = await kubectl.get("configmap", `${app.name}-bad-config`, app.name);
    if (after?.data?.greeting !== "hello") throw new Error(`after revert greeting=${after?.data?.greeting}, expected hello`);
    if (extra) throw new Error(`the object the bad commit added (${app.name}-bad-config) was not pruned`);
    return `bad ${bad.slice(0, 7)} applied, revert ${revert.slice(0, 7)} restored greeting and pruned the added object`;
  });

  push("2a commit to the app deploy path applied", async () => {
    if (!app || !appRepo) throw new NotRunnable("the stack has no app");
    // Not all digits: YAML would read that as a number, and ConfigMap data must be strings.
    const value = `release-${crypto.randomBytes(4).toString("hex")}`;
    appRepo.write({ [`${appPath}/config.yaml`]: appConfig(app.name, "hello", { release: value }) });
    const commit = await appRepo.commit("release", appBranch);
    const t = Date.now();
    await reconcileApp();
    await waitReady(kubectl, "kustomization", app.name, NS, 120_000, appliedRevision(commit));
    const cm = await kubectl.get("configmap", `${app.name}-config`, app.name);
    if (cm?.data?.release !== value) throw new Error(`release=${cm?.data?.release}, expected ${value}`);
    return `commit ${commit.slice(0, 7)} applied ${((Date.now() - t) / 1000).toFixed(1)}s after the reconcile request (GitRepository annotation)`;
  });
}
