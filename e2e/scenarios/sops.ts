/** Scenario 9: an app's SOPS-encrypted Secret is decrypted into its namespace, and a tampered one is refused. */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { waitReady } from "../lib/cluster";
import { need, NS } from "../lib/controllers";
import { must as mustRun, seen, waitFor } from "../lib/util";
import { NotRunnable, type Push, type ScenarioContext } from "./context";

export function pushSopsScenario(push: Push, context: ScenarioContext): void {
  const { kubectl, bins, work, app, appRepo, appPath, appBranch, reconcileApp, appliedRevision } = context;

  // An age key stands in for KMS. The rendered app Kustomization decrypts with
  // `decryption.provider: sops` and kustomize-controller's own AWS identity (IRSA); here the e2e
  // adds `secretRef: sops-age` (an age key in the Kustomization's namespace) instead.
  push("9 SOPS: an app's encrypted Secret is decrypted into its namespace; a tampered one is refused", async () => {
    if (!app || !appRepo) throw new NotRunnable("the stack has no app");
    const keyFile = path.join(work, "keys", "age.agekey");
    await mustRun(need(bins, "age-keygen"), ["-o", keyFile]);
    const recipient = /^# public key: (age1[0-9a-z]+)$/m.exec(fs.readFileSync(keyFile, "utf8"))?.[1];
    if (!recipient) throw new Error(`age-keygen wrote no public key to ${keyFile}`);
    // The controller reads keys ending in .agekey from the decryption Secret (kustomize-controller
    // v1.7.2 internal/decryptor: DecryptionAgeExt).
    await kubectl.must(["create", "secret", "generic", "sops-age", "-n", NS, `--from-file=age.agekey=${keyFile}`]);
    await kubectl.must(["patch", "kustomization", app.name, "-n", NS, "--type=merge", "-p", JSON.stringify({ spec: { decryption: { provider: "sops", secretRef: { name: "sops-age" } } } })]);
    const password = `pw-${crypto.randomBytes(6).toString("hex")}`;
    const plain = path.join(work, "keys", "db.yaml");
    fs.writeFileSync(
      plain,
      [
        "apiVersion: v1",
        "kind: Secret",
        "metadata:",
        `  name: ${app.name}-db`,
        `  namespace: ${app.name}`,
        // What docs/secrets.md asks of every SOPS Secret: no postBuild substitution inside it.
        "  annotations: {kustomize.toolkit.fluxcd.io/substitute: disabled}",
        "stringData:",
        `  password: ${password}`,
        "",
      ].join("\n"),
    );
    // Run from the work directory: no .sops.yaml of this repository applies, only the flags.
    const encrypted = await mustRun(need(bins, "sops"), ["--encrypt", "--age", recipient, "--encrypted-regex", "^(data|stringData)$", plain], { cwd: path.dirname(plain) });
    if (encrypted.includes(password)) throw new Error("sops left the password in plaintext");
    const kustomization = fs.readFileSync(path.join(appRepo.work, appPath, "kustomization.yaml"), "utf8");
    appRepo.write({ [`${appPath}/db.yaml`]: encrypted, [`${appPath}/kustomization.yaml`]: `${kustomization}  - db.yaml\n` });
    const good = await appRepo.commit("an encrypted Secret", appBranch);
    await reconcileApp();
    await waitReady(kubectl, "kustomization", app.name, NS, 120_000, appliedRevision(good));
    const secret = await kubectl.get("secret", `${app.name}-db`, app.name);
    const decoded = Buffer.from((secret as { data?: Record<string, string> } | undefined)?.data?.password ?? "", "base64").toString();
    if (decoded !== password) throw new Error(`Secret ${app.name}/${app.name}-db password is ${JSON.stringify(decoded)}, expected the plaintext before encryption`);
    // Tamper: change one character of the ciphertext; the MAC check must refuse the whole file.
    const tampered = encrypted.replace(/(password: ENC\[AES256_GCM,data:)(.)/, (_m, head: string, c: string) => `${head}${c === "A" ? "B" : "A"}`);
    if (tampered === encrypted) throw new Error("found no ciphertext to tamper with");
    appRepo.write({ [`${appPath}/db.yaml`]: tampered });
    const bad = await appRepo.commit("a tampered Secret", appBranch);
    try {
      await reconcileApp();
      const refused = await waitFor(`Kustomization ${NS}/${app.name} to refuse ${bad.slice(0, 7)}`, 120_000, async () => {
        const o = await kubectl.get("kustomization", app.name, NS);
        const ready = o?.status?.conditions?.find((c) => c.type === "Ready");
        if (o?.status?.lastAppliedRevision?.endsWith(bad)) throw new Error(`the tampered Secret was applied: ${ready?.message ?? ""}`);
        return ready?.status === "False" && o?.status?.lastAttemptedRevision?.endsWith(bad) ? ready : seen(`Ready=${ready?.status} ${ready?.message ?? ""}`);
      });
      if (!/decrypt/i.test(refused.message ?? "")) throw new Error(`refused, but not by decryption: ${refused.message}`);
      const still = await kubectl.get("secret", `${app.name}-db`, app.name);
      const after = Buffer.from((still as { data?: Record<string, string> } | undefined)?.data?.password ?? "", "base64").toString();
      if (after !== password) throw new Error(`the applied Secret changed after the refused commit: ${JSON.stringify(after)}`);
      return `decrypted into ${app.name}/${app.name}-db at ${good.slice(0, 7)}; tampered ${bad.slice(0, 7)}: ${refused.reason ?? ""}: ${(refused.message ?? "").slice(0, 110)}`;
    } finally {
      await appRepo.revertHead(appBranch);
      await reconcileApp();
    }
  });
}
