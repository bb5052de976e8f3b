// The notifications part of the stack config: the section, its three secrets, and the rules that
// tie them together. Secrets are refused in plaintext and never quoted.
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig, type PlatformConfig } from "../../components/config";
import { OFFLINE_SECRET } from "../../components/offline-secret";
import { configProblems, encodeConfig } from "../support/config";
import { fakeGithubToken } from "../support/fake-keys";

const P = "gitops-platform";
const KEY = `${P}:notificationsAppPrivateKey`;
const ADDRESS = `${P}:notificationsAlertAddress`;
const HMAC = `${P}:notificationsAlertHmacKey`;

type Values = Record<string, unknown>;

/** A GitHub App key as GitHub hands it out: RSA, PKCS#1 PEM. */
const APP_KEY = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
const EC_KEY = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX";
const HMAC_KEY = "k".repeat(32);

/** A valid staging config without notifications. */
function base(): Values {
  return {
    "aws:region": "eu-west-1",
    [`${P}:environment`]: "staging",
    [`${P}:aws`]: { accountId: "111111111111", clusterName: "platform-staging" },
    [`${P}:github`]: { owner: "acme-corp", configRepo: { repo: "acme-corp/gitops-platform", branch: "staging" } },
    [`${P}:apps`]: [{ name: "payments", repo: "acme-corp/payments" }],
    [`${P}:firewall`]: { ingress: [{ description: "HTTPS from the office", fromPort: 443, toPort: 443, cidrs: ["203.0.113.0/24"] }] },
    [`${P}:ci`]: { stateBucket: "acme-pulumi-state", secretsKeyArn: "arn:aws:kms:eu-west-1:111111111111:key/0b7c2a52-6a7e-4f0e-9d8a-3c1f5e2b7a10" },
  };
}

const APP = { commitStatus: { githubApp: { appId: 123456, installationId: 7890123 } } };

/** Base config plus notifications and the given secrets (all stored as secrets). */
function withNotifications(notifications: unknown, secrets: Record<string, string>): { values: Values; secretKeys: string[] } {
  return { values: { ...base(), [`${P}:notifications`]: notifications, ...secrets }, secretKeys: Object.keys(secrets) };
}

function parse(values: Values, secretKeys: string[]): PlatformConfig {
  return parseConfig({ stack: "staging", values: encodeConfig(values), secretKeys });
}

function problems(values: Values, secretKeys: string[]): string[] {
  return configProblems({ stack: "staging", values: encodeConfig(values), secretKeys });
}

describe("notifications config", () => {
  it("leaves notifications out by default", () => {
    const config = parse(base(), []);
    expect(config.notifications).toBeUndefined();
    expect(config.notificationsAppPrivateKey).toBeUndefined();
  });

  it("reads the commit-status App and its key as a secret, with alerts absent", async () => {
    const { values, secretKeys } = withNotifications(APP, { [KEY]: APP_KEY });
    const config = parse(values, secretKeys);
    expect(config.notifications).toEqual(APP);
    expect(await pulumi.isSecret(config.notificationsAppPrivateKey!)).toBe(true);
    expect(config.notificationsAlertAddress).toBeUndefined();
  });

  it("uses the correct default values: drift alerts on", async () => {
    const { values, secretKeys } = withNotifications({ ...APP, alerts: { type: "slack" } }, { [KEY]: APP_KEY, [ADDRESS]: SLACK_URL });
    const config = parse(values, secretKeys);
    expect(config.notifications?.alerts).toEqual({ type: "slack", drift: true });
    expect(await pulumi.isSecret(config.notificationsAlertAddress!)).toBe(true);
  });

  it("accepts generic-hmac with its key, and a PKCS#8 RSA key", () => {
    const pkcs8 = crypto.createPrivateKey(APP_KEY).export({ type: "pkcs8", format: "pem" }).toString();
    const { values, secretKeys } = withNotifications({ ...APP, alerts: { type: "generic-hmac", drift: false } }, { [KEY]: pkcs8, [ADDRESS]: "https://hooks.example.com/flux", [HMAC]: HMAC_KEY });
    expect(problems(values, secretKeys)).toEqual([]);
  });

  it("refuses each secret in plaintext", () => {
    const { values } = withNotifications({ ...APP, alerts: { type: "generic-hmac" } }, { [KEY]: APP_KEY, [ADDRESS]: SLACK_URL, [HMAC]: HMAC_KEY });
    expect(problems(values, [])).toEqual([
      `${KEY}: must be a secret; store it with \`pulumi config set --secret notificationsAppPrivateKey\``,
      `${ADDRESS}: must be a secret; store it with \`pulumi config set --secret notificationsAlertAddress\``,
      `${HMAC}: must be a secret; store it with \`pulumi config set --secret notificationsAlertHmacKey\``,
    ]);
  });

  it("requires the App's key with notifications, the address with alerts and the HMAC key with generic-hmac", () => {
    expect(problems(withNotifications(APP, {}).values, [])).toEqual([
      `${KEY}: required with notifications.commitStatus.githubApp (the App's private key); store it with \`pulumi config set --secret notificationsAppPrivateKey\``,
    ]);
    const { values, secretKeys } = withNotifications({ ...APP, alerts: { type: "generic-hmac" } }, { [KEY]: APP_KEY });
    expect(problems(values, secretKeys)).toEqual([
      `${ADDRESS}: required with notifications.alerts (the destination's https:// URL); store it with \`pulumi config set --secret notificationsAlertAddress\``,
      `${HMAC}: required with notifications.alerts.type generic-hmac (the key requests are signed with); store it with \`pulumi config set --secret notificationsAlertHmacKey\``,
    ]);
  });

  it("accepts a stored secret nothing uses, but still checks that it is a secret and well formed", () => {
    const unused = { values: { ...base(), [KEY]: APP_KEY }, secretKeys: [KEY] };
    expect(problems(unused.values, unused.secretKeys)).toEqual([]);
    const slack = withNotifications({ ...APP, alerts: { type: "slack" } }, { [KEY]: APP_KEY, [ADDRESS]: SLACK_URL, [HMAC]: HMAC_KEY });
    expect(problems(slack.values, slack.secretKeys)).toEqual([]);
    const plain = withNotifications(APP, { [KEY]: APP_KEY, [ADDRESS]: SLACK_URL });
    expect(problems(plain.values, [KEY])).toEqual([`${ADDRESS}: must be a secret; store it with \`pulumi config set --secret notificationsAlertAddress\``]);
    const short = withNotifications(APP, { [KEY]: APP_KEY, [HMAC]: "short" });
    expect(problems(short.values, short.secretKeys)).toEqual([`${HMAC}: expected an HMAC key of at least 32 characters`]);
  });

  it("refuses a plain-HTTP, malformed or credentialed address without quoting it", () => {
    const cases: [string, string][] = [
      ["http://hooks.example.com/secret-path", `${ADDRESS}: expected an https:// URL, got a http:// one; plain HTTP and other schemes are refused`],
      ["ftp://hooks.example.com/secret-path", `${ADDRESS}: expected an https:// URL, got a ftp:// one; plain HTTP and other schemes are refused`],
      ["hooks.example.com/secret-path", `${ADDRESS}: expected an https:// URL (the value is not shown)`],
      [" https://hooks.example.com/secret-path", `${ADDRESS}: expected an https:// URL (the value is not shown)`],
      ["https://user:secret-path@hooks.example.com/", `${ADDRESS}: expected an https:// URL without user:password@; put credentials in the path or use the HMAC key`],
    ];
    for (const [address, message] of cases) {
      const { values, secretKeys } = withNotifications({ ...APP, alerts: { type: "msteams" } }, { [KEY]: APP_KEY, [ADDRESS]: address });
      const found = problems(values, secretKeys);
      expect(found, address).toEqual([message]);
      expect(found.join("\n")).not.toContain("secret-path");
    }
  });

  it("refuses a key that is not the App's RSA private key, and a short HMAC key", () => {
    const notPem = withNotifications(APP, { [KEY]: fakeGithubToken("notAKeyAtAll000000000000000000000000") });
    expect(problems(notPem.values, notPem.secretKeys)).toEqual([
      `${KEY}: expected the GitHub App's private key in PEM form (an RSA private key block), as GitHub downloads it`,
    ]);
    const ec = withNotifications(APP, { [KEY]: EC_KEY });
    expect(problems(ec.values, ec.secretKeys)).toEqual([`${KEY}: expected the GitHub App's RSA private key, got a key of type ec`]);
    const short = withNotifications({ ...APP, alerts: { type: "generic-hmac" } }, { [KEY]: APP_KEY, [ADDRESS]: "https://hooks.example.com/", [HMAC]: "too-short-key" });
    const found = problems(short.values, short.secretKeys);
    expect(found).toEqual([`${HMAC}: expected an HMAC key of at least 32 characters`]);
  });

  it("names the key path of a bad section, without hiding the secrets' problems", () => {
    const { values, secretKeys } = withNotifications(
      { commitStatus: { githubApp: { appId: 0, installationId: "12", slug: "x" } }, alerts: { type: "discord" } },
      { [KEY]: APP_KEY, [ADDRESS]: "http://hooks.example.com/" },
    );
    expect(problems(values, secretKeys)).toEqual([
      `${P}:notifications.commitStatus.githubApp.appId: expected the GitHub App's id (a positive integer)`,
      `${P}:notifications.commitStatus.githubApp.installationId: expected the GitHub App's installation id (a positive integer), got "12"`,
      `${P}:notifications.commitStatus.githubApp.slug: unknown key (check for a typo)`,
      `${P}:notifications.alerts.type: expected slack, msteams or generic-hmac`,
      `${ADDRESS}: expected an https:// URL, got a http:// one; plain HTTP and other schemes are refused`,
    ]);
  });

  it("keeps every secret out of the error text of an otherwise bad config", () => {
    const address = "https://hooks.slack.com/services/T000/B000/SECRETSECRETSECRET";
    const { values, secretKeys } = withNotifications({ ...APP, alerts: { type: "slack" } }, { [KEY]: APP_KEY, [ADDRESS]: address });
    values[`${P}:environment`] = "prod";
    try {
      parse(values, secretKeys);
      throw new Error("expected the config to be refused");
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).not.toContain("SECRETSECRET");
      expect((error as Error).message).not.toContain("PRIVATE KEY");
    }
  });

  it("cannot check the content of a secret the offline engine could not decrypt, and says so by accepting only that marker", () => {
    const offline = withNotifications({ ...APP, alerts: { type: "slack" } }, { [KEY]: OFFLINE_SECRET, [ADDRESS]: OFFLINE_SECRET });
    expect(problems(offline.values, offline.secretKeys)).toEqual([]);
    const other = withNotifications({ ...APP, alerts: { type: "slack" } }, { [KEY]: `${OFFLINE_SECRET} `, [ADDRESS]: SLACK_URL });
    expect(problems(other.values, other.secretKeys)).toHaveLength(1);
  });
});
