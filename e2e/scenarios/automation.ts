/**
 * Scenarios on changes that do not start as an app commit: the webhook Receiver (2b) and image
 * automation (3b), BLOCKED where their controllers cannot be built here, and the delivery half of
 * image automation: a tag bump reaches the Deployment once merged into the environment branch (3a).
 */
import { readEnvironments } from "../../components/config/environments";
import { NS } from "../lib/controllers";
import { seen, waitFor } from "../lib/util";
import { NotRunnable, stillRefused, type Push, type ScenarioContext } from "./context";

export function pushAutomationScenarios(push: Push, context: ScenarioContext): void {
  const { root: ROOT, kubectl, stack, github, configRepo, app } = context;

  push("2b GitHub-signed webhook to the Receiver triggers a reconcile", () => stillRefused("notification-controller"));

  // The delivery half of scenario 3, with the real kustomize-controller: the tag line that image
  // automation rewrites (clusters/base/<app>-image.yaml) reaches the app's Deployment only once it
  // is merged into the environment's branch — from the automation branch on staging, by the
  // promotion merge elsewhere. The first half (a pushed image becomes that commit) needs the image
  // controllers: 3b.
  push("3a tag bump merged into the environment branch reaches the Deployment", async () => {
    if (!app) throw new NotRunnable("the stack has no app");
    const envBranch = github.configRepo.branch;
    const source = app.imageAutomation?.pushBranch ?? upstreamBranch(ROOT, stack);
    const tagFile = `clusters/base/${app.name}-image.yaml`;
    const current = await configRepo.show(envBranch, tagFile);
    const marker = new RegExp(`^(\\s*IMAGE_TAG:\\s*)"(\\d+)\\.(\\d+)\\.(\\d+)"(\\s*# \\{"\\$imagepolicy": "${NS}:${app.name}:tag"\\})$`, "m");
    const m = marker.exec(current);
    if (!m) throw new Error(`${tagFile} on ${envBranch} has no setter-marked IMAGE_TAG line`);
    const [, , major, minor, patch] = m;
    const oldTag = `${major}.${minor}.${patch}`;
    const newTag = `${major}.${minor}.${Number(patch) + 1}`;
    const image = async (): Promise<string> => {
      const deployment = await kubectl.get("deployment", app.name, app.name);
      const containers = (deployment?.spec as { template?: { spec?: { containers?: { image?: string }[] } } } | undefined)?.template?.spec?.containers;
      return containers?.[0]?.image ?? "absent";
    };
    const before = await image();
    if (!before.endsWith(`:${oldTag}`)) throw new Error(`Deployment ${app.name}/${app.name} runs ${before}, expected the tag ${oldTag} of ${tagFile}`);

    // The bump lands on the source branch first (image automation's push, or staging's own merge).
    if (source === app.imageAutomation?.pushBranch) await configRepo.branchFrom(source, envBranch);
    configRepo.write({ [tagFile]: current.replace(marker, (_l, head: string, _a, _b, _c, tail: string) => `${head}"${newTag}"${tail}`) });
    const bump = await configRepo.commit(`chore: ${app.name} ${newTag}`, source);
    const token = await kubectl.requestReconcile("gitrepository", "flux-system", NS);
    await kubectl.handled("gitrepository", "flux-system", NS, token, 60_000);
    await kubectl.handled("kustomization", "flux-system", NS, await kubectl.requestReconcile("kustomization", "flux-system", NS), 60_000);
    const unmerged = await image();
    if (unmerged !== before) throw new Error(`the bump on ${source} (${bump.slice(0, 7)}) reached the Deployment before any merge into ${envBranch}: ${unmerged}`);

    const merge = await configRepo.merge(source, envBranch, `Merge ${source} into ${envBranch}`);
    const t = Date.now();
    await kubectl.requestReconcile("gitrepository", "flux-system", NS);
    const after = await waitFor(`Deployment ${app.name}/${app.name} to run the tag ${newTag}`, 120_000, async () => {
      const now = await image();
      return now.endsWith(`:${newTag}`) ? now : seen(now);
    });
    return `${before} → ${after}: unchanged while the bump sat on ${source}, ${((Date.now() - t) / 1000).toFixed(1)}s after the merge ${merge.slice(0, 7)} into ${envBranch}`;
  });

  push("3b pushed image tag becomes a commit on the automation branch", () => stillRefused("image-reflector-controller", "image-automation-controller"));
}

/** The branch whose merge promotes into `stack`'s branch: its upstream in the stack files' promotion data. */
function upstreamBranch(root: string, stack: string): string {
  const upstream = readEnvironments(root).list.find((e) => e.stack === stack)?.upstream;
  if (!upstream) throw new NotRunnable(`stack ${stack} runs no image automation and receives no promotion (gitops-platform:promotion)`);
  return upstream;
}
