/**
 * The drift job's issue script (drift.yml, job drift), run as actions/github-script runs it, against a fake GitHub API.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { DRIFT_MARKER } from "../../tools/ci/delivery/drift.mts";
import { bot, fakeCore, fakeGitHub, repo, runEnv, runScript } from "../support/github-script";
import { root } from "../support/workflows";

describe("the drift issue script", () => {
  const tools = path.join(root, "tools", "ci", "delivery", "drift.mts");
  const context = { repo, runId: 60, eventName: "schedule" };
  const reportDir = fs.mkdtempSync(path.join(os.tmpdir(), "drift-"));
  const reportFile = path.join(reportDir, "drift.md");
  fs.writeFileSync(reportFile, `${DRIFT_MARKER}\nthe diff`);
  const issue = { number: 3, title: "Drift detected: prod", user: bot, html_url: "https://github.com/i/3" };

  it("opens one issue per stack, labelled drift, creating the label once", async () => {
    const { github, calls } = fakeGitHub({
      "issues.listForRepo": () => [{ ...issue, title: "Drift detected: staging" }, { ...issue, number: 4, pull_request: {} }],
      "issues.getLabel": () => {
        throw Object.assign(new Error("Not Found"), { status: 404 });
      },
      "issues.createLabel": () => ({}),
      "issues.create": () => ({ html_url: "https://github.com/i/5" }),
    });
    const { core, log } = fakeCore();
    await runScript("drift.yml", "drift", { github, context, core, env: { ...runEnv, DELIVERY_TOOLS: tools, STACK: "prod", OUTCOME: "drift", REPORT_FILE: reportFile } });
    expect(calls.map((c) => c.method)).toEqual(["issues.listForRepo", "issues.getLabel", "issues.createLabel", "issues.create"]);
    expect(calls[0]?.params).toEqual({ ...repo, state: "open", labels: "drift", per_page: 100 });
    expect(calls[3]?.params).toEqual({ ...repo, title: "Drift detected: prod", body: `${DRIFT_MARKER}\nthe diff`, labels: ["drift"] });
    expect(log).toEqual(["warning: stack prod has drifted: opened https://github.com/i/5"]);
  });

  it("updates the open issue while the drift lasts", async () => {
    const { github, calls } = fakeGitHub({ "issues.listForRepo": () => [issue], "issues.update": () => ({}) });
    await runScript("drift.yml", "drift", { github, context, core: fakeCore().core, env: { ...runEnv, DELIVERY_TOOLS: tools, STACK: "prod", OUTCOME: "drift", REPORT_FILE: reportFile } });
    expect(calls.map((c) => c.method)).toEqual(["issues.listForRepo", "issues.update"]);
    expect(calls[1]?.params).toEqual({ ...repo, issue_number: 3, body: `${DRIFT_MARKER}\nthe diff` });
  });

  it("closes the issue once the stack is clean, and leaves a person's issue alone", async () => {
    const { github, calls } = fakeGitHub({
      "issues.listForRepo": () => [issue],
      "issues.createComment": () => ({}),
      "issues.update": () => ({}),
    });
    await runScript("drift.yml", "drift", { github, context, core: fakeCore().core, env: { ...runEnv, DELIVERY_TOOLS: tools, STACK: "prod", OUTCOME: "clean", REPORT_FILE: reportFile } });
    expect(calls.map((c) => c.method)).toEqual(["issues.listForRepo", "issues.createComment", "issues.update"]);
    expect(calls[1]?.params.body).toBe("No drift on `prod` any more ([run log](https://github.com/acme-corp/gitops-platform/actions/runs/60)): closing.");
    expect(calls[2]?.params).toEqual({ ...repo, issue_number: 3, state: "closed", state_reason: "completed" });

    const person = fakeGitHub({ "issues.listForRepo": () => [{ ...issue, user: { login: "someone" } }] });
    await runScript("drift.yml", "drift", { github: person.github, context, core: fakeCore().core, env: { ...runEnv, DELIVERY_TOOLS: tools, STACK: "prod", OUTCOME: "clean" } });
    expect(person.calls.map((c) => c.method)).toEqual(["issues.listForRepo"]);
  });

  it("fails on an outcome it does not know", async () => {
    const { github } = fakeGitHub({ "issues.listForRepo": () => [] });
    const { core, log } = fakeCore();
    await runScript("drift.yml", "drift", { github, context, core, env: { ...runEnv, DELIVERY_TOOLS: tools, STACK: "prod", OUTCOME: "" } });
    expect(log).toEqual(['failed: unexpected drift outcome ""']);
  });
});
