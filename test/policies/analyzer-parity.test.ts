// The new ways rules report, checked against Pulumi's own analyzer server (@pulumi/policy's): the
// advisory note a mandatory rule gives for a prefix list it cannot read (reportViolation's object
// form), stack-rule notes that name their resources, and pod templates inside a ConfigGroup.
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { runProgram } from "../../tools/engine";
import { evaluatePolicies, projectPolicyPack } from "../../tools/engine/policy";
import { isUnknown } from "../../tools/engine/values";
import { analyzeWithServer } from "../support/crossguard-server";

const root = path.resolve(__dirname, "..", "..");

describe("parity with the CrossGuard analyzer for notes and new sources", () => {
  it("reports what the pack's own analyzer server reports", async () => {
    const result = await runProgram({
      stack: "prod",
      config: { "aws:region": "eu-west-1" },
      program: () => {
        const office = new aws.ec2.ManagedPrefixList("office", { name: "office", addressFamily: "IPv4", maxEntries: 2, entries: [{ cidr: "0.0.0.0/0", description: "oops" }] });
        new aws.vpc.SecurityGroupIngressRule("ssh", { securityGroupId: "sg-0123456789abcdef0", description: "SSH", ipProtocol: "tcp", fromPort: 22, toPort: 22, prefixListId: office.id });
        new aws.vpc.SecurityGroupIngressRule("https", { securityGroupId: "sg-0123456789abcdef0", description: "HTTPS", ipProtocol: "tcp", fromPort: 443, toPort: 443, prefixListId: "pl-0cloudfront000000" });
        const secret = new k8s.core.v1.Secret("git", { metadata: { namespace: "flux-system" }, stringData: { identity: "x", "identity.pub": "y", known_hosts: office.id } });
        new k8s.apiextensions.CustomResource("source", {
          apiVersion: "source.toolkit.fluxcd.io/v1",
          kind: "GitRepository",
          metadata: { name: "config", namespace: "flux-system" },
          spec: { url: "ssh://git@github.com/acme-corp/gitops-platform", ref: { branch: "main" }, secretRef: { name: secret.metadata.name } },
        });
        new k8s.yaml.v2.ConfigGroup("extras", {
          objs: [{ apiVersion: "v1", kind: "Pod", metadata: { name: "shell" }, spec: { hostPID: true, containers: [{ name: "sh", image: "busybox" }] } }],
        });
      },
    });
    // The config the stack runs with (its kind's: no policies/config/prod.json), as the workflows
    // hand it to the CLI's analyzer (--policy-pack-config, from stack-settings' policy-config).
    const pack = projectPolicyPack("prod", root);
    const config = JSON.parse(fs.readFileSync(pack.config as string, "utf8")) as Record<string, unknown>;
    const server = await analyzeWithServer({ packDir: path.join(root, "policies"), config, result, isUnknown });
    const ours = await evaluatePolicies(result, [pack]);
    const line = (v: { enforcementLevel: string; policyName: string; urn?: string; message: string }) =>
      `${v.enforcementLevel} ${v.policyName} ${v.urn?.split("::").pop() ?? "-"}: ${v.message}`;
    const fromServer = server.map(line).sort();
    expect(ours.map((v) => line({ ...v, ...(v.resource ? { urn: v.resource } : {}) })).sort()).toEqual(fromServer);
    expect(fromServer.filter((l) => /sg-no-world-admin-ports|flux-git-secret|k8s-pod-security .*hostPID/.test(l))).toEqual([
      'advisory flux-git-secret -: can\'t run policy \'flux-git-secret\' from policy pack \'gitops-platform@v0.1.0\' during preview: kubernetes:core/v1:Secret "git": string value at .stringData can\'t be known during preview',
      'advisory sg-no-world-admin-ports https: rule takes sources from prefix list "pl-0cloudfront000000", which this stack does not declare; its entries cannot be checked, so make sure none is open to the world',
      // The engine registers a ConfigGroup's objects as its children, as the provider does: the child is judged.
      "mandatory k8s-pod-security extras:shell: pod must not set hostPID: true",
      'mandatory sg-no-world-admin-ports ssh: rule lets 0.0.0.0/0 (from prefix list "office") reach port 22 (tcp 22)',
    ]);
  });
});
