import { describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { FluxNamespace } from "../../components/k8s/flux-namespace";
import { RECONCILER_DEFAULTS } from "../../components/config";
import { WEBHOOK_RECEIVER_DEFAULTS } from "../../components/k8s/webhook-receiver";
import { Reconciler, ecrReadPolicy, repositoryUrlKey, type ReconcilerArgs } from "../../components/k8s/reconciler";
import { findResource, isUnknown, resourcesOfType, runProgram, type PlanResult } from "../../tools/engine";
import {
  BUCKET,
  FLUX_COMPONENTS_WITH_IMAGES,
  ROLE_ARN,
  ROLE_NAME,
  SECURITY_GROUP,
  WAF_ACL,
  WEBHOOK,
  fluxObject,
  fluxSchemaErrors,
  kubernetesObjects,
  modelErrors,
  runReconciler,
} from "../support/reconciler";

type Json = Record<string, unknown>;
const spec = (result: PlanResult, kind: string, name: string) => fluxObject(result, kind, name).inputs.spec as Json;
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"]);
const FLUX_KINDS = new Set(["FluxInstance", "GitRepository", "Kustomization", "ImageRepository", "ImagePolicy", "ImageUpdateAutomation", "Receiver"]);

describe("Reconciler (staging example config, webhook on)", async () => {
  const staging = await runReconciler("staging", { reconciler: { webhook: WEBHOOK } });

  it("declares every object with apiVersion, kind, name and (when namespaced) the Flux namespace, or the app's own for its Role and RoleBinding", () => {
    const objects = kubernetesObjects(staging);
    expect(objects.map((r) => `${String(r.inputs.kind)}/${String((r.inputs.metadata as Json).name)}`).sort()).toEqual(
      [
        "CustomResourceDefinition/fluxinstances.fluxcd.controlplane.io",
        "CustomResourceDefinition/fluxreports.fluxcd.controlplane.io",
        "CustomResourceDefinition/resourcesetinputproviders.fluxcd.controlplane.io",
        "CustomResourceDefinition/resourcesets.fluxcd.controlplane.io",
        "Namespace/orders",
        "Namespace/payments",
        "RoleBinding/orders-reconciler",
        "RoleBinding/payments-reconciler",
        "Role/orders-tenant",
        "Role/payments-tenant",
        "ServiceAccount/orders-reconciler",
        "ServiceAccount/payments-reconciler",
        "ClusterRole/flux-operator-edit",
        "ClusterRole/flux-operator-view",
        "ClusterRoleBinding/flux-operator-cluster-admin",
        "ConfigMap/platform-metadata",
        "Deployment/flux-operator",
        "FluxInstance/flux",
        "GitRepository/orders",
        "GitRepository/payments",
        "ImagePolicy/orders",
        "ImageRepository/orders",
        "ImageUpdateAutomation/orders",
        "Ingress/webhook-receiver",
        "Kustomization/orders",
        "Kustomization/payments",
        "Namespace/flux-system",
        "NetworkPolicy/allow-intra-namespace",
        "NetworkPolicy/allow-metrics",
        "NetworkPolicy/allow-webhook-receiver",
        "NetworkPolicy/default-deny-ingress",
        "Receiver/github",
        "Secret/github-receiver-token",
        "Service/flux-operator",
        "ServiceAccount/flux-operator",
      ].sort(),
    );
    for (const object of objects) {
      const metadata = object.inputs.metadata as Json;
      expect(typeof object.inputs.apiVersion, object.name).toBe("string");
      expect(typeof metadata.name, object.name).toBe("string");
      const appNamespace =
        object.inputs.kind === "RoleBinding" ? String(metadata.name).replace(/-reconciler$/, "") : object.inputs.kind === "Role" ? String(metadata.name).replace(/-tenant$/, "") : "flux-system";
      expect(metadata.namespace, object.name).toBe(CLUSTER_SCOPED.has(String(object.inputs.kind)) ? undefined : appNamespace);
    }
  });

  it("validates every Flux object against the upstream CRD schema", () => {
    const flux = kubernetesObjects(staging).filter((r) => FLUX_KINDS.has(String(r.inputs.kind)));
    expect(flux).toHaveLength(9);
    for (const object of flux) expect(fluxSchemaErrors(object.inputs), `${String(object.inputs.kind)} ${object.name}`).toEqual([]);
  });

  it("validates every core object with kubernetes-models", async () => {
    const core = kubernetesObjects(staging).filter((r) => !FLUX_KINDS.has(String(r.inputs.kind)));
    expect(core).toHaveLength(26);
    for (const object of core) {
      // The token is unknown until the password exists; the model checks the rest of the Secret.
      let inputs = isUnknown(object.inputs.stringData) ? { ...object.inputs, stringData: {} } : object.inputs;
      // So is the receiver's path, which derives from it; the model checks the rest of the Ingress.
      if (object.inputs.kind === "Ingress") inputs = JSON.parse(JSON.stringify(inputs).replace(/"path":"[^"]*"/, `"path":"/hook/${"0".repeat(64)}"`)) as Json;
      expect(await modelErrors(inputs), `${String(object.inputs.kind)} ${object.name}`).toBe("");
    }
  });

  it("the schema validator rejects a wrong Flux object, so the check above can fail", () => {
    const receiver = fluxObject(staging, "Receiver", "github").inputs;
    expect(fluxSchemaErrors({ ...receiver, spec: { ...(receiver.spec as Json), type: "githb" } })).toEqual([
      "/spec/type must be equal to one of the allowed values",
    ]);
    const repository = fluxObject(staging, "GitRepository", "orders").inputs;
    expect(fluxSchemaErrors({ ...repository, spec: { ...(repository.spec as Json), interval: "5 minutes" } })).toEqual([
      '/spec/interval must match pattern "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"',
    ]);
  });

  it("installs Flux with image automation and syncs the environment branch with the config repo's key", () => {
    expect(spec(staging, "FluxInstance", "flux")).toMatchObject({
      distribution: { version: "2.7.3", registry: "ghcr.io/fluxcd" },
      components: FLUX_COMPONENTS_WITH_IMAGES,
      cluster: { type: "aws", networkPolicy: true, multitenant: true },
      sync: {
        kind: "GitRepository",
        name: "flux-system",
        url: "ssh://git@github.com/acme-corp/gitops-platform.git",
        ref: "refs/heads/staging",
        path: "clusters/staging",
        pullSecret: "flux-gitops-platform",
        interval: "1m",
      },
    });
  });

  it("pulls every app with its own key and applies its path as the app, into its namespace, with pruning and substitution", () => {
    expect(spec(staging, "GitRepository", "orders")).toEqual({
      interval: "5m",
      url: "ssh://git@github.com/acme-corp/orders.git",
      ref: { branch: "main" },
      secretRef: { name: "flux-orders" },
    });
    expect(spec(staging, "Kustomization", "payments")).toEqual({
      interval: "5m",
      path: "./deploy/staging",
      prune: true,
      sourceRef: { kind: "GitRepository", name: "payments" },
      serviceAccountName: "payments-reconciler",
      targetNamespace: "payments",
      dependsOn: [{ name: "flux-system" }],
      postBuild: {
        substitute: { IMAGE_REPOSITORY: "111111111111.dkr.ecr.eu-west-1.amazonaws.com/staging/payments" },
        substituteFrom: [
          { kind: "ConfigMap", name: "platform-metadata" },
          { kind: "ConfigMap", name: "payments-image" },
        ],
      },
    });
  });

  it("hands region, account, bucket, repository URLs and the role ARN to manifests", () => {
    expect(findResource(staging, "kubernetes:core/v1:ConfigMap", "reconciler-metadata").inputs.data).toEqual({
      ENVIRONMENT: "staging",
      AWS_REGION: "eu-west-1",
      AWS_ACCOUNT_ID: "111111111111",
      STORAGE_BUCKET: BUCKET,
      IMAGE_REFLECTOR_ROLE_ARN: ROLE_ARN,
      ECR_REPOSITORY_URL_ORDERS: "111111111111.dkr.ecr.eu-west-1.amazonaws.com/staging/orders",
      ECR_REPOSITORY_URL_PAYMENTS: "111111111111.dkr.ecr.eu-west-1.amazonaws.com/staging/payments",
    });
    expect(repositoryUrlKey("web-shop")).toBe("ECR_REPOSITORY_URL_WEB_SHOP");
    // A changed value re-applies the apps at once, like the image-tag ConfigMaps.
    expect((findResource(staging, "kubernetes:core/v1:ConfigMap", "reconciler-metadata").inputs.metadata as Json).labels).toEqual({
      "app.kubernetes.io/part-of": "gitops-platform",
      "reconcile.fluxcd.io/watch": "Enabled",
    });
  });

  it("grants ECR read on the automated apps' repositories only, and registry login", () => {
    const policy = findResource(staging, "aws:iam/rolePolicy:RolePolicy", "reconciler-ecr-read");
    expect(policy.inputs.role).toBe(ROLE_NAME);
    expect(JSON.parse(String(policy.inputs.policy))).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "ReadRepositories",
          Effect: "Allow",
          Action: [
            "ecr:BatchCheckLayerAvailability",
            "ecr:BatchGetImage",
            "ecr:DescribeImages",
            "ecr:DescribeRepositories",
            "ecr:GetDownloadUrlForLayer",
            "ecr:ListImages",
          ],
          Resource: ["arn:aws:ecr:eu-west-1:111111111111:repository/staging/orders"],
        },
        { Sid: "RegistryLogin", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
      ],
    });
    expect(ecrReadPolicy([])).toContain('"Resource":[]');
  });

  it("orders the apply: operator, then instance (after the ConfigMap and the ECR policy), then Flux objects", () => {
    const urn = (type: string, name: string) => findResource(staging, type, name).urn;
    const instance = findResource(staging, "kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "reconciler-flux-instance");
    expect(instance.dependencies).toEqual(
      expect.arrayContaining([
        urn("kubernetes:apps/v1:Deployment", "reconciler-operator-deployment"),
        urn("kubernetes:core/v1:ConfigMap", "reconciler-metadata"),
        urn("aws:iam/rolePolicy:RolePolicy", "reconciler-ecr-read"),
      ]),
    );
    for (const kind of ["GitRepository", "Kustomization", "ImageRepository", "ImagePolicy", "ImageUpdateAutomation", "Receiver"]) {
      for (const object of kubernetesObjects(staging).filter((r) => r.inputs.kind === kind)) {
        expect(object.dependencies, `${kind} ${object.name}`).toContain(instance.urn);
      }
    }
    expect(findResource(staging, "kubernetes:apps/v1:Deployment", "reconciler-operator-deployment").dependencies).toContain(
      urn("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", "reconciler-operator-crd-fluxinstances.fluxcd.controlplane.io"),
    );
  });

  it("puts every Kubernetes object on the given provider", () => {
    const provider = resourcesOfType(staging, "pulumi:providers:kubernetes")[0];
    for (const object of kubernetesObjects(staging)) expect(object.provider, object.name).toMatch(new RegExp(`^${provider?.urn}::`));
  });

  it("wires the receiver to every GitRepository and GitHub to the receiver, behind the Firewall", () => {
    expect(spec(staging, "Receiver", "github")).toEqual({
      type: "github",
      events: ["ping", "push"],
      secretRef: { name: "github-receiver-token" },
      resources: ["flux-system", "orders", "payments"].map((name) => ({ apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", name })),
    });
    const hooks = resourcesOfType(staging, "github:index/repositoryWebhook:RepositoryWebhook");
    expect(hooks.map((h) => h.inputs.repository)).toEqual(["gitops-platform", "orders", "payments"]);
    const annotations = (findResource(staging, "kubernetes:networking.k8s.io/v1:Ingress", "reconciler-webhook-ingress").inputs.metadata as Json).annotations;
    expect(annotations).toMatchObject({
      "alb.ingress.kubernetes.io/security-groups": SECURITY_GROUP,
      "alb.ingress.kubernetes.io/wafv2-acl-arn": WAF_ACL,
      "alb.ingress.kubernetes.io/certificate-arn": WEBHOOK.certificateArn,
    });
  });

  it("exposes the sync name, controllers, push branches and the webhook URL (secret, unknown in preview)", () => {
    expect(staging.outputs.syncName).toBe("flux-system");
    expect(staging.outputs.components).toHaveLength(6);
    expect(staging.outputs.pushBranches).toEqual({ orders: "image-updates/staging" });
    expect(isUnknown(staging.outputs.webhookUrl)).toBe(true);
    expect(staging.outputSecretPaths).toContain("webhookUrl");
  });
});

describe("Reconciler: staging and prod differ only by their config", async () => {
  const [staging, prod] = [await runReconciler("staging"), await runReconciler("prod")];

  it("automates images in staging only: bumps the shared tag files on staging's own branch; prod has no image objects", () => {
    expect(spec(staging, "ImageUpdateAutomation", "orders").git).toEqual({
      checkout: { ref: { branch: "staging" } },
      commit: { author: { name: "fluxcdbot", email: "fluxcdbot@users.noreply.github.com" } },
      push: { branch: "image-updates/staging" },
    });
    expect(spec(staging, "ImageUpdateAutomation", "orders").update).toEqual({ path: "./clusters/base", strategy: "Setters" });
    expect(kubernetesObjects(prod).filter((r) => String(r.inputs.kind).startsWith("Image"))).toEqual([]);
    expect(spec(prod, "FluxInstance", "flux").components).toEqual(["source-controller", "kustomize-controller", "helm-controller", "notification-controller"]);
    expect(prod.outputs.pushBranches).toEqual({});
  });

  it("runs the same exact Flux version in staging and prod", () => {
    expect((spec(staging, "FluxInstance", "flux").distribution as Json).version).toBe("2.7.3");
    expect((spec(prod, "FluxInstance", "flux").distribution as Json).version).toBe("2.7.3");
  });

  it("runs the same operator image, by digest, in staging and prod", () => {
    const image = (result: PlanResult) =>
      (((findResource(result, "kubernetes:apps/v1:Deployment", "reconciler-operator-deployment").inputs.spec as Json).template as Json).spec as {
        containers: { image: string }[];
      }).containers[0]?.image;
    expect(image(prod)).toMatch(/^ghcr\.io\/controlplaneio-fluxcd\/flux-operator:v0\.58\.1@sha256:[0-9a-f]{64}$/);
    expect(image(staging)).toBe(image(prod));
  });

  it("uses each app's interval and the semver range from config", () => {
    expect(spec(prod, "Kustomization", "orders").interval).toBe("10m");
    expect(spec(staging, "ImagePolicy", "orders").policy).toEqual({ semver: { range: ">=1.0.0" } });
  });

  it("declares no webhook objects when the webhook is not configured", async () => {
    const polling = await runReconciler("staging", { reconciler: { webhook: undefined } });
    expect(kubernetesObjects(polling).filter((r) => ["Receiver", "Ingress", "Secret"].includes(String(r.inputs.kind)))).toEqual([]);
    expect(resourcesOfType(polling, "github:index/repositoryWebhook:RepositoryWebhook")).toEqual([]);
    expect(kubernetesObjects(polling).some((r) => (r.inputs.metadata as Json).name === "allow-webhook-receiver")).toBe(false);
    expect(kubernetesObjects(staging).filter((r) => r.inputs.kind === "Receiver")).toHaveLength(1);
  });

  it("receives webhooks in both example stacks", () => {
    expect(kubernetesObjects(prod).filter((r) => r.inputs.kind === "Receiver")).toHaveLength(1);
  });
});

describe("Reconciler without image automation", async () => {
  const result = await runReconciler("staging", {
    apps: [{ name: "payments", repo: "acme-corp/payments", path: "deploy/staging" }],
    github: { configRepo: { deployKey: { readWrite: false } } },
  });

  it("installs only the core controllers and declares no automation, role annotation or ECR policy", () => {
    const instance = spec(result, "FluxInstance", "flux");
    expect(instance.components).toEqual(["source-controller", "kustomize-controller", "helm-controller", "notification-controller"]);
    const patches = (instance.kustomize as { patches: { target: { kind: string; name?: string } }[] }).patches;
    // No role annotation: the one Deployment patch is kustomize-controller's dependency requeue.
    expect(patches.map((p) => `${p.target.kind}/${p.target.name}`)).toEqual(["Deployment/kustomize-controller", "Kustomization/flux-system", "NetworkPolicy/allow-scraping", "NetworkPolicy/allow-webhooks"]);
    expect(kubernetesObjects(result).filter((r) => String(r.inputs.kind).startsWith("Image"))).toEqual([]);
    expect(resourcesOfType(result, "aws:iam/rolePolicy:RolePolicy")).toEqual([]);
    expect(findResource(result, "kubernetes:core/v1:ConfigMap", "reconciler-metadata").inputs.data).not.toHaveProperty("IMAGE_REFLECTOR_ROLE_ARN");
  });
});

describe("Reconciler: bad wiring fails with every problem named", () => {
  const args = (overrides: Partial<ReconcilerArgs>): ReconcilerArgs => ({
    environment: "staging",
    namespace: "flux-system",
    settings: { ...RECONCILER_DEFAULTS, webhook: { ...WEBHOOK, ...WEBHOOK_RECEIVER_DEFAULTS } },
    configRepo: { repo: "acme-corp/gitops-platform", branch: "staging", path: "clusters/staging", secretName: "flux-gitops-platform" },
    apps: [
      {
        name: "orders",
        repo: "acme-corp/orders",
        branch: "main",
        path: "deploy/staging",
        interval: "5m",
        secretName: "flux-orders",
        repository: { url: "example.invalid/orders", arn: "arn:aws:ecr:eu-west-1:111111111111:repository/orders" },
        imageAutomation: { policy: { semver: ">=1.0.0" }, interval: "5m", pushBranch: "image-updates/staging" },
      },
    ],
    aws: { region: "eu-west-1", accountId: "111111111111", bucketName: BUCKET },
    extraMetadata: { "CLUSTER-NAME": "x" },
    ...overrides,
  });

  it("refuses automation without the IRSA role, a webhook without exposure, and bad metadata keys", async () => {
    await expect(
      runProgram({
        stack: "staging",
        config: {},
        program: () => {
          new Reconciler("reconciler", args({}));
        },
      }),
    ).rejects.toThrow(
      [
        "gitops-platform:k8s:Reconciler reconciler:",
        "  - imageReflectorRole: required because orders use image automation",
        "  - webhookExposure: required because settings.webhook is set (the receiver's load balancer needs the Firewall's security groups)",
        "  - extraMetadata.CLUSTER-NAME: not a Flux variable name (letters, digits, '_', not starting with a digit)",
      ].join("\n"),
    );
  });

  it("accepts the same args once they are complete", async () => {
    const result = await runProgram({
      stack: "staging",
      config: {},
      program: () => {
        const namespace = new FluxNamespace("ns", { name: "flux-system" });
        new Reconciler(
          "reconciler",
          args({
            namespace: namespace.name,
            imageReflectorRole: { arn: ROLE_ARN, name: ROLE_NAME },
            webhookExposure: { securityGroupIds: pulumi.output([SECURITY_GROUP]) },
            extraMetadata: { CLUSTER_NAME: "platform-staging" },
          }),
        );
      },
    });
    expect((findResource(result, "kubernetes:core/v1:ConfigMap", "reconciler-metadata").inputs.data as Json).CLUSTER_NAME).toBe("platform-staging");
    const annotations = (findResource(result, "kubernetes:networking.k8s.io/v1:Ingress", "reconciler-webhook-ingress").inputs.metadata as Json).annotations;
    expect(annotations).not.toHaveProperty("alb.ingress.kubernetes.io/wafv2-acl-arn");
  });
});
