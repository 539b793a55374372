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

/**
 * The CLI with stdout read as `| head -1` reads it: after the first line the pipe is closed, so
 * the CLI's next write meets a reader that has gone.
 */
function cliFirstLine(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; first: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "cli/inbox-sync.ts", ...args], {
      env: { PATH: process.env.PATH ?? "", ...env },
    });
    let stdout = "";
    let first = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
      const nl = stdout.indexOf("\n");
      if (nl >= 0 && !first) {
        first = stdout.slice(0, nl);
        child.stdout.destroy();
      }
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("exit", (code) => resolve({ code, first, stderr }));
  });
}

/** The CLI until its stderr matches `until` (or 30 s pass); then it is stopped as Ctrl-C would. */
function cliUntil(
  args: string[],
  env: Record<string, string>,
  until: RegExp,
): Promise<{ stdout: string; stderr: string; matched: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "cli/inbox-sync.ts", ...args], {
      env: { PATH: process.env.PATH ?? "", ...env },
    });
    let stdout = "";
    let stderr = "";
    let matched = false;
    const stop = setTimeout(() => child.kill("SIGINT"), 30_000);
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
      if (!matched && until.test(stderr)) {
        matched = true;
        child.kill("SIGINT");
      }
    });
    child.on("exit", () => {
      clearTimeout(stop);
      resolve({ stdout, stderr, matched });
    });
  });
}

/** stdout as NDJSON: one object a line, every line one. */
function ndjson(stdout: string): Array<Record<string, unknown>> {
  expect(stdout.endsWith("\n")).toBe(true);
  return stdout
    .slice(0, -1)
    .split("\n")
    .map((line) => JSON.parse(line));
}

/** Gmail's answer time while a test watches a sync move (ms per call). */
const SLOW_GMAIL_MS = 150;

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
    expect(run.stderr).toMatch(/^started task \S+ \(the whole mailbox\)\n$/);
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
    expect(ndjson(emails.stdout)).toHaveLength(3);
  });

  it("takes the token from --token-file quietly, and warns on stderr when it comes as --token", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "inbox-sync-cli-"));
    try {
      const file = path.join(dir, "token");
      writeFileSync(file, `${token}\n`, { mode: 0o600 });
      const fromFile = await cli(["labels", "--json", "--url", stack.web.url, "--token-file", file]);
      expect(fromFile.stderr).toBe("");
      expect(fromFile.code).toBe(0);
      expect(ndjson(fromFile.stdout).length).toBeGreaterThan(0);

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

  /** A new user with `count` messages and a token (all scopes unless `scopes` says). */
  async function newUser(email: string, count: number, scopes?: string[]) {
    await stack.simControl("POST", "/sim/accounts", { email, count });
    const user = await stack.signIn(email);
    const body = { name: "cli", ...(scopes && { scopes }) };
    const created = await user.json("POST", "/api/tokens", body);
    return { user, env: { INBOX_SYNC_TOKEN: created.body.token as string, INBOX_SYNC_URL: stack.web.url } };
  }

  /** Slows every Gmail call, so a sync lasts long enough to be seen moving. */
  async function slowGmail<T>(body: () => Promise<T>): Promise<T> {
    await stack.simControl("PUT", "/sim/faults", { latencyMs: SLOW_GMAIL_MS });
    try {
      return await body();
    } finally {
      await stack.simControl("DELETE", "/sim/faults");
    }
  }

  it("| head -1: when the reader closes stdout mid-sync, the CLI ends with 0 and says nothing", async () => {
    const { env } = await newUser("cli-head@example.com", 400);
    const run = await slowGmail(() => cliFirstLine(["sync", "--json"], env));
    // The first line came while the sync was still running, so later writes met the closed pipe.
    expect(JSON.parse(run.first)).toMatchObject({ state: expect.not.stringMatching(/completed|failed/) });
    expect(run.code).toBe(0);
    expect(run.stderr).not.toMatch(/Error|EPIPE|\n\s+at /);
  });

  it("emails: --json is NDJSON with ids; the table shows each id and the sender's whole address", async () => {
    const { user, env } = await newUser("cli-emails@example.com", 30);
    expect((await cli(["sync"], env)).code).toBe(0);
    const api = (await user.json("GET", "/api/emails?limit=10")).body.emails as Array<{
      id: string;
      from: string;
    }>;
    const json = await cli(["emails", "--limit", "10", "--json"], env);
    expect(json.code).toBe(0);
    const lines = ndjson(json.stdout);
    expect(lines.map((e) => e.id)).toEqual(api.map((e) => e.id));
    expect(lines[0]).toMatchObject({ id: api[0]!.id, from: api[0]!.from, subject: expect.any(String) });

    const table = await cli(["emails", "--limit", "10"], env);
    expect(table.code).toBe(0);
    const rows = table.stdout.trimEnd().split("\n");
    expect(rows).toHaveLength(10);
    rows.forEach((row, i) => {
      const address = /<([^>]+)>/.exec(api[i]!.from)?.[1] ?? api[i]!.from;
      expect(row.startsWith(`${api[i]!.id} `)).toBe(true);
      expect(row).toContain(` ${address} `);
    });
    const wide = await cli(["emails", "--limit", "10", "--wide"], env);
    const wideRows = wide.stdout.trimEnd().split("\n");
    expect(wideRows).toHaveLength(10);
    for (const [i, row] of wideRows.entries()) expect(row).toContain(api[i]!.from);
  });

  it("piped, a sync's progress moves on stderr, a line per step, and stdout holds only the result", async () => {
    const { env } = await newUser("cli-progress@example.com", 400);
    const run = await slowGmail(() => cli(["sync"], env));
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("completed (full): 400 added, 0 updated, 0 deleted\n");
    const percents = run.stderr
      .split("\n")
      .map((line) => /^\[[#.]{30}\]\s+(\d+)%/.exec(line)?.[1])
      .filter((p): p is string => p !== undefined)
      .map(Number);
    expect(new Set(percents).size).toBeGreaterThanOrEqual(3);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(percents.at(-1)).toBe(100);
  });

  it("a token without the sync scope gets a message naming the scope and the settings page, exit 3", async () => {
    const { env } = await newUser("cli-readonly@example.com", 5, ["read"]);
    const run = await cli(["sync"], env);
    expect(run.code).toBe(3);
    expect(run.stderr).toBe(
      `inbox-sync: the API token lacks the "sync" scope this command needs (403 insufficient_scope): create a token with the sync scope at ${stack.web.url}/settings\n`,
    );
    const labels = await cli(["labels"], env);
    expect(labels.code).toBe(0);
  });

  it("says what went wrong, with exit codes a script can branch on", async () => {
    const settings = `${stack.web.url}/settings`;
    const noToken = await cli(["sync", "--url", stack.web.url]);
    expect(noToken.code).toBe(3);
    expect(noToken.stderr).toContain(
      `API token is needed in INBOX_SYNC_TOKEN or --token-file: create one at ${settings}`,
    );
    const badToken = await cli(["sync", "--url", stack.web.url, "--token", "isk_wrong"]);
    expect(badToken.code).toBe(3);
    expect(badToken.stderr).toContain(`refused (401): create one at ${settings}`);
    const unknownTask = await cli(["status", "not-a-task", "--url", stack.web.url, "--token", token]);
    expect(unknownTask.code).toBe(4);
    expect(unknownTask.stderr).toMatch(/404: not_found/);
    const nowhere = await cli(["sync", "--url", "http://127.0.0.1:9", "--token", token]);
    expect(nowhere.code).toBe(5);
    expect(nowhere.stderr).toMatch(/cannot reach/);
    const unknownCommand = await cli(["synk", "--url", stack.web.url, "--token", token]);
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toMatch(/unknown command "synk"/);

    await stack.simControl("POST", "/sim/accounts/cli@example.com/revoke");
    const revoked = await cli(["sync", "--url", stack.web.url, "--token", token]);
    expect(revoked.code).toBe(1);
    expect(revoked.stdout).toBe("");
    expect(revoked.stderr).toMatch(/failed: reauth_required/);
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
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/^started task \S+ \(the last 60 days, labels INBOX\)\n/);
      expect(run.stdout).toMatch(/^completed \(full\): \d+ added, 0 updated, 0 deleted\n$/);
      const expected = listing.filter(
        (m) => Number(m.internalDate) >= now - 60 * 86_400_000 && m.labelIds.includes("INBOX"),
      );
      expect(expected.length).toBeGreaterThan(0);
      expect((await user.json("GET", "/api/me")).body.emailCount).toBe(expected.length);

      const labels = await cli(["labels"], env);
      expect(labels.code).toBe(0);
      expect(labels.stdout).toMatch(/^Label_1\s+user\s+Receipts$/m);
      const inbox = await cli(["emails", "--label", "INBOX", "--limit", "200", "--json"], env);
      expect(ndjson(inbox.stdout)).toHaveLength(expected.length);
    } finally {
      await stack.simControl("DELETE", "/sim/clock");
    }
  });

  it("accounts, health and check: a completeness check fetches what Gmail has that is missing; health exits 6 when something needs a person", async () => {
    const email = "cli-health@example.com";
    await stack.simControl("POST", "/sim/accounts", { email, count: 20 });
    const user = await stack.signIn(email);
    const env = { INBOX_SYNC_TOKEN: (await user.json("POST", "/api/tokens", { name: "health" })).body.token };
    const base = ["--url", stack.web.url];
    expect((await cli(["sync", ...base], env)).code).toBe(0);
    const accounts = await cli(["accounts", "--json", ...base], env);
    expect(accounts.code).toBe(0);
    const [account] = ndjson(accounts.stdout);
    expect(account).toMatchObject({ email, state: "connected", messages: 20 });

    await stack.simControl("POST", `/sim/accounts/${email}/messages`, { count: 2 });
    const check = await cli(["check", "--json", ...base], env);
    expect(check.code).toBe(0);
    expect(check.stderr).toMatch(/^started task \S+ \(a completeness check\)\n/);
    expect(ndjson(check.stdout).at(-1)).toMatchObject({
      state: "completed",
      result: { mode: "full", added: 2 },
    });

    const healthy = await cli(["health", "--account", String(account!.id), ...base], env);
    expect(healthy.code).toBe(0);
    expect(healthy.stdout).toMatch(/^last check: \S+: 2 missing, 0 gone \(repaired\)$/m);
    expect(healthy.stdout).not.toContain("NEEDS YOU");

    // Google refuses the grant: a person has to sign in again (set back afterwards for the next test).
    const setState = (state: string) =>
      stack.web.ctx.sequelize.query("UPDATE gmail_accounts SET status = :state WHERE id = :id", {
        replacements: { state, id: account!.id },
      });
    await setState("reauth_required");
    try {
      const unwell = await cli(["health", "--json", ...base], env);
      expect(unwell.code).toBe(6);
      expect(ndjson(unwell.stdout)[0]).toMatchObject({
        state: "reauth_required",
        attention: [{ code: "reauth_required" }],
      });
      const words = await cli(["health", ...base], env);
      expect(words.stdout).toMatch(/^NEEDS YOU \(reauth_required\): /);
    } finally {
      await setState("connected");
    }
  });

  // Last in this file: its sync stays paused until Google's midnight in the worker until the stack closes.
  it("piped, a sync paused for the project's day says until when and how much is here, and that it runs without the CLI", async () => {
    const { env } = await newUser("cli-paused@example.com", 3_000);
    // Google answers 403 dailyLimitExceeded once the project's day is spent: 1,000 units let the
    // listing and some messages through first.
    await stack.simControl("PUT", "/sim/quota", { projectUnitsPerDay: 1_000 });
    try {
      const run = await cliUntil(["sync"], env, /Paused until .*\n/);
      expect(run.matched).toBe(true);
      expect(run.stdout).toBe("");
      const lines = run.stderr.split("\n");
      const paused = lines.filter((l) => l.includes("Paused until"));
      expect(paused).toHaveLength(1);
      expect(paused[0]).toMatch(
        /^\[[#.]{30}\]\s+\d+%\s+active\s+fetching\s+[\d,]+\/3,000 {2}Paused until \d\d:\d\d \S+( tomorrow)?( \(midnight Pacific time, when Google's quota day starts\))?, in [^:]+: the project's daily Gmail budget is spent; [\d,]+ of 3,000 messages are here\.$/,
      );
      const taskId = /^started task (\S+) /.exec(run.stderr)?.[1];
      expect(taskId).toBeDefined();
      expect(lines.filter((l) => l.startsWith("this sync runs in the background"))).toEqual([
        `this sync runs in the background: Ctrl-C stops only this view; \`inbox-sync status ${taskId}\` looks in again`,
      ]);

      // With --json the same facts are the snapshot's fields.
      const status = await cli(["status", taskId!, "--json"], env);
      expect(JSON.parse(status.stdout)).toMatchObject({
        state: "active",
        waiting: "daily_budget",
        retryAt: expect.any(Number),
        rateLimitedBy: "daily_budget",
      });
    } finally {
      await stack.simControl("DELETE", "/sim/quota");
    }
  });
});
