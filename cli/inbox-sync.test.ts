import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../test/stack";

function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "cli/inbox-sync.ts", ...args], {
      env: { PATH: process.env.PATH ?? "", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("the polling CLI", () => {
  let stack: Stack;
  let token: string;
  beforeAll(async () => {
    stack = await startStack();
    await stack.simControl("POST", "/sim/accounts", { email: "cli@example.com", count: 250 });
    const user = await stack.signIn("cli@example.com");
    token = (await user.json("POST", "/api/tokens", { name: "cli" })).body.token;
  });
  afterAll(() => stack?.close());

  it("starts a sync, follows it by polling to the end, and lists the mail", async () => {
    const run = await cli(["sync", "--json", "--url", stack.web.url], { INBOX_SYNC_TOKEN: token });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const lines = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.at(-1)).toMatchObject({ state: "completed", result: { added: 250, mode: "full" } });
    const seqs = lines.map((l) => l.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    const status = await cli(["status", lines[0].taskId, "--url", stack.web.url, "--token", token]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/100%\s+completed/);
    expect(status.stdout).toMatch(/completed \(full\): 250 added, 0 updated, 0 deleted/);

    const emails = await cli(["emails", "--limit", "3", "--json", "--url", stack.web.url, "--token", token]);
    expect(emails.code).toBe(0);
    expect(JSON.parse(emails.stdout).emails).toHaveLength(3);
  });

  it("takes the token from --token-file quietly, and warns on stderr when it comes as --token", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "inbox-sync-cli-"));
    try {
      const file = path.join(dir, "token");
      writeFileSync(file, `${token}\n`, { mode: 0o600 });
      const fromFile = await cli(["labels", "--json", "--url", stack.web.url, "--token-file", file]);
      expect(fromFile.stderr).toBe("");
      expect(fromFile.code).toBe(0);
      expect(JSON.parse(fromFile.stdout).labels.length).toBeGreaterThan(0);

      const fromFlag = await cli(["labels", "--json", "--url", stack.web.url, "--token", token]);
      expect(fromFlag.code).toBe(0);
      expect(fromFlag.stderr).toBe(
        "inbox-sync: warning: --token shows the API token to every user of this machine (process list) and keeps it in shell history; use INBOX_SYNC_TOKEN or --token-file instead\n",
      );

      const missing = await cli(["labels", "--url", stack.web.url, "--token-file", path.join(dir, "none")]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/--token-file .*none could not be read \(ENOENT\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("says what went wrong, with exit codes a script can branch on", async () => {
    const noToken = await cli(["sync", "--url", stack.web.url]);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/API token is needed/);
    const badToken = await cli(["sync", "--url", stack.web.url, "--token", "isk_wrong"]);
    expect(badToken.code).toBe(3);
    expect(badToken.stderr).toMatch(/refused \(401\)/);
    const unknownTask = await cli(["status", "not-a-task", "--url", stack.web.url, "--token", token]);
    expect(unknownTask.code).toBe(3);
    expect(unknownTask.stderr).toMatch(/404: not_found/);
    const nowhere = await cli(["sync", "--url", "http://127.0.0.1:9", "--token", token]);
    expect(nowhere.code).toBe(3);
    expect(nowhere.stderr).toMatch(/cannot reach/);

    await stack.simControl("POST", "/sim/accounts/cli@example.com/revoke");
    const revoked = await cli(["sync", "--url", stack.web.url, "--token", token]);
    expect(revoked.code).toBe(1);
    expect(revoked.stdout).toMatch(/failed: reauth_required/);
  });

  it("--newer-than-days and --label choose what to sync; the labels command lists the ids to use", async () => {
    const email = "cli-scoped@example.com";
    await stack.simControl("POST", "/sim/accounts", { email, count: 300 });
    const listing: Array<{ id: string; labelIds: string[]; internalDate: string }> = (
      await stack.simControl("GET", `/sim/accounts/${email}/messages`)
    ).messages;
    // Gmail's clock just after the newest message, so newer_than:60d is a fixed set.
    const now = Number(listing[0]!.internalDate) + 60_000;
    await stack.simControl("PUT", "/sim/clock", { now });
    try {
      const user = await stack.signIn(email);
      const scopedToken = (await user.json("POST", "/api/tokens", { name: "cli" })).body.token as string;
      const env = { INBOX_SYNC_TOKEN: scopedToken, INBOX_SYNC_URL: stack.web.url };

      const help = await cli(["--help"], env);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/--newer-than-days N/);
      expect(help.stdout).toMatch(/--label ID/);

      for (const bad of [
        ["--newer-than-days", "0"],
        ["--newer-than-days", "thirty"],
        ["--label", "not a label"],
      ]) {
        const run = await cli(["sync", ...bad], env);
        expect(run.code, bad.join(" ")).toBe(2);
      }

      const run = await cli(["sync", "--newer-than-days", "60", "--label", "INBOX", "--label", "INBOX"], env);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/started task \S+ \(the last 60 days, labels INBOX\)/);
      const expected = listing.filter(
        (m) => Number(m.internalDate) >= now - 60 * 86_400_000 && m.labelIds.includes("INBOX"),
      );
      expect(expected.length).toBeGreaterThan(0);
      expect((await user.json("GET", "/api/me")).body.emailCount).toBe(expected.length);

      const labels = await cli(["labels"], env);
      expect(labels.code).toBe(0);
      expect(labels.stdout).toMatch(/^Label_1\s+user\s+Receipts$/m);
      const inbox = await cli(["emails", "--label", "INBOX", "--limit", "200", "--json"], env);
      expect(JSON.parse(inbox.stdout).emails).toHaveLength(expected.length);
    } finally {
      await stack.simControl("DELETE", "/sim/clock");
    }
  });
});
