import { randomBytes } from "node:crypto";
import { QueryTypes } from "sequelize";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccountHealthView, AccountList } from "../../core/contract";
import { gmailWatchOf } from "../../core/gmail/watch";
import { ApiClient } from "../../test/ApiClient";
import { type Stack, startStack, waitForTask, waitUntil } from "../../test/stack";

const TOPIC = "projects/inbox-sync-test/topics/gmail-push";
const SERVICE_ACCOUNT = "gmail-push@inbox-sync-sim.iam.gserviceaccount.com";
const DAY = 24 * 3_600_000;
const METRICS_TOKEN = "scrape-5c1e0b7a9d3f42e8b6a0c4d2e9f1a375";

/** GET /api/accounts and an account's health, on the whole stack with Gmail push on. */
describe("accounts and their health", () => {
  let stack: Stack;
  let alice: ApiClient;
  let bob: ApiClient;
  let accountId: string;
  const aliceEmail = `health-a-${randomBytes(3).toString("hex")}@example.com`;
  const bobEmail = `health-b-${randomBytes(3).toString("hex")}@example.com`;

  const health = async (client = alice, id = accountId) =>
    client.json<AccountHealthView>("GET", `/api/accounts/${id}/health`);
  /** What time does to a watch: its stored end (and a failure streak's start) moved into the past. */
  const age = (column: "watch_expiration" | "watch_failing_since", ms: number) =>
    stack.web.ctx.sequelize.query(
      `UPDATE gmail_accounts SET ${column} = now() - make_interval(secs => :s) WHERE id = :id`,
      {
        replacements: { s: ms / 1000, id: accountId },
      },
    );

  /** The web node's gauge of accounts in one health state. */
  const gauge = async (health: string) => {
    const res = await fetch(`${stack.web.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    const line = (await res.text()).match(
      new RegExp(`^inbox_sync_gmail_accounts\\{health="${health}"\\} (\\d+)`, "m"),
    );
    return Number(line?.[1] ?? Number.NaN);
  };

  beforeAll(async () => {
    stack = await startStack({
      workers: 1,
      env: {
        GMAIL_PUSH_TOPIC: TOPIC,
        GMAIL_PUSH_SERVICE_ACCOUNT: SERVICE_ACCOUNT,
        SYNC_DEBOUNCE_MS: "300",
        METRICS_TOKEN,
      },
    });
    await stack.simControl("PUT", "/sim/push", {
      endpoint: `${stack.web.url}/webhooks/gmail`,
      audience: null,
    });
    await stack.simControl("POST", "/sim/accounts", { email: aliceEmail, count: 12 });
    await stack.simControl("POST", "/sim/accounts", { email: bobEmail, count: 3 });
    alice = await stack.signIn(aliceEmail);
    bob = await stack.signIn(bobEmail);
    const started = await alice.json("POST", "/api/emails/sync");
    await waitForTask(alice, started.body.taskId);
  }, 60_000);

  afterAll(async () => {
    await stack?.simControl("DELETE", "/sim/push").catch(() => {});
    await stack?.close();
  });

  it("lists the person's account with its id, state, last sync and message count", async () => {
    const { status, body } = await alice.json<AccountList>("GET", "/api/accounts");
    expect(status).toBe(200);
    expect(body.accounts).toHaveLength(1);
    const [account] = body.accounts;
    const [row] = await stack.web.ctx.sequelize.query<{ id: string }>(
      "SELECT id FROM gmail_accounts WHERE email = :email",
      { replacements: { email: aliceEmail }, type: QueryTypes.SELECT },
    );
    expect(account).toMatchObject({ id: row!.id, email: aliceEmail, state: "connected", messages: 12 });
    expect(Date.parse(account!.lastSyncAt!)).toBeGreaterThan(Date.now() - 60_000);
    accountId = account!.id;
  });

  it("after a first sync: full because it was the first, Gmail's count beside ours, push watching, nothing to do", async () => {
    const { status, body } = await health();
    expect(status).toBe(200);
    expect(body.sync.kind).toBe("full");
    expect(body.sync.lastFull?.reason).toBe("first_sync");
    expect(body.sync.cursorAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(body.messages).toMatchObject({ here: 12, gmailTotal: 12 });
    expect(body.push.state).toBe("watching");
    expect(Date.parse(body.push.watchedUntil!)).toBeGreaterThan(Date.now() + 6 * DAY);
    expect(body.attention).toEqual([]);
  });

  it("a push Gmail delivers is noted, and the sync it causes reads incremental", async () => {
    const before = Date.now();
    await stack.simControl("POST", `/sim/accounts/${encodeURIComponent(aliceEmail)}/messages`, { count: 1 });
    const after = await waitUntil(async () => {
      const { body } = await health();
      return body.push.lastPushAt &&
        Date.parse(body.push.lastPushAt) >= before - 1000 &&
        body.sync.kind === "incremental"
        ? body
        : false;
    }, "the push and its incremental sync");
    expect(after.messages.here).toBe(13);
    expect(after.sync.lastFull?.reason).toBe("first_sync");
  });

  it("a watch that lapsed reads lapsed at once; failed renewals are counted with Gmail's words; a renewal that works clears both", async () => {
    // The gauge counts the whole database (other suites' accounts too): read it relative to now.
    const lapsedBefore = await gauge("watch_lapsed");
    const failingBefore = await gauge("watch_failing");
    await stack.simControl("PUT", "/sim/push", { topicPublishable: false });
    await age("watch_expiration", 60_000);
    const lapsed = (await health()).body;
    expect(lapsed.push.state).toBe("lapsed");
    expect(lapsed.attention.map((a) => a.code)).toEqual(["watch_lapsed"]);
    expect(await gauge("watch_lapsed")).toBe(lapsedBefore + 1);

    // What the hourly renewal job runs; Gmail refuses it while the topic's policy lacks its push account.
    const watch = gmailWatchOf(stack.web.ctx);
    expect(await watch.renewLapsing()).toMatchObject({ renewed: 0, failed: 1 });
    expect(await watch.renewLapsing()).toMatchObject({ failed: 1 });
    const failing = (await health()).body;
    expect(failing.push).toMatchObject({ state: "lapsed", failedRenewals: 2 });
    expect(failing.push.lastError).toContain("User not authorized to perform this action");
    expect(failing.attention.map((a) => a.code)).toEqual(["watch_lapsed"]);

    // A day of failures needs a person, and says what to grant.
    await age("watch_failing_since", DAY + 60_000);
    const stuck = (await health()).body;
    expect(stuck.attention.map((a) => a.code)).toEqual(["watch_lapsed", "watch_failing"]);
    expect(stuck.attention[1]!.action).toContain("gmail-api-push@system.gserviceaccount.com");
    expect(await gauge("watch_failing")).toBe(failingBefore + 1);

    // Renewing by hand while Gmail still refuses answers Gmail's refusal and counts it.
    const refused = await alice.json<{ error: { code: string } }>("POST", `/api/accounts/${accountId}/watch`);
    expect(refused.status).toBe(502);
    expect(refused.body.error.code).toBe("gmail_unavailable");
    expect((await health()).body.push.failedRenewals).toBe(3);

    await stack.simControl("PUT", "/sim/push", { topicPublishable: true });
    const renewed = await alice.json<AccountHealthView>("POST", `/api/accounts/${accountId}/watch`);
    expect(renewed.status).toBe(200);
    expect(renewed.body.push).toMatchObject({
      state: "watching",
      failedRenewals: 0,
      failingSince: null,
      lastError: null,
    });
    expect(renewed.body.attention).toEqual([]);
    expect(await gauge("watch_lapsed")).toBe(lapsedBefore);
    expect(await gauge("watch_failing")).toBe(failingBefore);
  });

  it("the renewal job renews a lapsed watch by itself once Gmail accepts it", async () => {
    await age("watch_expiration", 60_000);
    expect((await health()).body.push.state).toBe("lapsed");
    expect(await gmailWatchOf(stack.web.ctx).renewLapsing()).toMatchObject({ renewed: 1, failed: 0 });
    expect((await health()).body.push.state).toBe("watching");
  });

  it("a sync after Gmail lost the history lists the mailbox, and the health says that is why", async () => {
    // Gmail keeps history about a week: a change the app has not replayed, then the history gone.
    // Pushes are held back meanwhile, so no sync replays the change before it is lost.
    await stack.simControl("PUT", "/sim/push", { endpoint: null });
    await stack.simControl("POST", `/sim/accounts/${encodeURIComponent(aliceEmail)}/messages`, { count: 2 });
    await stack.simControl("POST", `/sim/accounts/${encodeURIComponent(aliceEmail)}/expire-history`);
    await stack.simControl("PUT", "/sim/push", { endpoint: `${stack.web.url}/webhooks/gmail` });
    const started = await alice.json("POST", "/api/emails/sync");
    await waitForTask(alice, started.body.taskId);
    const after = (await health()).body;
    expect(after.sync.kind).toBe("full");
    expect(after.sync.lastFull?.reason).toBe("history_expired");
    expect(Date.parse(after.sync.lastFull!.at)).toBeGreaterThan(Date.now() - 60_000);
    expect(after.messages).toMatchObject({ here: 15, gmailTotal: 15 });
  });

  it("a completeness check finds what Gmail has that is missing and what it no longer has, repairs both with ids-only listing, and never runs twice at once", async () => {
    const mailbox = `/sim/accounts/${encodeURIComponent(aliceEmail)}`;
    // Changes the app never hears of (pushes held back, and no sync replays them before the check).
    await stack.simControl("PUT", "/sim/push", { endpoint: null });
    const listed = (await stack.simControl("GET", `${mailbox}/messages`)).messages as Array<{ id: string }>;
    await stack.simControl("POST", `${mailbox}/messages`, { count: 2 });
    await stack.simControl("DELETE", `${mailbox}/messages/${listed[0]!.id}`);
    await stack.simControl("PUT", "/sim/push", { endpoint: `${stack.web.url}/webhooks/gmail` });
    await stack.simControl("DELETE", "/sim/stats");

    const first = await alice.json("POST", `/api/accounts/${accountId}/check`);
    expect(first.status).toBe(202);
    expect(first.body.options).toEqual({ current: true, check: true });
    const again = await alice.json("POST", `/api/accounts/${accountId}/check`);
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ taskId: first.body.taskId, joined: true });
    const done = await waitForTask(alice, first.body.taskId);
    expect(done.final.result).toMatchObject({ mode: "full", added: 2, deleted: 1 });

    const after = (await health()).body;
    expect(after.check).toMatchObject({ taskId: first.body.taskId, missing: 2, extra: 1 });
    expect(after.sync.lastFull?.reason).toBe("check");
    const gmailIds = (
      (await stack.simControl("GET", `${mailbox}/messages`)).messages as Array<{ id: string }>
    )
      .map((m) => m.id)
      .sort();
    const [stored] = await stack.web.ctx.sequelize.query<{ ids: string[] }>(
      "SELECT array_agg(gmail_id ORDER BY gmail_id) AS ids FROM emails e JOIN gmail_accounts g ON g.user_id = e.user_id WHERE g.id = :id",
      { replacements: { id: accountId }, type: QueryTypes.SELECT },
    );
    expect(stored!.ids).toEqual(gmailIds);
    // Only the missing two were fetched whole; the rest of the comparison was ids.
    const calls = (await stack.simControl("GET", "/sim/stats")).calls as Record<string, number>;
    expect(calls["messages.get"] ?? 0).toBe(2);
  });

  it("someone else's account, an unknown id and a malformed id all answer 404 with nothing of the account", async () => {
    for (const id of [accountId, "00000000-0000-4000-8000-000000000000", "not-a-uuid"]) {
      const read = await bob.json<{ error: { code: string } }>("GET", `/api/accounts/${id}/health`);
      expect(read.status).toBe(404);
      expect(read.body.error.code).toBe("not_found");
      expect(JSON.stringify(read.body)).not.toContain(aliceEmail);
      const renew = await bob.json("POST", `/api/accounts/${id}/watch`);
      expect(renew.status).toBe(404);
      const check = await bob.json("POST", `/api/accounts/${id}/check`);
      expect(check.status).toBe(404);
    }
    const bobs = await bob.json<AccountList>("GET", "/api/accounts");
    expect(bobs.body.accounts.map((a) => a.email)).toEqual([bobEmail]);
  });

  it("a read-only token may read health but not renew a watch", async () => {
    const created = await alice.json("POST", "/api/tokens", { name: "health", scopes: ["read"] });
    expect(created.status).toBe(201);
    const script = new ApiClient(stack.web.url);
    script.bearer = created.body.token;
    expect((await health(script)).status).toBe(200);
    const renew = await script.json("POST", `/api/accounts/${accountId}/watch`);
    expect(renew.status).toBe(403);
    expect(renew.body.error.code).toBe("insufficient_scope");
  });
});

describe("a completeness check where no worker runs", () => {
  let stack: Stack;
  const email = `health-s-${randomBytes(3).toString("hex")}@example.com`;

  beforeAll(async () => {
    stack = await startStack({ workers: 0 });
    await stack.simControl("POST", "/sim/accounts", { email, count: 6 });
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
  });

  it("answers 503 with a fallback that streams that very check to its end", async () => {
    const client = await stack.signIn(email);
    const stream = await client.raw("POST", "/api/emails/sync/stream");
    await stream.text();
    const { body } = await client.json<AccountList>("GET", "/api/accounts");
    const id = body.accounts[0]!.id;
    await stack.simControl("POST", `/sim/accounts/${encodeURIComponent(email)}/messages`, { count: 3 });

    const refused = await client.json("POST", `/api/accounts/${id}/check`);
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe("no_workers");
    const taskId: string = refused.body.taskId;
    expect(refused.body.fallback).toBe(`/api/emails/sync/stream?taskId=${taskId}`);
    const res = await client.raw("POST", refused.body.fallback);
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.at(-1)).toMatchObject({
      taskId,
      state: "completed",
      result: { mode: "full", added: 3, deleted: 0 },
    });
    const health = await client.json<AccountHealthView>("GET", `/api/accounts/${id}/health`);
    expect(health.body.check).toMatchObject({ taskId, missing: 3, extra: 0 });
    expect(health.body.messages.here).toBe(9);
  });
});
