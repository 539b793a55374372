import { setTimeout as sleep } from "node:timers/promises";
import { QueryTypes } from "sequelize";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TokenCipher } from "../../core/gmail/TokenCipher";
import type { ApiClient } from "../../test/ApiClient";
import { checkedStack } from "../../test/declaredResponses";
import { connectSocket, disconnection, type TaskSocket } from "../../test/socketClient";
import { type Stack, startStack, waitForTask } from "../../test/stack";

const GMAIL_METHODS = ["users.getProfile", "messages.list", "messages.get", "history.list"];

/**
 * Leaving (disconnect Gmail, delete the account) and the session controls (sign-in replaces the
 * browser's session, sign out everywhere, idle expiry), on two web nodes and one worker slot.
 */
describe("leaving and sessions", () => {
  let stack: Stack;
  const sockets: TaskSocket[] = [];

  beforeAll(async () => {
    stack = checkedStack(
      await startStack({
        webs: 2,
        workers: 1,
        // One sync at a time: a second user's sync waits in the queue behind the first. Sockets are
        // rechecked every 4 s, so a socket closed within 1.5 s was closed by the action itself.
        env: { SOCKET_RECHECK_SECONDS: "4", WORKER_CONCURRENCY: "1" },
      }),
    );
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    await stack.simControl("DELETE", "/sim/faults");
  });
  afterAll(() => stack?.close());

  const query = <T extends object>(sql: string, replacements: Record<string, unknown> = {}) =>
    stack.web.ctx.sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT });

  /**
   * Tests here move rows back in time, not the nodes' clocks: what each node's 30 s principal
   * cache holds runs out as those 30 s would.
   */
  const forgetCachedPrincipals = () => {
    for (const web of stack.webs) web.ctx.sessions.principalCache?.clear();
  };

  async function account(email: string, count: number, node = 0): Promise<ApiClient> {
    await stack.simControl("POST", "/sim/accounts", { email, count });
    return stack.signIn(email, node);
  }

  async function socket(node: number, auth: { cookie?: string; token?: string }): Promise<TaskSocket> {
    const s = await connectSocket(stack.webs[node]!.url, auth);
    sockets.push(s);
    return s;
  }

  const userIdOf = async (email: string) =>
    (await query<{ id: string }>("SELECT id FROM users WHERE email = :email", { email }))[0]?.id;

  /** Rows of the user in every table that has a user_id column, plus their users row. */
  async function rowsOf(userId: string): Promise<Record<string, number>> {
    const tables = await query<{ table_name: string }>(
      `SELECT DISTINCT c.table_name FROM information_schema.columns c
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema = current_schema() AND c.column_name = 'user_id' AND t.table_type = 'BASE TABLE'
        ORDER BY 1`,
    );
    const counts: Record<string, number> = {};
    for (const { table_name } of tables) {
      const [row] = await query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${table_name}" WHERE user_id = :userId`,
        {
          userId,
        },
      );
      counts[table_name] = row!.n;
    }
    counts.users = (
      await query<{ n: number }>("SELECT count(*)::int AS n FROM users WHERE id = :userId", { userId })
    )[0]!.n;
    return counts;
  }

  const gmailCalls = async () => {
    const { calls } = await stack.simControl("GET", "/sim/stats");
    return GMAIL_METHODS.reduce((sum, m) => sum + (calls[m] ?? 0), 0);
  };

  /** Waits until the simulator has had no Gmail call for `quietMs`; answers the count then. */
  async function gmailGoesQuiet(quietMs: number, withinMs: number): Promise<number> {
    const deadline = Date.now() + withinMs;
    let last = await gmailCalls();
    let since = Date.now();
    while (Date.now() < deadline) {
      await sleep(100);
      const now = await gmailCalls();
      if (now !== last) {
        last = now;
        since = Date.now();
      } else if (Date.now() - since >= quietMs) {
        return now;
      }
    }
    throw new Error(`Gmail was still being called ${withinMs} ms later (${last} calls)`);
  }

  const revocationsOf = async (email: string) =>
    (
      (await stack.simControl("GET", "/sim/stats")).revocations as Array<{ email: string; tokenType: string }>
    ).filter((r) => r.email === email);

  const status = (client: ApiClient, path = "/api/me") => client.json("GET", path).then((r) => r.status);
  const withCookie = (node: number, cookie: string) =>
    fetch(`${stack.webs[node]!.url}/api/me`, { headers: { cookie } }).then((r) => r.status);
  const withToken = (node: number, token: string) =>
    fetch(`${stack.webs[node]!.url}/api/me`, { headers: { authorization: `Bearer ${token}` } }).then(
      (r) => r.status,
    );

  it("deleting the account leaves no row of the user in any table, revokes at Google, stops the running sync and closes every socket", async () => {
    const bystander = await account("stays@example.com", 40);
    await waitForTask(bystander, (await bystander.json("POST", "/api/emails/sync")).body.taskId);

    const email = "leaver@example.com";
    const browserA = await account(email, 3_000, 0);
    const browserB = await stack.signIn(email, 1);
    const { token } = (await browserA.json("POST", "/api/tokens", { name: "script" })).body;
    const cookieSocket = await socket(1, { cookie: browserA.cookieHeader });
    const tokenSocket = await socket(0, { token });
    const userId = (await userIdOf(email))!;

    // A sync of theirs is running and has stored some mail.
    await stack.simControl("PUT", "/sim/faults", { latencyMs: 25 });
    const { taskId } = (await browserA.json("POST", "/api/emails/sync")).body;
    for (let i = 0; (await browserA.json("GET", "/api/me")).body.emailCount === 0; i++) {
      if (i > 300) throw new Error("the sync stored nothing");
      await sleep(50);
    }
    expect((await browserA.json("GET", `/api/emails/sync/status/${taskId}`)).body.state).toBe("active");
    const before = await rowsOf(userId);
    expect(before).toMatchObject({ users: 1, gmail_accounts: 1, sessions: 2, api_tokens: 1, sync_tasks: 1 });
    expect(before.emails).toBeGreaterThan(0);
    const bystanderId = (await userIdOf("stays@example.com"))!;
    const bystanderBefore = await rowsOf(bystanderId);

    const socketsClosed = [disconnection(cookieSocket, 1_500), disconnection(tokenSocket, 1_500)];
    const cookieA = browserA.cookieHeader;
    const deleted = await browserA.raw("DELETE", "/api/account");
    expect(deleted.status).toBe(204);
    // The browser is told to drop the cookie too (an expired Set-Cookie for it).
    expect(deleted.headers.getSetCookie().join("\n")).toMatch(/^isid=;.*Expires=Thu, 01 Jan 1970/m);
    expect(await Promise.all(socketsClosed)).toEqual(["io server disconnect", "io server disconnect"]);

    // Every credential of theirs is dead on every node.
    for (const node of [0, 1]) {
      expect(await withCookie(node, cookieA)).toBe(401);
      expect(await withCookie(node, browserB.cookieHeader)).toBe(401);
      expect(await withToken(node, token)).toBe(401);
    }
    // Google (the simulator) was asked to revoke the grant, by its refresh token.
    expect(await revocationsOf(email)).toEqual([expect.objectContaining({ tokenType: "refresh_token" })]);

    // The running sync stops: the worker soon makes no more Gmail calls, long before the mailbox is done.
    await gmailGoesQuiet(1_500, 15_000);
    const { calls } = await stack.simControl("GET", "/sim/stats");
    expect(calls["messages.get"]).toBeLessThan(3_000);

    const after = await rowsOf(userId);
    expect(Object.keys(after)).toEqual(
      expect.arrayContaining(["emails", "sessions", "api_tokens", "sync_tasks"]),
    );
    expect(Object.entries(after).filter(([, n]) => n > 0)).toEqual([]);
    // Nobody else lost anything.
    expect(await rowsOf(bystanderId)).toEqual(bystanderBefore);
    expect((await bystander.json("GET", "/api/me")).body.emailCount).toBe(40);

    // Signing in again is a new account with nothing in it.
    const again = await stack.signIn(email);
    expect((await again.json("GET", "/api/me")).body).toMatchObject({
      emailCount: 0,
      gmailStatus: "connected",
    });
    expect(await userIdOf(email)).not.toBe(userId);
  });

  it("deleting the account removes their queued sync job from the queue", async () => {
    const blocker = await account("leaving-blocker@example.com", 1_500);
    const queuer = await account("leaving-queuer@example.com", 50);
    await stack.simControl("PUT", "/sim/faults", { latencyMs: 25 });
    const running = (await blocker.json("POST", "/api/emails/sync")).body.taskId;
    for (
      let i = 0;
      (await blocker.json("GET", `/api/emails/sync/status/${running}`)).body.state !== "active";
      i++
    ) {
      if (i > 300) throw new Error("the blocker's sync never started");
      await sleep(50);
    }
    const queued = (await queuer.json("POST", "/api/emails/sync")).body.taskId;
    // The job is added right after the answer.
    await Promise.all(stack.webs.map((w) => w.ctx.dispatcher.drain()));
    const queue = stack.web.ctx.queue!;
    expect(await (await queue.getJob(queued))!.getState()).toMatch(/^(waiting|prioritized)$/);

    expect((await queuer.json("DELETE", "/api/account")).status).toBe(204);
    expect(await queue.getJob(queued)).toBeUndefined();

    await stack.simControl("DELETE", "/sim/faults");
    const { final } = await waitForTask(blocker, running);
    expect(final).toMatchObject({ state: "completed", result: { added: 1_500 } });
    expect(await queue.getJob(queued)).toBeUndefined();
  });

  it("disconnecting Gmail revokes the grant and forgets the tokens; the mail stays and signing in reconnects", async () => {
    const email = "disconnects@example.com";
    const user = await account(email, 30);
    await waitForTask(user, (await user.json("POST", "/api/emails/sync")).body.taskId);
    const userId = (await userIdOf(email))!;
    const storedTokens = async () => {
      const [row] = await query<{ encrypted_tokens: string; status: string }>(
        "SELECT encrypted_tokens, status FROM gmail_accounts WHERE user_id = :userId",
        { userId },
      );
      return {
        ...row!,
        tokens: new TokenCipher(stack.config.tokenEncryptionKey).decrypt(row!.encrypted_tokens, userId),
      };
    };
    expect((await storedTokens()).tokens.refresh_token).toEqual(expect.any(String));

    const { token } = (await user.json("POST", "/api/tokens", { name: "script" })).body;
    const viaToken = await fetch(`${stack.web.url}/api/account/disconnect`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(viaToken.status).toBe(403);
    expect((await viaToken.json()).error.code).toBe("session_required");

    expect((await user.json("POST", "/api/account/disconnect")).status).toBe(204);
    expect(await revocationsOf(email)).toEqual([expect.objectContaining({ tokenType: "refresh_token" })]);
    const forgotten = await storedTokens();
    expect(forgotten.status).toBe("disconnected");
    expect(forgotten.tokens.refresh_token ?? null).toBeNull();
    expect(forgotten.tokens.access_token ?? null).toBeNull();
    expect((await user.json("GET", "/api/me")).body).toMatchObject({
      gmailStatus: "disconnected",
      emailCount: 30,
    });

    // A sync now fails in words, and the account stays disconnected (not "reauth required").
    const { final } = await waitForTask(user, (await user.json("POST", "/api/emails/sync")).body.taskId);
    expect(final).toMatchObject({ state: "failed", error: { code: "reauth_required" } });
    expect((await user.json("GET", "/api/me")).body.gmailStatus).toBe("disconnected");
    // Disconnecting twice is harmless: nothing is held, nothing more is revoked.
    expect((await user.json("POST", "/api/account/disconnect")).status).toBe(204);
    expect(await revocationsOf(email)).toHaveLength(1);

    await user.signIn(email);
    expect((await user.json("GET", "/api/me")).body).toMatchObject({
      gmailStatus: "connected",
      emailCount: 30,
    });
    const resync = await waitForTask(user, (await user.json("POST", "/api/emails/sync")).body.taskId);
    expect(resync.final.state).toBe("completed");
  });

  it("signing in again in the same browser ends that browser's previous session and its sockets", async () => {
    const email = "resigns@example.com";
    const browser = await account(email, 3);
    const otherBrowser = await stack.signIn(email, 1);
    const oldCookie = browser.cookieHeader;
    const oldSocket = await socket(1, { cookie: oldCookie });
    const closed = disconnection(oldSocket, 1_500);

    await browser.signIn(email);
    expect(browser.cookieHeader).not.toBe(oldCookie);
    expect(await closed).toBe("io server disconnect");
    expect(await withCookie(0, oldCookie)).toBe(401);
    expect(await status(browser)).toBe(200);
    // Only that browser's: a session elsewhere goes on.
    expect(await status(otherBrowser)).toBe(200);
    expect(
      (
        await query<{ n: number }>("SELECT count(*)::int AS n FROM sessions WHERE user_id = :id", {
          id: await userIdOf(email),
        })
      )[0]!.n,
    ).toBe(2);
  });

  it("sign out everywhere ends every session of the user and closes their sockets on both nodes; API tokens go on", async () => {
    const email = "everywhere@example.com";
    const laptop = await account(email, 3, 0);
    const phone = await stack.signIn(email, 1);
    const { token } = (await laptop.json("POST", "/api/tokens", { name: "script" })).body;
    const laptopSocket = await socket(0, { cookie: laptop.cookieHeader });
    const phoneSocket = await socket(1, { cookie: phone.cookieHeader });
    const tokenSocket = await socket(1, { token });
    const someoneElse = await account("not-me@example.com", 3, 1);

    const viaToken = await fetch(`${stack.web.url}/api/sessions`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(viaToken.status).toBe(403);

    const closed = [disconnection(laptopSocket, 1_500), disconnection(phoneSocket, 1_500)];
    expect((await laptop.json("DELETE", "/api/sessions")).status).toBe(204);
    expect(await Promise.all(closed)).toEqual(["io server disconnect", "io server disconnect"]);
    expect(await status(laptop)).toBe(401);
    expect(await status(phone)).toBe(401);
    expect(await withToken(0, token)).toBe(200);
    expect(tokenSocket.connected).toBe(true);
    expect(await status(someoneElse)).toBe(200);
  });

  it("a session unused for SESSION_IDLE_HOURS ends before its 30 days, and its socket is dropped", async () => {
    const email = "idle@example.com";
    const idle = await account(email, 3);
    const busy = await stack.signIn(email, 1);
    const idleSocket = await socket(1, { cookie: idle.cookieHeader });
    const busySocket = await socket(1, { cookie: busy.cookieHeader });
    const closed = disconnection(idleSocket, 15_000);
    const userId = await userIdOf(email);
    const sessions = await query<{ id: string; last_seen_at: Date }>(
      "SELECT id, last_seen_at FROM sessions WHERE user_id = :userId ORDER BY created_at",
      { userId },
    );
    expect(sessions).toHaveLength(2);
    // The session that signed in first is `idle`'s: it was last used 73 hours ago (the default limit is 72).
    await query("UPDATE sessions SET last_seen_at = now() - interval '73 hours' WHERE id = :id", {
      id: sessions[0]!.id,
    });
    forgetCachedPrincipals();

    expect(await status(idle)).toBe(401);
    expect(await closed).toBe("io server disconnect");
    expect(await status(busy)).toBe(200);
    expect(busySocket.connected).toBe(true);

    // The absolute expiry still holds for a session in use.
    await query("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = :id", {
      id: sessions[1]!.id,
    });
    forgetCachedPrincipals();
    expect(await status(busy)).toBe(401);
  });

  it("marks a session as used at most once a minute, not on every request", async () => {
    const email = "touch@example.com";
    const user = await account(email, 3);
    const userId = await userIdOf(email);
    const lastSeen = async () =>
      (
        await query<{ last_seen_at: Date }>("SELECT last_seen_at FROM sessions WHERE user_id = :userId", {
          userId,
        })
      )[0]!.last_seen_at;
    const first = await lastSeen();
    for (let i = 0; i < 5; i++) expect(await status(user.on(stack.webs[i % 2]!.url))).toBe(200);
    expect(await lastSeen()).toEqual(first);

    await query("UPDATE sessions SET last_seen_at = now() - interval '61 seconds' WHERE user_id = :userId", {
      userId,
    });
    forgetCachedPrincipals();
    const stale = await lastSeen();
    expect(await status(user)).toBe(200);
    expect((await lastSeen()).getTime()).toBeGreaterThan(stale.getTime() + 60_000);
  });
});
