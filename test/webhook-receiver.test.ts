import { describe, expect, it } from "vitest";
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { WebhookReceiver, receiverWebhookPath, type WebhookReceiverArgs } from "../components/k8s/webhook-receiver";
import { findResource, isUnknown, resourcesOfType, runProgram, type PlanResult } from "../tools/engine";
import { fluxSchemaErrors, modelErrors } from "./support/reconciler";

type Json = Record<string, unknown>;
// The SDK's hook to wait for outstanding registrations (exported at run time, not in the typings).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };
/** How Pulumi marks a secret value in serialised inputs. */
const SECRET_SIGNATURE_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270";
const BASE: WebhookReceiverArgs = {
  namespace: "flux-system",
  gitRepositories: ["flux-system", "orders"],
  repositories: ["acme-corp/gitops-platform", "acme-corp/orders"],
  host: "flux-webhook.example.com",
  certificateArn: "arn:aws:acm:eu-west-1:111111111111:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
  securityGroupIds: ["sg-0123456789abcdef0"],
};
const run = (args: Partial<WebhookReceiverArgs> = {}) =>
  runProgram({
    stack: "staging",
    config: {},
    program: () => {
      const receiver = new WebhookReceiver("webhook", { ...BASE, ...args });
      return { url: receiver.webhookUrl, path: receiver.webhookPath };
    },
  });
const ingress = (r: PlanResult) => findResource(r, "kubernetes:networking.k8s.io/v1:Ingress", "webhook-ingress").inputs;

describe("receiverWebhookPath", () => {
  it("is /hook/ + hex sha256 of token, name and namespace concatenated, as notification-controller computes it", () => {
    // printf 'tnns' | sha256sum
    expect(receiverWebhookPath("t", "n", "ns")).toBe("/hook/2fad0445e7ab3034cd94f592e9975d7ef1d0d1a2bc39cc826b834808c83be2d6");
    expect(receiverWebhookPath("t", "nn", "s")).toBe(receiverWebhookPath("t", "n", "ns"));
    expect(receiverWebhookPath("u", "n", "ns")).not.toBe(receiverWebhookPath("t", "n", "ns"));
  });
});

describe("WebhookReceiver", async () => {
  const result = await run();

  it("uses the correct default values: Receiver github, 40-character token, alb class, TLS 1.3 policy, no WAF", () => {
    expect((findResource(result, "kubernetes:notification.toolkit.fluxcd.io/v1:Receiver", "webhook-receiver").inputs.metadata as Json).name).toBe("github");
    expect(findResource(result, "random:index/randomPassword:RandomPassword", "webhook-token").inputs).toMatchObject({ length: 40, special: false });
    expect((ingress(result).spec as Json).ingressClassName).toBe("alb");
    const annotations = (ingress(result).metadata as Json).annotations as Json;
    expect(annotations["alb.ingress.kubernetes.io/ssl-policy"]).toBe("ELBSecurityPolicy-TLS13-1-2-2021-06");
    expect(annotations).not.toHaveProperty("alb.ingress.kubernetes.io/wafv2-acl-arn");
  });

  it("keeps the token secret everywhere it goes", () => {
    expect(findResource(result, "random:index/randomPassword:RandomPassword", "webhook-token").additionalSecretOutputs).toContain("result");
    expect(findResource(result, "kubernetes:core/v1:Secret", "webhook-token-secret").secretPaths).toEqual(["stringData"]);
    for (const hook of resourcesOfType(result, "github:index/repositoryWebhook:RepositoryWebhook")) {
      expect(hook.secretPaths.sort()).toEqual(["configuration.secret", "configuration.url"]);
    }
    expect(result.outputSecretPaths.sort()).toEqual(["path", "url"]);
    expect(isUnknown(result.outputs.url)).toBe(true);
  });

  it("declares a github Receiver for ping and push on the given GitRepositories", () => {
    const receiver = findResource(result, "kubernetes:notification.toolkit.fluxcd.io/v1:Receiver", "webhook-receiver").inputs;
    expect(receiver.spec).toEqual({
      type: "github",
      events: ["ping", "push"],
      secretRef: { name: "github-receiver-token" },
      resources: [
        { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", name: "flux-system" },
        { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", name: "orders" },
      ],
    });
    expect(fluxSchemaErrors(receiver)).toEqual([]);
  });

  it("exposes only the receiver's own path over HTTPS on an internet-facing ALB with the Firewall's groups and WAF", async () => {
    const withWaf = await run({ wafAclArn: "arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/platform/0123", securityGroupIds: ["sg-1", "sg-2"] });
    expect((ingress(withWaf).metadata as Json).annotations).toEqual({
      "alb.ingress.kubernetes.io/scheme": "internet-facing",
      "alb.ingress.kubernetes.io/target-type": "ip",
      "alb.ingress.kubernetes.io/listen-ports": '[{"HTTPS":443}]',
      "alb.ingress.kubernetes.io/certificate-arn": BASE.certificateArn,
      "alb.ingress.kubernetes.io/ssl-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
      "alb.ingress.kubernetes.io/security-groups": "sg-1,sg-2",
      "alb.ingress.kubernetes.io/manage-backend-security-group-rules": "true",
      "alb.ingress.kubernetes.io/healthcheck-port": "9440",
      "alb.ingress.kubernetes.io/healthcheck-path": "/readyz",
      "alb.ingress.kubernetes.io/wafv2-acl-arn": "arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/platform/0123",
    });
    const spec = ingress(withWaf).spec as { ingressClassName: string; rules: { host: string; http: { paths: Json[] } }[] };
    expect(spec.ingressClassName).toBe("alb");
    expect(spec.rules).toHaveLength(1);
    expect(spec.rules[0]?.host).toBe("flux-webhook.example.com");
    // The path derives from the token: unknown until the password exists (checked below once it does).
    expect(spec.rules[0]?.http.paths).toHaveLength(1);
    expect(spec.rules[0]?.http.paths[0]).toMatchObject({ pathType: "Exact", backend: { service: { name: "webhook-receiver", port: { number: 80 } } } });
    expect(isUnknown(spec.rules[0]?.http.paths[0]?.path)).toBe(true);
  });

  it("adds a JSON push webhook to every repository, after the Ingress", () => {
    const hooks = resourcesOfType(result, "github:index/repositoryWebhook:RepositoryWebhook");
    expect(hooks.map((h) => h.name)).toEqual(["webhook-hook-gitops-platform", "webhook-hook-orders"]);
    for (const hook of hooks) {
      expect(hook.inputs).toMatchObject({ active: true, events: ["push"], configuration: { contentType: "json", insecureSsl: false } });
      expect(hook.dependencies).toContain(findResource(result, "kubernetes:networking.k8s.io/v1:Ingress", "webhook-ingress").urn);
    }
  });
});

describe("WebhookReceiver once the token exists", () => {
  it("points GitHub at https://<host>/hook/<sha256(token + name + namespace)> and signs with the token", async () => {
    const recorded: Record<string, Json> = {};
    // Only the password's result is supplied: it is the one provider output the component reads.
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          const inputs = args.inputs as Json;
          recorded[args.name] = inputs;
          const state: Json = args.type === "random:index/randomPassword:RandomPassword" ? { ...inputs, result: "s3cr3t-token" } : inputs;
          return { id: `${args.name}-id`, state };
        },
        call: (args) => {
          throw new Error(`unexpected invoke ${args.token}`);
        },
      },
      "gitops-platform",
      "staging",
      false,
    );
    const receiver = new WebhookReceiver("webhook", BASE);
    const url = await new Promise<string>((resolve) => receiver.webhookUrl.apply(resolve));
    const path = await new Promise<string>((resolve) => receiver.webhookPath.apply(resolve));
    const expectedPath = `/hook/${crypto.createHash("sha256").update("s3cr3t-tokengithubflux-system").digest("hex")}`;
    expect(path).toBe(expectedPath);
    expect(url).toBe(`https://flux-webhook.example.com${expectedPath}`);
    expect(await pulumi.isSecret(receiver.webhookUrl)).toBe(true);
    await settings.waitForRPCs();

    const hook = recorded["webhook-hook-orders"] as { configuration: Json; repository: string };
    expect(hook.repository).toBe("orders");
    // Mock inputs keep Pulumi's secret wrapper: the whole configuration reaches the provider as a secret.
    expect(hook.configuration[SECRET_SIGNATURE_KEY]).toBe(SECRET_SIGNATURE);
    expect(hook.configuration.value).toEqual({
      url: `https://flux-webhook.example.com${expectedPath}`,
      contentType: "json",
      insecureSsl: false,
      secret: "s3cr3t-token",
    });
    // The Ingress routes exactly that path, nothing else under /hook/.
    expect(JSON.stringify((recorded["webhook-ingress"] as { spec: Json }).spec)).toContain(`"path":"${expectedPath}","pathType":"Exact"`);
    const routed = JSON.stringify((recorded["webhook-ingress"] as { spec: Json }).spec).match(/"path":"[^"]*"/g);
    expect(routed).toEqual([`"path":"${expectedPath}"`]);
    expect(await modelErrors(recorded["webhook-ingress"] as Json)).toBe("");
    const stringData = (recorded["webhook-token-secret"] as { stringData: Json }).stringData;
    expect(stringData[SECRET_SIGNATURE_KEY]).toBe(SECRET_SIGNATURE);
    expect(stringData.value).toEqual({ token: "s3cr3t-token" });
  });
});
