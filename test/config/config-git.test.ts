// Repositories, branches, deploy keys and image automation: where the platform may read and write Git.
// Bad input is the point of these tests: fixtures are bent into shapes no type describes.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call */
import { describe, expect, it } from "vitest";
import { P, parse, problems, validProd, withChange } from "../support/config-values";

describe("config: bad input is refused with every problem, its key and the expectation", () => {
  it("refuses repositories not in owner/name form", () => {
    const v = withChange((c) => {
      c[`${P}:apps`][0].repo = "orders";
      c[`${P}:apps`][1].repo = "acme-corp/payments/extra";
      c[`${P}:github`].configRepo.repo = "acme-corp/..";
    });
    expect(problems(v)).toEqual([
      `${P}:github.configRepo.repo: expected a GitHub repository as owner/name`,
      `${P}:apps[0].repo: expected a GitHub repository as owner/name`,
      `${P}:apps[1].repo: expected a GitHub repository as owner/name`,
    ]);
  });

  it("refuses the same repository twice, in any letter case, and duplicate app names", () => {
    const v = withChange((c) => {
      c[`${P}:apps`][1].repo = "Acme-Corp/Orders";
      c[`${P}:apps`].push({ name: "orders", repo: "acme-corp/gitops-platform" });
    });
    expect(problems(v)).toEqual([
      `${P}:apps[1].repo: Acme-Corp/Orders is already used by ${P}:apps[0].repo; every repository needs its own deploy key`,
      `${P}:apps[2].repo: acme-corp/gitops-platform is the config repo (github.configRepo.repo); an app's manifests and CI live in its own repository`,
      `${P}:apps[2].name: orders is already the name of apps[0]`,
    ]);
  });

  it("refuses path traversal and absolute paths", () => {
    const v = withChange((c) => {
      c[`${P}:apps`][0].path = "../other-app/deploy";
      c[`${P}:apps`][1].path = "/etc/kubernetes";
      c[`${P}:github`].configRepo.path = "clusters/../../secrets";
    });
    const message = "expected a relative path inside the repository (no '..', no leading '/', no empty segments)";
    expect(problems(v)).toEqual([`${P}:github.configRepo.path: ${message}`, `${P}:apps[0].path: ${message}`, `${P}:apps[1].path: ${message}`]);
    const windows = withChange((c) => {
      c[`${P}:apps`][0].path = "C:\\deploy";
    });
    expect(problems(windows)).toEqual([`${P}:apps[0].path: ${message}`]);
  });

  it("refuses bad branch names", () => {
    const bad = ["main..x", "-main", "refs/heads/main", "my branch", "feature/", "release.lock", "a~1", ".hidden", "x@{1}"];
    const v = withChange((c) => {
      c[`${P}:apps`] = bad.map((branch, i) => ({ name: `app${i}`, repo: `acme-corp/app${i}`, branch }));
      c[`${P}:github`].configRepo.deployKey.readWrite = false;
    });
    const message = "expected a git branch name (no spaces, '..', '~', '^', ':', '?', '*', '[', '\\', no leading '/', '-' or 'refs/')";
    expect(problems(v)).toEqual(bad.map((_, i) => `${P}:apps[${i}].branch: ${message}`));
    expect(problems(withChange((c) => (c[`${P}:ci`].defaultBranch = "refs/heads/staging")))).toEqual([`${P}:ci.defaultBranch: ${message}`]);
  });

  it("refuses any Git write in production: a read-write key, image automation, an unguarded branch, no review", () => {
    const v = withChange((c) => {
      c[`${P}:github`].configRepo.deployKey = { readWrite: true };
      c[`${P}:github`].branchProtection = { enabled: false, requiredReviews: 0 };
      c[`${P}:apps`][1].imageAutomation = { policy: { semver: ">=1.0.0" }, pushBranch: "image-updates/prod" };
    }, validProd);
    expect(problems(v, "prod")).toEqual([
      `${P}:github.configRepo.deployKey.readWrite: production keys are read-only: prod never writes to Git (new images arrive with the promotion pull request from staging); set it to false`,
      `${P}:github.branchProtection.enabled: every environment branch must be guarded by its ruleset (pull requests, reviews, checks): its deploy job holds the deploy App key, which administers the config repository's rulesets and so every environment; set it to true`,
      `${P}:github.branchProtection.requiredReviews: production needs at least 1 approving review: the promotion pull request is where prod changes are reviewed`,
      `${P}:apps[1].imageAutomation: production never writes to Git; new tags reach it through the staging → prod promotion pull request, so remove imageAutomation here and set it on the staging stack`,
    ]);
  });

  it("refuses an unguarded or unreviewed environment branch in every environment, not only production", () => {
    const v = withChange((c) => {
      c[`${P}:github`].branchProtection = { enabled: false, requiredReviews: 0 };
    });
    const reach = "its deploy job holds the deploy App key, which administers the config repository's rulesets and so every environment";
    expect(problems(v)).toEqual([
      `${P}:github.branchProtection.enabled: every environment branch must be guarded by its ruleset (pull requests, reviews, checks): ${reach}; set it to true`,
      `${P}:github.branchProtection.requiredReviews: every environment branch needs at least 1 approving review: ${reach}`,
    ]);
  });

  it("refuses image automation in production, whatever branch it would push to", () => {
    const message = `${P}:apps[0].imageAutomation: production never writes to Git; new tags reach it through the staging → prod promotion pull request, so remove imageAutomation here and set it on the staging stack`;
    for (const pushBranch of [undefined, "prod", "image-updates/prod"]) {
      const v = withChange((c) => {
        c[`${P}:apps`][0].imageAutomation = { policy: { semver: ">=1.0.0" }, ...(pushBranch ? { pushBranch } : {}) };
        c[`${P}:github`].configRepo.deployKey.readWrite = true;
      }, validProd);
      // The read-write key the automation would need is refused too: every production key is read-only.
      const readWrite = `${P}:github.configRepo.deployKey.readWrite: production keys are read-only: prod never writes to Git (new images arrive with the promotion pull request from staging); set it to false`;
      expect(problems(v, "prod")).toEqual(pushBranch === "prod" ? [readWrite, message, expect.stringContaining("apps[0].imageAutomation.pushBranch: ")] : [readWrite, message]);
    }
  });

  it("refuses image automation pushing to the environment branch, in staging too", () => {
    const v = withChange((c) => (c[`${P}:apps`][0].imageAutomation.pushBranch = "staging"));
    expect(problems(v)).toEqual([
      `${P}:apps[0].imageAutomation.pushBranch: image automation may not push to the environment branch "staging"; name its own branch (default image-updates/staging), whose pull request merges once the checks pass`,
    ]);
  });

  it("refuses weak deploy key algorithms", () => {
    const v = withChange((c) => {
      c[`${P}:apps`][1].deployKey = { algorithm: "RSA" };
    });
    expect(problems(v)).toEqual([`${P}:apps[1].deployKey.algorithm: expected ED25519 or ECDSA (RSA keys are refused)`]);
  });

  it("refuses a read-write deploy key without image automation, and image automation without one", () => {
    const noAutomation = withChange((c) => {
      delete c[`${P}:apps`][0].imageAutomation;
    });
    expect(problems(noAutomation)).toEqual([
      `${P}:github.configRepo.deployKey.readWrite: a read-write key needs image automation on at least one app; set it to false`,
    ]);
    const readOnly = withChange((c) => {
      c[`${P}:github`].configRepo.deployKey.readWrite = false;
    });
    expect(problems(readOnly)).toEqual([
      `${P}:github.configRepo.deployKey.readWrite: image automation commits to the config repo and needs a read-write key; set it to true`,
    ]);
    const appWrite = withChange((c) => {
      c[`${P}:apps`][1].deployKey = { readWrite: true };
    });
    expect(problems(appWrite)).toEqual([`${P}:apps[1].deployKey.readWrite: app repositories are only read; image automation writes to the config repo`]);
  });
});

describe("config: other spellings of bad input are refused too", () => {
  it("refuses a repository written with a trailing .git, which would dodge the one-key-per-repository checks", () => {
    const change = withChange((c) => {
      c[`${P}:apps`][1].repo = "acme-corp/orders.git";
      c[`${P}:github`].configRepo.repo = "acme-corp/gitops-platform.GIT";
    });
    expect(problems(change)).toEqual([
      `${P}:github.configRepo.repo: expected owner/name without a trailing .git`,
      `${P}:apps[1].repo: expected owner/name without a trailing .git`,
    ]);
    expect(() => parse(withChange((c) => (c[`${P}:apps`][1].repo = "acme-corp/orders.github")))).not.toThrow();
  });

  it("refuses HEAD and @, a .lock component anywhere, and invisible characters in branch names", () => {
    const branch = "expected a git branch name (no spaces, '..', '~', '^', ':', '?', '*', '[', '\\', no leading '/', '-' or 'refs/')";
    const change = withChange((c) => {
      c[`${P}:apps`][0].branch = "HEAD";
      c[`${P}:apps`][1].branch = "@";
      c[`${P}:apps`][0].imageAutomation.pushBranch = "updates.lock/orders";
      c[`${P}:ci`].defaultBranch = "ma\u200bin";
    });
    expect(problems(change)).toEqual([
      `${P}:apps[0].branch: expected a branch name; HEAD and @ name a commit, not a branch`,
      `${P}:apps[0].imageAutomation.pushBranch: ${branch}`,
      `${P}:apps[1].branch: expected a branch name; HEAD and @ name a commit, not a branch`,
      `${P}:ci.defaultBranch: ${branch}`,
    ]);
    expect(() => parse(withChange((c) => (c[`${P}:apps`][1].branch = "release/head-lock")))).not.toThrow();
  });
});
