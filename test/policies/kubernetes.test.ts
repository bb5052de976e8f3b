import { describe, expect, it } from "vitest";
import { k8sImageDigest, k8sPodSecurity, k8sResourcesProbes } from "../../policies/kubernetes";
import { DIGEST, deployment, hardenedContainer } from "./k8s-fixtures";
import { messages, res, stackUnknownNote, UNKNOWN, violations, withInputs } from "./harness";

const context = (patch: object) => ({ ...hardenedContainer, securityContext: { ...hardenedContainer.securityContext, ...patch } });

describe("k8s-pod-security", () => {
  it("passes a hardened workload", async () => {
    expect(await messages(k8sPodSecurity, [deployment()])).toEqual([]);
  });

  it("passes what the restricted standard allows: NET_BIND_SERVICE, Localhost profiles, safe sysctls, allowed volumes and SELinux types, Default procMount", async () => {
    const pod = {
      securityContext: {
        runAsNonRoot: true,
        seccompProfile: { type: "Localhost", localhostProfile: "profiles/app.json" },
        appArmorProfile: { type: "RuntimeDefault" },
        seLinuxOptions: { type: "container_t", level: "s0:c123,c456" },
        sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }, { name: "net.ipv4.tcp_keepalive_time", value: "600" }],
      },
      volumes: ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim", "projected", "secret"].map((type) => ({ name: type.toLowerCase(), [type]: {} })),
    };
    const container = context({ capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] }, procMount: "Default", appArmorProfile: { type: "Localhost", localhostProfile: "k8s-app" } });
    expect(await messages(k8sPodSecurity, [deployment({ ...container, ports: [{ containerPort: 80, hostPort: 0 }] }, pod)])).toEqual([]);
  });

  it("fails root", async () => {
    const pod = { securityContext: { seccompProfile: { type: "RuntimeDefault" } } };
    expect(await messages(k8sPodSecurity, [deployment(hardenedContainer, pod)])).toEqual(['container "manager" must run as non-root (runAsNonRoot: true)']);
  });

  it("fails runAsNonRoot: false on the pod or a container, and UID 0 on either", async () => {
    const pod = { securityContext: { runAsNonRoot: false, runAsUser: 0, seccompProfile: { type: "RuntimeDefault" } } };
    expect(await messages(k8sPodSecurity, [deployment(context({ runAsNonRoot: true }), pod)])).toEqual([
      "pod must not set securityContext.runAsNonRoot: false",
      "pod must not set securityContext.runAsUser: 0",
    ]);
    expect(await messages(k8sPodSecurity, [deployment(context({ runAsNonRoot: false, runAsUser: 0 }))])).toEqual([
      'container "manager" must not run as UID 0',
      'container "manager" must run as non-root (runAsNonRoot: true)',
    ]);
  });

  it("fails privilege escalation", async () => {
    expect(await messages(k8sPodSecurity, [deployment(context({ allowPrivilegeEscalation: true }))])).toEqual(['container "manager" must set allowPrivilegeEscalation: false']);
  });

  it("fails capabilities not dropped, and added ones", async () => {
    expect(await messages(k8sPodSecurity, [deployment(context({ capabilities: { add: ["SYS_ADMIN"] } }))])).toEqual([
      'container "manager" must drop ALL capabilities',
      'container "manager" must not add capabilities (SYS_ADMIN)',
    ]);
  });

  it("fails a missing seccomp profile", async () => {
    expect(await messages(k8sPodSecurity, [deployment(hardenedContainer, { securityContext: { runAsNonRoot: true } })])).toEqual([
      'container "manager" must use the RuntimeDefault seccomp profile',
    ]);
  });

  it("fails seccomp Unconfined on a container even when the pod sets RuntimeDefault, and on the pod even when every container overrides it", async () => {
    expect(await messages(k8sPodSecurity, [deployment(context({ seccompProfile: { type: "Unconfined" } }))])).toEqual([
      'container "manager" must use the RuntimeDefault seccomp profile',
    ]);
    const pod = { securityContext: { runAsNonRoot: true, seccompProfile: { type: "Unconfined" } } };
    expect(await messages(k8sPodSecurity, [deployment(context({ seccompProfile: { type: "RuntimeDefault" } }), pod)])).toEqual([
      'pod must not set securityContext.seccompProfile.type: "Unconfined"',
    ]);
  });

  it("fails a writable root filesystem", async () => {
    expect(await messages(k8sPodSecurity, [deployment(context({ readOnlyRootFilesystem: false }))])).toEqual(['container "manager" must set readOnlyRootFilesystem: true']);
  });

  it("fails privileged containers and host namespaces, also in init containers of a StatefulSet", async () => {
    const base = deployment(hardenedContainer, { hostNetwork: true, initContainers: [context({ privileged: true })] });
    const statefulSet = { ...base, type: "kubernetes:apps/v1:StatefulSet" };
    expect(await messages(k8sPodSecurity, [statefulSet])).toEqual(['init container "manager" must not be privileged', "pod must not set hostNetwork: true"]);
  });

  it("fails hostPID and hostIPC", async () => {
    expect(await messages(k8sPodSecurity, [deployment(hardenedContainer, { hostPID: true, hostIPC: true })])).toEqual([
      "pod must not set hostIPC: true",
      "pod must not set hostPID: true",
    ]);
  });

  it("fails hostPath and every other volume type the standard does not allow", async () => {
    const volumes = [
      { name: "host", hostPath: { path: "/var/run/docker.sock" } },
      { name: "nfs", nfs: { server: "10.0.0.1", path: "/" } },
      { name: "repo", gitRepo: { repository: "https://example.com/x.git" } },
      { name: "data", persistentVolumeClaim: { claimName: "data" } },
    ];
    expect(await messages(k8sPodSecurity, [deployment(hardenedContainer, { volumes })])).toEqual([
      'volume "host" uses hostPath; only configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected, secret volumes are allowed',
      'volume "nfs" uses nfs; only configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected, secret volumes are allowed',
      'volume "repo" uses gitRepo; only configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected, secret volumes are allowed',
    ]);
  });

  it("fails host ports", async () => {
    expect(await messages(k8sPodSecurity, [deployment({ ...hardenedContainer, ports: [{ containerPort: 8080, hostPort: 8080 }, { containerPort: 9090 }] })])).toEqual([
      'container "manager" must not use host port 8080',
    ]);
  });

  it("fails probe and lifecycle hosts", async () => {
    const container = {
      ...hardenedContainer,
      livenessProbe: { httpGet: { host: "169.254.169.254", path: "/", port: 80 } },
      lifecycle: { preStop: { tcpSocket: { host: "10.0.0.1", port: 22 } } },
    };
    expect(await messages(k8sPodSecurity, [deployment(container)])).toEqual([
      'container "manager" lifecycle.preStop must not set tcpSocket.host ("10.0.0.1"); probes and hooks reach the pod\'s own address',
      'container "manager" livenessProbe must not set httpGet.host ("169.254.169.254"); probes and hooks reach the pod\'s own address',
    ]);
  });

  it("fails a procMount other than Default", async () => {
    expect(await messages(k8sPodSecurity, [deployment(context({ procMount: "Unmasked" }))])).toEqual(['container "manager" must not set securityContext.procMount: "Unmasked"']);
  });

  it("fails unsafe sysctls", async () => {
    const pod = { securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" }, sysctls: [{ name: "kernel.msgmax", value: "65536" }] } };
    expect(await messages(k8sPodSecurity, [deployment(hardenedContainer, pod)])).toEqual([
      'pod must not set the unsafe sysctl "kernel.msgmax"; only kernel.shm_rmid_forced, net.ipv4.ip_local_port_range, net.ipv4.tcp_syncookies, net.ipv4.ping_group_range, net.ipv4.ip_unprivileged_port_start, net.ipv4.ip_local_reserved_ports, net.ipv4.tcp_keepalive_time, net.ipv4.tcp_fin_timeout, net.ipv4.tcp_keepalive_intvl, net.ipv4.tcp_keepalive_probes, net.ipv4.tcp_rmem, net.ipv4.tcp_wmem are allowed',
    ]);
  });

  it("fails AppArmor Unconfined, in the field and in the annotation", async () => {
    expect(await messages(k8sPodSecurity, [deployment(context({ appArmorProfile: { type: "Unconfined" } }))])).toEqual([
      'container "manager" must not set securityContext.appArmorProfile.type: "Unconfined"; use RuntimeDefault or Localhost',
    ]);
    const annotated = deployment();
    const inputs = structuredClone(annotated.inputs) as { spec: { template: { metadata: Record<string, unknown> } } };
    inputs.spec.template.metadata.annotations = { "container.apparmor.security.beta.kubernetes.io/manager": "unconfined" };
    expect(await messages(k8sPodSecurity, [{ ...annotated, inputs }])).toEqual([
      'pod annotation container.apparmor.security.beta.kubernetes.io/manager must be runtime/default or localhost/<profile>, got "unconfined"',
    ]);
  });

  it("fails SELinux types, users and roles the standard forbids", async () => {
    expect(await messages(k8sPodSecurity, [deployment(context({ seLinuxOptions: { type: "spc_t", user: "system_u", role: "system_r" } }))])).toEqual([
      'container "manager" must not set securityContext.seLinuxOptions.role',
      'container "manager" must not set securityContext.seLinuxOptions.type: "spc_t"; allowed: container_t, container_init_t, container_kvm_t, container_engine_t',
      'container "manager" must not set securityContext.seLinuxOptions.user',
    ]);
  });

  it("fails Windows host processes", async () => {
    expect(await messages(k8sPodSecurity, [deployment(context({ windowsOptions: { hostProcess: true } }))])).toEqual([
      'container "manager" must not set securityContext.windowsOptions.hostProcess: true',
    ]);
  });

  it("exempts Windows pods from privilege escalation, capabilities and seccomp, as the standard does, and from a read-only root filesystem, which the API refuses on Windows", async () => {
    const windowsContainer = { ...hardenedContainer, securityContext: {} };
    expect(await messages(k8sPodSecurity, [deployment(windowsContainer, { os: { name: "windows" }, securityContext: { runAsNonRoot: true } })])).toEqual([]);
    // Everything else still applies to Windows pods.
    expect(await messages(k8sPodSecurity, [deployment(windowsContainer, { os: { name: "windows" }, hostNetwork: true, securityContext: {} })])).toEqual([
      'container "manager" must run as non-root (runAsNonRoot: true)',
      "pod must not set hostNetwork: true",
    ]);
  });

  it("checks ephemeral containers", async () => {
    expect(await messages(k8sPodSecurity, [deployment(hardenedContainer, { ephemeralContainers: [{ ...context({ privileged: true }), name: "debug" }] })])).toEqual([
      'ephemeral container "debug" must not be privileged',
    ]);
  });

  it("checks bare Pods and CronJobs as well as workloads", async () => {
    const podSpec = { securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } }, containers: [context({ privileged: true })] };
    const pod = res("kubernetes:core/v1:Pod", "debug", { apiVersion: "v1", kind: "Pod", metadata: { name: "debug" }, spec: podSpec });
    const cronJob = res("kubernetes:batch/v1:CronJob", "cleanup", {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "cleanup" },
      spec: { schedule: "0 * * * *", jobTemplate: { spec: { template: { spec: { ...podSpec, restartPolicy: "Never" } } } } },
    });
    expect(await messages(k8sPodSecurity, [pod, cronJob])).toEqual(['container "manager" must not be privileged', 'container "manager" must not be privileged']);
    expect(await messages(k8sImageDigest, [withInputs(pod, { spec: { ...podSpec, containers: [{ ...hardenedContainer, image: "busybox:latest" }] } })])).toEqual([
      'container "manager" image "busybox:latest" is not pinned by digest (@sha256:<64 hex digits>)',
      'container "manager" image "busybox:latest" uses the latest tag; name a release tag and pin its digest (@sha256:...)',
    ]);
  });

  const hostile = { ...hardenedContainer, securityContext: { ...hardenedContainer.securityContext, privileged: true } };
  const podSpec = { securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } }, containers: [hostile] };
  const template = { metadata: { labels: { app: "x" } }, spec: podSpec };

  it.each([
    ["ReplicationController", "kubernetes:core/v1:ReplicationController", { spec: { template } }],
    ["ReplicaSet of an older API version", "kubernetes:extensions/v1beta1:ReplicaSet", { spec: { template } }],
    ["DaemonSet", "kubernetes:apps/v1:DaemonSet", { spec: { template } }],
    ["Job", "kubernetes:batch/v1:Job", { spec: { template } }],
    ["PodTemplate", "kubernetes:core/v1:PodTemplate", { template }],
    ["core Pod declared through CustomResource", "kubernetes:v1:Pod", { apiVersion: "v1", kind: "Pod", spec: podSpec }],
    ["Deployment declared through CustomResource", "kubernetes:apps/v1:Deployment", { apiVersion: "apps/v1", kind: "Deployment", spec: { template } }],
    ["DeploymentPatch", "kubernetes:apps/v1:DeploymentPatch", { spec: { template } }],
    ["CronJobPatch", "kubernetes:batch/v1:CronJobPatch", { spec: { jobTemplate: { spec: { template } } } }],
    ["Pod patch declared through CustomResourcePatch", "kubernetes:v1:PodPatch", { spec: podSpec }],
  ])("checks a %s", async (_kind, type, inputs) => {
    expect(await messages(k8sPodSecurity, [res(type, "x", { metadata: { name: "x" }, ...inputs })])).toEqual(['container "manager" must not be privileged']);
  });

  it("does not mistake a custom resource of another group for a pod kind", async () => {
    expect(await messages(k8sPodSecurity, [res("kubernetes:example.com/v1:Pod", "x", { spec: podSpec })])).toEqual([]);
  });

  it("judges only what a patch sets: omitted fields keep the live object's values", async () => {
    const patch = res("kubernetes:apps/v1:DeploymentPatch", "scale", { metadata: { name: "web" }, spec: { replicas: 3, template: { spec: { containers: [{ name: "web" }] } } } });
    expect(await messages(k8sPodSecurity, [patch])).toEqual([]);
    expect(await messages(k8sImageDigest, [patch])).toEqual([]);
    const escalating = withInputs(patch, { spec: { template: { spec: { containers: [{ name: "web", securityContext: { allowPrivilegeEscalation: true, runAsNonRoot: false } }] } } } });
    expect(await messages(k8sPodSecurity, [escalating])).toEqual([
      'container "web" must run as non-root (runAsNonRoot: true)',
      'container "web" must set allowPrivilegeEscalation: false',
    ]);
  });

  it("checks objects given inline to a ConfigGroup, as objects and as YAML, naming each object", async () => {
    const yaml = [
      "apiVersion: v1",
      "kind: Pod",
      "metadata: { name: shell }",
      "spec:",
      "  hostPID: true",
      "  securityContext: { runAsNonRoot: true, seccompProfile: { type: RuntimeDefault } }",
      `  containers: [{ name: sh, image: "busybox@${DIGEST}", securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: [ALL] } } }]`,
    ].join("\n");
    const group = res("kubernetes:yaml/v2:ConfigGroup", "extras", {
      objs: [{ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web" }, spec: { template } }, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } }],
      yaml: [`---\n${yaml}\n`],
    });
    expect(await messages(k8sPodSecurity, [group])).toEqual(['Deployment "web": container "manager" must not be privileged', 'Pod "shell": pod must not set hostPID: true']);
  });

  it("reports inline YAML that does not parse instead of passing it", async () => {
    const group = res("kubernetes:yaml/v2:ConfigGroup", "broken", { yaml: ["kind: Pod\nspec: [unclosed\n"] });
    expect(await messages(k8sPodSecurity, [group])).toEqual(["yaml[0] does not parse (deficient indentation (3:1)), so its objects cannot be checked"]);
  });

  it("notes manifest files whose objects the run has not registered, instead of passing them", async () => {
    const file = res("kubernetes:yaml/v2:ConfigFile", "extras", { file: "manifests/extras.yaml" });
    const found = await violations(k8sPodSecurity, [file]);
    expect(found.map((v) => [v.enforcementLevel, v.resource, v.message])).toEqual([
      ["advisory", file.urn, '"manifests/extras.yaml" is read by the provider and its objects are not registered in this run, so their pods cannot be checked here'],
    ]);
    const child = res("kubernetes:apps/v1:Deployment", "extras:web", { metadata: { name: "web" }, spec: { template } }, { parent: file });
    expect((await violations(k8sPodSecurity, [file, child])).map((v) => [v.resource, v.message])).toEqual([[child.urn, 'container "manager" must not be privileged']]);
  });

  it("leaves a ConfigGroup's objects to its registered children", async () => {
    const group = res("kubernetes:yaml/v2:ConfigGroup", "extras", { objs: [{ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web" }, spec: { template } }] });
    const child = res("kubernetes:apps/v1:Deployment", "extras:web", { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web" }, spec: { template } }, { parent: group });
    const found = await violations(k8sPodSecurity, [group, child]);
    expect(found.map((v) => [v.resource, v.message])).toEqual([[child.urn, 'container "manager" must not be privileged']]);
  });

  it("notes a security context unknown during preview, naming the resource, and still judges the others", async () => {
    const hostileDeployment = { ...deployment(context({ privileged: true })), name: "other", urn: deployment().urn.replace(/flux-operator$/, "other") };
    const found = await violations(k8sPodSecurity, [deployment(context({ allowPrivilegeEscalation: UNKNOWN })), hostileDeployment]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([
      ["mandatory", 'container "manager" must not be privileged'],
      [
        "advisory",
        stackUnknownNote("k8s-pod-security", 'kubernetes:apps/v1:Deployment "flux-operator": string value at .spec.template.spec.containers.0.securityContext.allowPrivilegeEscalation'),
      ],
    ]);
  });
});

describe("k8s-resources-probes", () => {
  it("passes requests, limits and probes", async () => {
    expect(await messages(k8sResourcesProbes, [deployment()])).toEqual([]);
  });

  it("fails missing limits", async () => {
    expect(await messages(k8sResourcesProbes, [deployment({ ...hardenedContainer, resources: { requests: { cpu: "100m", memory: "64Mi" } } })])).toEqual([
      'container "manager" must set resources limits.cpu, limits.memory',
    ]);
  });

  it("fails missing probes", async () => {
    expect(await messages(k8sResourcesProbes, [deployment({ ...hardenedContainer, livenessProbe: undefined, readinessProbe: undefined })])).toEqual([
      'container "manager" must have a livenessProbe',
      'container "manager" must have a readinessProbe',
    ]);
  });
});

describe("k8s-image-digest", () => {
  it("passes an image pinned by digest", async () => {
    expect(await messages(k8sImageDigest, [deployment()])).toEqual([]);
  });

  it("fails a tag without digest", async () => {
    expect(await messages(k8sImageDigest, [deployment({ ...hardenedContainer, image: "ghcr.io/fluxcd/source-controller:v1.7.0" })])).toEqual([
      'container "manager" image "ghcr.io/fluxcd/source-controller:v1.7.0" is not pinned by digest (@sha256:<64 hex digits>)',
    ]);
  });

  it("fails latest, named or implied", async () => {
    expect(await messages(k8sImageDigest, [deployment({ ...hardenedContainer, image: `nginx:latest@${DIGEST}` })])).toEqual([
      `container "manager" image "nginx:latest@${DIGEST}" uses the latest tag; name a release tag and pin its digest (@sha256:...)`,
    ]);
    expect(await messages(k8sImageDigest, [deployment({ ...hardenedContainer, image: "registry.local:5000/nginx" })])).toEqual([
      'container "manager" image "registry.local:5000/nginx" has no tag or digest, which means latest; pin it by digest (@sha256:...)',
    ]);
  });
});
