import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { syncedPathsOfStacks } from "../../tools/ci/check-secrets";
import { manifestRootOf, manifestSecretProblems, manifestTextProblems, repositoryRoot } from "../../policies/sops";
import { fluxSecretsSopsOnly } from "../../policies/sops-rules";
import { messages, res, UNKNOWN, unknownNote, violations, withInputs } from "./harness";

const ROOT = path.resolve(__dirname, "..", "..");

// ---------------------------------------------------------------------------------------------
// Manifests
// ---------------------------------------------------------------------------------------------

/** A SOPS-encrypted Secret as `sops --encrypt --encrypted-regex '^(data|stringData)$'` writes it (values shortened). */
const ENCRYPTED_SECRET = `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: orders
type: Opaque
stringData:
  password: ENC[AES256_GCM,data:3q2+7w==,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:BBBBBBBBBBBBBBBBBBBBBB==,type:str]
sops:
  kms:
    - arn: arn:aws:kms:eu-west-1:111111111111:alias/gitops-platform/staging/app-secrets
      created_at: "2026-12-01T00:00:00Z"
      enc: AQICAHh...
      aws_profile: ""
  lastmodified: "2026-12-01T00:00:00Z"
  mac: ENC[AES256_GCM,data:Zm9v,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:BBBBBBBBBBBBBBBBBBBBBB==,type:str]
  encrypted_regex: ^(data|stringData)$
  version: 3.11.0
`;
const PLAIN_SECRET = `apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  password: hunter2
`;

/** A directory tree of files, for the scan. */
function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "sops-policy-"));
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  return root;
}

describe("manifest scan (the config repo's Flux paths, plan renders)", () => {
  it("passes a SOPS-encrypted Secret, a Secret without data and other kinds", () => {
    const text = `${ENCRYPTED_SECRET}---\napiVersion: v1\nkind: Secret\nmetadata: { name: empty }\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { a: b }\n`;
    expect(manifestTextProblems(text, "deploy/staging/secret.yaml")).toEqual([]);
  });

  it("passes real sops 3.11.0 output: an encrypted Secret and a secretGenerator's encrypted .env", () => {
    const fixture = path.join(ROOT, "test", "fixtures", "sops", "encrypted");
    expect(fs.readFileSync(path.join(fixture, "db.yaml"), "utf8")).toMatch(/password: ENC\[AES256_GCM,/);
    expect(manifestSecretProblems(fixture, ["."])).toEqual([]);
    // The same Secret with its sops block cut off is plaintext as far as anyone can tell.
    const stripped = fs.readFileSync(path.join(fixture, "db.yaml"), "utf8").split("\nsops:")[0] ?? "";
    expect(manifestTextProblems(stripped.replace(/ENC\[[^\]]*\]/, "hunter2"), "db.yaml")).toEqual([
      'db.yaml: Secret "db" has plaintext stringData and no SOPS metadata; only SOPS-encrypted Secrets belong in Git (sops --encrypt --in-place db.yaml)',
    ]);
  });

  it("refuses a Secret with plaintext stringData or data", () => {
    expect(manifestTextProblems(PLAIN_SECRET, "clusters/staging/db.yaml")).toEqual([
      'clusters/staging/db.yaml: Secret "db" has plaintext stringData and no SOPS metadata; only SOPS-encrypted Secrets belong in Git (sops --encrypt --in-place clusters/staging/db.yaml)',
    ]);
    const both = "kind: Secret\napiVersion: v1\nmetadata: { name: x }\ndata: { a: aGk= }\nstringData: { b: hi }\n";
    expect(manifestTextProblems(both, "x.yaml")).toEqual([
      'x.yaml: Secret "x" has plaintext data and stringData and no SOPS metadata; only SOPS-encrypted Secrets belong in Git (sops --encrypt --in-place x.yaml)',
    ]);
  });

  it("refuses a Secret whose SOPS metadata is there but a value is not encrypted", () => {
    const tampered = ENCRYPTED_SECRET.replace("  password: ENC[", "  user: admin\n  password: ENC[");
    expect(manifestTextProblems(tampered, "s.yaml")).toEqual(['s.yaml: Secret "db" has SOPS metadata but stringData.user is not encrypted; encrypt the whole file again with sops']);
  });

  it("passes a plan render, whose secret values are all masked, and refuses one with a value in the clear", () => {
    const render = "apiVersion: v1\nkind: Secret\nmetadata: { name: flux-system, namespace: flux-system }\nstringData: { identity: '[secret]', known_hosts: '[secret]' }\n";
    expect(manifestTextProblems(render, "out/secret.yaml")).toEqual([]);
    expect(manifestTextProblems(render.replace("known_hosts: '[secret]'", "known_hosts: github.com"), "out/secret.yaml")).toEqual([
      'out/secret.yaml: Secret "flux-system" has plaintext stringData and no SOPS metadata; only SOPS-encrypted Secrets belong in Git (sops --encrypt --in-place out/secret.yaml)',
    ]);
  });

  it("refuses secretGenerator literals and plaintext sources, and passes SOPS-encrypted ones", () => {
    const root = tree({
      "app/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nsecretGenerator:\n  - name: lit\n    literals: [password=hunter2]\n  - name: env\n    envs: [plain.env]\n  - name: file\n    files: [key=enc.json, ok.env]\n",
      "app/plain.env": "PASSWORD=hunter2\n",
      "app/enc.json": '{"data": "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]", "sops": {"mac": "ENC[...]"}}\n',
      "app/ok.env": "PASSWORD=ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\nsops_mac=ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\n",
    });
    expect(manifestSecretProblems(root, ["app"])).toEqual([
      'app/kustomization.yaml: secretGenerator "lit" has literals, which are plaintext in Git; generate it from a SOPS-encrypted envs or files source',
      'app/kustomization.yaml: secretGenerator "env" reads plain.env, which has no SOPS metadata; encrypt the whole file with sops (see docs/secrets.md)',
    ]);
  });

  it("refuses an unparsable file that declares a plaintext Secret", () => {
    expect(manifestTextProblems("kind: Secret\nstringData:\n  password: [unclosed\n", "bad.yaml")).toEqual([
      "bad.yaml: is not valid YAML and declares a Secret without SOPS metadata; fix the file so it can be checked",
    ]);
    expect(manifestTextProblems("kind: ConfigMap\ndata: [unclosed\n", "bad.yaml")).toEqual([]);
  });

  it("walks every file under the given paths, hidden directories and any name included, names files from the root, and refuses a missing path", () => {
    const json = JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: "db" }, data: { password: "aHVudGVyMg==" } });
    const root = tree({
      "clusters/staging/apps/db.yaml": PLAIN_SECRET,
      "examples/app/deploy/staging/secret.yml": PLAIN_SECRET,
      "examples/app/deploy/staging/secret.json": json,
      "examples/creds.txt": PLAIN_SECRET,
      "examples/.hidden/s.yaml": PLAIN_SECRET,
      "examples/.git/config.yaml": PLAIN_SECRET,
    });
    expect(manifestSecretProblems(root, ["clusters", "examples", "missing"]).map((p) => p.split(":")[0])).toEqual([
      "clusters/staging/apps/db.yaml",
      "examples/.hidden/s.yaml",
      "examples/app/deploy/staging/secret.json",
      "examples/app/deploy/staging/secret.yml",
      "examples/creds.txt",
      "missing",
    ]);
    expect(manifestSecretProblems(root, ["missing"])).toEqual([`missing: Flux applies this path, but it does not exist under ${root}; nothing there could be checked`]);
  });

  it("opens every *List kind, as kustomize does (SecretList, ConfigMapList, …), not only List", () => {
    const list = "apiVersion: v1\nkind: SecretList\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: db\n  stringData:\n    password: hunter2\n";
    expect(manifestTextProblems(list, "secrets.yaml")).toEqual([
      'secrets.yaml: Secret "db" has plaintext stringData and no SOPS metadata; only SOPS-encrypted Secrets belong in Git (sops --encrypt --in-place secrets.yaml)',
    ]);
  });

  it("refuses inline patches of a kustomization.yaml (patches, patchesStrategicMerge, patchesJson6902) and patch files that write Secret data", () => {
    const root = tree({
      "app/kustomization.yaml": `resources: [db.yaml]
patches:
- patch: |-
${PLAIN_SECRET.split("\n").map((line) => `    ${line}`).join("\n")}
- path: json-patch.yaml
  target: { name: db }
- path: sa-patch.yaml
  target: { kind: ServiceAccount, name: db }
patchesStrategicMerge:
- |-
${PLAIN_SECRET.split("\n").map((line) => `  ${line}`).join("\n")}
patchesJson6902:
- target: { version: v1, kind: Secret, name: db }
  patch: "[{op: replace, path: /stringData/password, value: hunter2}]"
`,
      "app/db.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n",
      "app/json-patch.yaml": "- op: add\n  path: /data/password\n  value: aHVudGVyMg==\n",
      "app/sa-patch.yaml": "- op: add\n  path: /data/x\n  value: y\n",
    });
    const writes = (label: string) => `app/kustomization.yaml: ${label} of the kustomization writes Secret data in plaintext; put the Secret SOPS-encrypted in the applied path instead`;
    expect(manifestSecretProblems(root, ["app"])).toEqual([writes("patches[0]"), writes("patches[1]"), writes("patchesStrategicMerge[0]"), writes("patchesJson6902[0]")]);
  });

  it("refuses spec.patches of a Flux Kustomization manifest in the synced path that write Secret data", () => {
    const flux = `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: orders
  namespace: flux-system
spec:
  path: ./deploy
  sourceRef: { kind: GitRepository, name: orders }
  patches:
    - target: { kind: Secret, name: db }
      patch: |
${PLAIN_SECRET.split("\n").map((line) => `        ${line}`).join("\n")}`;
    expect(manifestTextProblems(flux, "clusters/staging/orders.yaml")).toEqual([
      'clusters/staging/orders.yaml: patches[0] of Kustomization "orders" writes Secret data in plaintext; put the Secret SOPS-encrypted in the applied path instead',
    ]);
  });

  it("refuses a secretGenerator source with SOPS metadata whose values stayed plaintext: YAML under an encrypted_regex, a .env with only a marker line", () => {
    // `sops --encrypt` of a YAML file without data/stringData keys under `encrypted_regex: ^(data|stringData)$` (sops 3.11.0): nothing encrypted.
    const nothingEncrypted = `db:\n    password: hunter2\nsops:\n    age:\n        - recipient: age18v9wagutu0y9wp3qhkdrhwaw8hmd6aadm45rfqsdfezprqfrjats4hdzkr\n    mac: ENC[AES256_GCM,data:cqwCmgKJ,iv:7OF0ysXsH9ly6v63EbwDZ6dAEzm9GORMJSF9Vp6b/yM=,tag:Lyef4fJoxXSqn+c+BFG22A==,type:str]\n    encrypted_regex: ^(data|stringData)$\n    version: 3.11.0\n`;
    const root = tree({
      "app/kustomization.yaml": "secretGenerator:\n- name: app\n  files: [app-secrets.yaml]\n  envs: [app.env]\n",
      "app/app-secrets.yaml": nothingEncrypted,
      "app/app.env": "DB_PASSWORD=hunter2\nsops_mac=ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\n",
    });
    expect(manifestSecretProblems(root, ["app"])).toEqual([
      'app/kustomization.yaml: secretGenerator "app" reads app.env, which keeps DB_PASSWORD in plaintext; encrypt the whole file with sops (see docs/secrets.md)',
      'app/kustomization.yaml: secretGenerator "app" reads app-secrets.yaml, which keeps db.password in plaintext; encrypt the whole file with sops (see docs/secrets.md)',
    ]);
  });

  it("looks inside a kind: List", () => {
    const listed = `apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata: { name: db }\n    stringData: { password: hunter2 }\n`;
    expect(manifestTextProblems(listed, "list.yaml")).toEqual([
      'list.yaml: Secret "db" has plaintext stringData and no SOPS metadata; only SOPS-encrypted Secrets belong in Git (sops --encrypt --in-place list.yaml)',
    ]);
  });

  it("finds no plaintext Secret in what this repository ships to Flux: each stack's synced path", () => {
    expect(syncedPathsOfStacks(ROOT)).toEqual(["clusters/prod", "clusters/staging"]);
    expect(manifestSecretProblems(ROOT, syncedPathsOfStacks(ROOT))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// flux-secrets-sops-only
// ---------------------------------------------------------------------------------------------

const deployKeyComponent = { ...res("gitops-platform:github:DeployKey", "config-repo-key"), custom: false };
const platformSecret = res(
  "kubernetes:core/v1:Secret",
  "deploy-key",
  { apiVersion: "v1", kind: "Secret", metadata: { name: "flux-system", namespace: "flux-system" }, stringData: { identity: "key" } },
  { parent: deployKeyComponent },
);
const appSecret = res("kubernetes:core/v1:Secret", "db", { apiVersion: "v1", kind: "Secret", metadata: { name: "db", namespace: "orders" }, stringData: { password: "hunter2" } });
const emptyRoot = { manifestRoot: tree({}) };
const NOT_PLATFORM = (kind: string, name: string) =>
  `${kind} "${name}" is declared by the program but is not one of the platform's own credentials (a Secret of DeployKey, WebhookReceiver, Notifications); an app's secrets go SOPS-encrypted into its deploy path, where Flux decrypts them`;
const instance = (patches: unknown[]) =>
  res("kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "flux", { apiVersion: "fluxcd.controlplane.io/v1", kind: "FluxInstance", metadata: { name: "flux", namespace: "flux-system" }, spec: { kustomize: { patches } } });

describe("flux-secrets-sops-only", () => {
  it("passes the platform's own credential Secrets and clean manifests", async () => {
    expect(await messages(fluxSecretsSopsOnly, [deployKeyComponent, platformSecret], { config: emptyRoot })).toEqual([]);
  });

  it("refuses a Secret the program declares that is not a platform credential", async () => {
    const found = await violations(fluxSecretsSopsOnly, [appSecret], { config: emptyRoot });
    expect(found.map((v) => [v.resource, v.message])).toEqual([
      [
        appSecret.urn,
        NOT_PLATFORM("Secret", "orders/db"),
      ],
    ]);
    // The platform's label is no exemption: anyone can set it. What counts is which component declares the Secret.
    const labelled = withInputs(appSecret, { metadata: { name: "db", namespace: "orders", labels: { "app.kubernetes.io/part-of": "gitops-platform" } } });
    const registry = { ...res("gitops-platform:aws:Registry", "registry"), custom: false };
    const underOther = res("kubernetes:core/v1:Secret", "other", { metadata: { name: "other", namespace: "orders" }, stringData: { a: "b" } }, { parent: registry });
    expect(await messages(fluxSecretsSopsOnly, [labelled, registry, underOther], { config: emptyRoot })).toEqual([NOT_PLATFORM("Secret", "orders/db"), NOT_PLATFORM("Secret", "orders/other")]);
  });

  it("refuses a plaintext Secret under the configured manifest paths", async () => {
    const root = tree({ "clusters/staging/db.yaml": PLAIN_SECRET, "examples/orders/secret.yaml": ENCRYPTED_SECRET });
    expect(await messages(fluxSecretsSopsOnly, [], { config: { manifestRoot: root, manifestPaths: ["clusters", "examples"] } })).toEqual([
      'clusters/staging/db.yaml: Secret "db" has plaintext stringData and no SOPS metadata; only SOPS-encrypted Secrets belong in Git (sops --encrypt --in-place clusters/staging/db.yaml)',
    ]);
  });

  it("reads the manifest paths from the repository root by default", async () => {
    expect(await messages(fluxSecretsSopsOnly, [], { config: { manifestPaths: ["test/fixtures/sops/plaintext"] } })).toEqual([
      'test/fixtures/sops/plaintext/secret.yaml: Secret "db" has plaintext stringData and no SOPS metadata; only SOPS-encrypted Secrets belong in Git (sops --encrypt --in-place test/fixtures/sops/plaintext/secret.yaml)',
    ]);
  });

  it("refuses inline Flux patches that write Secret data, strategic-merge or JSON 6902", async () => {
    const serviceAccount = { patch: "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: kustomize-controller\n", target: { kind: "ServiceAccount" } };
    const merge = { patch: "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n", target: { kind: "Secret", name: "db" } };
    const json6902 = { patch: "- op: add\n  path: /data/password\n  value: aHVudGVyMg==\n", target: { kind: "Secret", name: "db" } };
    const removal = { patch: "- op: remove\n  path: /data/password\n", target: { kind: "Secret", name: "db" } };
    expect(await messages(fluxSecretsSopsOnly, [instance([serviceAccount, removal])], { config: emptyRoot })).toEqual([]);
    expect(await messages(fluxSecretsSopsOnly, [instance([serviceAccount, merge, json6902])], { config: emptyRoot })).toEqual([
      'patches[1] of FluxInstance "flux" writes Secret data in plaintext; put the Secret SOPS-encrypted in the applied path instead',
      'patches[2] of FluxInstance "flux" writes Secret data in plaintext; put the Secret SOPS-encrypted in the applied path instead',
    ]);
    const kustomization = res("kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", "orders", { metadata: { name: "orders", namespace: "flux-system" }, spec: { patches: [merge] } });
    expect(await messages(fluxSecretsSopsOnly, [kustomization], { config: emptyRoot })).toEqual([
      'patches[0] of Kustomization "orders" writes Secret data in plaintext; put the Secret SOPS-encrypted in the applied path instead',
    ]);
  });

  it("notes an unknown patch that may target a Secret, and skips unknown patches aimed at other kinds", async () => {
    const unknownOther = { patch: UNKNOWN, target: { kind: "ServiceAccount" } };
    expect(await violations(fluxSecretsSopsOnly, [instance([unknownOther])], { config: emptyRoot })).toEqual([]);
    const found = await violations(fluxSecretsSopsOnly, [instance([unknownOther, { patch: UNKNOWN, target: { kind: "Secret" } }])], { config: emptyRoot });
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([["advisory", unknownNote("flux-secrets-sops-only", "spec.kustomize.patches.1.patch")]]);
  });

  it("refuses a SecretPatch with data, and a JSON 6902 patch aimed at a Secret by name only", async () => {
    const patch = res("kubernetes:core/v1:SecretPatch", "db", { metadata: { name: "db", namespace: "orders" }, stringData: { password: "hunter2" } });
    expect(await messages(fluxSecretsSopsOnly, [patch], { config: emptyRoot })).toEqual([NOT_PLATFORM("SecretPatch", "orders/db")]);
    const byName = res("kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", "orders", {
      metadata: { name: "orders", namespace: "flux-system" },
      spec: { patches: [{ patch: "- op: add\n  path: /data/password\n  value: aHVudGVyMg==\n", target: { name: "db" } }] },
    });
    expect(await messages(fluxSecretsSopsOnly, [byName], { config: emptyRoot })).toEqual([
      'patches[0] of Kustomization "orders" writes Secret data in plaintext; put the Secret SOPS-encrypted in the applied path instead',
    ]);
  });

  it("checks the paths Flux syncs: the FluxInstance's spec.sync.path and the Kustomizations of its source, wherever they are", async () => {
    const root = tree({ "flux/staging/db.yaml": PLAIN_SECRET, "flux/apps/db.yaml": PLAIN_SECRET, "other/db.yaml": PLAIN_SECRET });
    const synced = res("kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "flux", {
      metadata: { name: "flux", namespace: "flux-system" },
      spec: { sync: { kind: "GitRepository", url: "ssh://git@github.com/acme-corp/gitops-platform.git", ref: "refs/heads/staging", path: "flux/staging" } },
    });
    const ofSync = res("kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", "apps", { metadata: { name: "apps", namespace: "flux-system" }, spec: { path: "./flux/apps", sourceRef: { kind: "GitRepository", name: "flux-system" } } });
    const ofApp = res("kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", "orders", { metadata: { name: "orders", namespace: "flux-system" }, spec: { path: "./other", sourceRef: { kind: "GitRepository", name: "orders" } } });
    const plain = (file: string) => `${file}: Secret "db" has plaintext stringData and no SOPS metadata; only SOPS-encrypted Secrets belong in Git (sops --encrypt --in-place ${file})`;
    expect(await messages(fluxSecretsSopsOnly, [synced, ofSync, ofApp], { config: { manifestRoot: root } })).toEqual([plain("flux/apps/db.yaml"), plain("flux/staging/db.yaml")]);
    // Kustomizations in the synced files that apply another path of this repository are followed.
    const chained = tree({
      "flux/staging/infra.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: { name: infra, namespace: flux-system }\nspec:\n  path: ./infra/\n  sourceRef: { kind: GitRepository, name: flux-system }\n",
      "flux/staging/other.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: { name: other, namespace: flux-system }\nspec:\n  path: ./other\n  sourceRef: { kind: GitRepository, name: orders }\n",
      "flux/staging/escape.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: { name: escape, namespace: flux-system }\nspec:\n  path: ../elsewhere\n  sourceRef: { kind: GitRepository, name: flux-system }\n",
      "infra/db.yaml": PLAIN_SECRET,
      "other/db.yaml": PLAIN_SECRET,
    });
    expect(await messages(fluxSecretsSopsOnly, [synced], { config: { manifestRoot: chained } })).toEqual([
      "../elsewhere: Flux applies this path, but it is outside the repository; nothing there could be checked",
      plain("infra/db.yaml"),
    ]);
    const missing = withInputs(synced, { spec: { sync: { kind: "GitRepository", url: "ssh://git@github.com/acme-corp/gitops-platform.git", ref: "refs/heads/staging", path: "clusters/staging" } } });
    expect(await messages(fluxSecretsSopsOnly, [missing], { config: { manifestRoot: root } })).toEqual([
      `clusters/staging: Flux applies this path, but it does not exist under ${root}; nothing there could be checked`,
    ]);
  });

  it("finds the repository root above a bundled copy of the rules, not just one level up", () => {
    expect(repositoryRoot(path.join(ROOT, "tools", "plan"))).toBe(ROOT);
    expect(repositoryRoot(path.join(ROOT, "policies"))).toBe(ROOT);
    expect(repositoryRoot(os.tmpdir())).toBeUndefined();
  });

  it("a pack outside its project (published) checks an absolute manifestRoot, and says so when it has none", () => {
    const published = fs.mkdtempSync(path.join(os.tmpdir(), "published-pack-"));
    // A Pulumi project above the pack that is not the pack's own is no checkout of it.
    fs.writeFileSync(path.join(published, "Pulumi.yaml"), "name: other\nruntime: nodejs\n");
    const pack = path.join(published, "pack");
    fs.mkdirSync(pack);
    expect(manifestRootOf(".", pack)).toEqual({
      problem: `the pack runs from ${pack}, inside no checkout of its project (no Pulumi.yaml above it next to policies/PulumiPolicy.yaml), so manifestRoot "." is relative to nothing and no file Flux applies could be checked; set manifestRoot in the policy config to the absolute path of the config repository's checkout`,
    });
    expect(manifestRootOf(ROOT, pack)).toEqual({ root: ROOT });
    expect(manifestRootOf(path.join(published, "missing"), pack)).toEqual({
      problem: `manifestRoot ${path.join(published, "missing")} is not a directory; no file Flux applies could be checked; set manifestRoot in the policy config to the config repository's checkout`,
    });
    expect(manifestRootOf(".", path.join(ROOT, "policies"))).toEqual({ root: ROOT });
    expect(manifestRootOf("clusters", path.join(ROOT, "policies"))).toEqual({ root: path.join(ROOT, "clusters") });
    fs.rmSync(published, { recursive: true, force: true });
  });
});
