/** Scenarios on the platform's own objects: Pod Security admission in flux-system (7), and the environment's sync from the rendered objects (1). */
import { waitReady } from "../lib/cluster";
import { NS, startControllers, startOperator } from "../lib/controllers";
import { seen, waitFor } from "../lib/util";
import type { Push, ScenarioContext } from "./context";

export function pushPlatformScenarios(push: Push, context: ScenarioContext): void {
  const { kubectl, applyRendered, bins, env, port, logDir, work, apps, standIn, stack } = context;

  push("7 Pod Security: privileged Pod in flux-system refused", async () => {
    await applyRendered();
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "e2e-privileged", namespace: NS }, spec: { containers: [{ name: "c", image: "busybox", securityContext: { privileged: true } }] } };
    const result = await kubectl.run(["create", "-f", "-"], 30_000, JSON.stringify(pod));
    const message = (result.stderr + result.stdout).trim();
    if (result.code === 0) throw new Error(`the privileged Pod was admitted: ${message}`);
    if (!/violates PodSecurity "restricted:/.test(message) || !/privileged/.test(message)) throw new Error(`refused, but not by Pod Security admission: ${message}`);
    // Control: the same Pod in a namespace without the labels is admitted, so the labels refused it.
    await kubectl.must(["create", "namespace", "e2e-psa-control"]);
    const control = await kubectl.run(["create", "-f", "-"], 30_000, JSON.stringify({ ...pod, metadata: { name: "e2e-privileged", namespace: "e2e-psa-control" } }));
    if (control.code !== 0) throw new Error(`control Pod in an unlabelled namespace refused too: ${control.stderr.trim()}`);
    await kubectl.must(["delete", "namespace", "e2e-psa-control", "--wait=false"]);
    return message.replace(/^Error from server \(Forbidden\): error when creating "STDIN": /, "").slice(0, 120) + "…; admitted in an unlabelled namespace";
  });

  push("1 environment sync Ready from the rendered objects", async () => {
    await applyRendered();
    await startOperator(bins, env, port, logDir);
    await waitReady(kubectl, "fluxinstance", "flux", NS, 180_000);
    await startControllers(kubectl, bins, env, port, logDir, work);
    const repoObj = await waitReady(kubectl, "gitrepository", "flux-system", NS, 180_000);
    await waitReady(kubectl, "kustomization", "flux-system", NS, 180_000);
    for (const app of apps) {
      await waitReady(kubectl, "gitrepository", app.name, NS, 180_000);
      await waitReady(kubectl, "kustomization", app.name, NS, 180_000);
      await waitFor(`ConfigMap ${app.name}/${app.name}-config applied`, 30_000, async () => (await kubectl.get("configmap", `${app.name}-config`, app.name)) ?? seen("absent"));
    }
    if (standIn) {
      const marker = await waitFor("the stand-in marker ConfigMap", 30_000, async () => (await kubectl.get("configmap", "e2e-platform-marker", NS)) ?? seen("absent"));
      if (marker.data?.environment !== stack || !/^account-\d{12}$/.test(marker.data.account ?? "")) {
        throw new Error(`postBuild substitution: environment=${marker.data?.environment} account=${marker.data?.account}, expected ${stack} and account-<12 digits>`);
      }
    }
    return `flux-system at ${repoObj.status?.artifact?.revision ?? "?"}; ${apps.map((a) => a.name).join(", ") || "no apps"} Ready${standIn ? " (config repo: stand-in clusters/, see note)" : ""}`;
  });
}
