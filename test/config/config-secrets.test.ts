// Secret values: refused in plaintext or structured form, never quoted back in a problem.
// Bad input is the point of these tests: fixtures are bent into shapes no type describes.
/* eslint-disable @typescript-eslint/no-unsafe-member-access */
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../components/config";
import { P, parse, problems, valid, withChange } from "../support/config-values";
import { fakeGithubToken } from "../support/fake-keys";

describe("config: a secret value given as a mapping or a list is refused with its key path", () => {
  it("refuses a structured githubToken, like any githubToken, without echoing it", () => {
    const key = `${P}:githubToken`;
    const token = fakeGithubToken("structuredValue00000000000000000");
    const retired = `${key}: no longer read: the GitHub provider takes its token from GITHUB_TOKEN in the environment of the pulumi process (a GitHub App installation token minted per run); remove it with \`pulumi config rm githubToken\``;
    expect(problems({ ...valid(), [key]: { value: token } }, "staging", [key])).toEqual([retired]);
    expect(problems({ ...valid(), [key]: [token] }, "staging", [key])).toEqual([retired]);
  });

  it("refuses structured provider credentials", () => {
    expect(problems({ ...valid(), "aws:token": { token: "x" }, "aws:secretKey": ["a", "b"] }, "staging", ["aws:token", "aws:secretKey"])).toEqual([
      "aws:secretKey: expected a string, got a list; store the value itself with `pulumi config set --secret aws:secretKey`",
      "aws:token: expected a string, got a mapping; store the value itself with `pulumi config set --secret aws:token`",
    ]);
  });

  it("refuses a mapping in every key read as text (the notification secrets, the environment), not its JSON text", () => {
    const hmac = `${P}:notificationsAlertHmacKey`;
    const values = {
      ...valid(),
      [`${P}:notifications`]: { commitStatus: { githubApp: { appId: 123456, installationId: 7890123 } }, alerts: { type: "generic-hmac" } },
      [`${P}:notificationsAppPrivateKey`]: { pem: "x" },
      [`${P}:notificationsAlertAddress`]: "https://alerts.example.com/hook",
      [hmac]: { key: "k".repeat(40) },
    };
    const secretKeys = [`${P}:notificationsAppPrivateKey`, `${P}:notificationsAlertAddress`, hmac];
    expect(problems(values, "staging", secretKeys)).toEqual([
      `${P}:notificationsAppPrivateKey: expected a string, got a secret value (not shown)`,
      `${hmac}: expected a string, got a secret value (not shown)`,
    ]);
    expect(problems({ ...valid(), [`${P}:environment`]: ["staging"] })).toEqual([`${P}:environment: expected a string, got ["staging"]`]);
  });
});

describe("config: bad input is refused with every problem, its key and the expectation", () => {
  it("refuses a GitHub token in stack config, secret or plaintext, without echoing it", () => {
    const token = fakeGithubToken("R3alLook1ngT0kenAAAAAAAAAAAAAAAAAAAAA");
    const found = problems({ ...valid(), [`${P}:githubToken`]: token, "github:token": token }, "staging", [`${P}:githubToken`]);
    expect(found).toEqual([
      `${P}:githubToken: no longer read: the GitHub provider takes its token from GITHUB_TOKEN in the environment of the pulumi process (a GitHub App installation token minted per run); remove it with \`pulumi config rm githubToken\``,
      "github:token: a GitHub token in stack config outlives every run; the GitHub provider takes its token from GITHUB_TOKEN in the environment of the pulumi process (a GitHub App installation token minted per run); remove it with `pulumi config rm github:token`",
    ]);
    expect(found.join("\n")).not.toContain("R3alLook");
  });
});

describe("config: other spellings of bad input are refused too", () => {
  it("refuses provider credentials stored in plaintext", () => {
    expect(problems({ ...valid(), "aws:token": "example", "aws:secretKey": "example" })).toEqual([
      "aws:secretKey: must be a secret; store it with `pulumi config set --secret aws:secretKey`",
      "aws:token: must be a secret; store it with `pulumi config set --secret aws:token`",
    ]);
    expect(() => parse({ ...valid(), "aws:token": "example" }, "staging", ["aws:token"])).not.toThrow();
  });

  it("never quotes a value stored as a secret in a problem, not even cut short", () => {
    const secretCidr = "10.1.2.3/8";
    const values = withChange((c) => {
      c[`${P}:firewall`].ingress[0].cidrs = [secretCidr];
      c[`${P}:firewall`].ingress[0].description = { note: "x".repeat(80) };
    });
    const listed = problems(values, "staging", [`${P}:firewall`]);
    expect(listed).toEqual([
      `${P}:firewall.ingress[0].description: expected a string, got a secret value (not shown)`,
      `${P}:firewall.ingress[0].cidrs[0]: host bits set in [secret]; use the network address`,
    ]);
    // The same config stored in plaintext is quoted, so the test above shows the masking.
    expect(problems(values)[1]).toBe(`${P}:firewall.ingress[0].cidrs[0]: host bits set in ${secretCidr}; use the network address`);
  });

  it("keeps a secret value out of every problem of an otherwise bad config", () => {
    const token = fakeGithubToken("R3alLook1ngT0kenAAAAAAAAAAAAAAAAAAAAA");
    const values = withChange((c) => {
      c["aws:token"] = token;
      c[`${P}:environment`] = "prod";
      // A token pasted into a plaintext key by mistake, next to the real one.
      c[`${P}:github`].hookCidrs = [token];
    });
    try {
      parse(values, "staging", ["aws:token"]);
      throw new Error("expected the config to be refused");
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).not.toContain("R3alLook");
      expect((error as ConfigError).problems).toEqual([
        `${P}:github.hookCidrs[0]: expected a CIDR block such as 203.0.113.0/24, got "[secret]"`,
        `${P}:environment: must equal the stack name "staging", got "prod"`,
      ]);
    }
  });
});
