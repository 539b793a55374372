import { createHash, randomBytes, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "bullmq";
import { QueryTypes } from "sequelize";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis } from "../core/redis";
import type { ApiClient } from "../test/ApiClient";
import { type Stack, startStack, waitForTask, waitUntil } from "../test/stack";
import {
  CHECK_SCHEDULE_EVERY_MS,
  CHECK_SCHEDULER,
  MAINTENANCE_QUEUE,
  type Maintenance,
  PURGE_EVERY_MS,
  PURGE_SCHEDULER,
  SYNC_SCHEDULER,
  startMaintenance,
  WATCH_RENEW_EVERY_MS,
  WATCH_RENEW_SCHEDULER,
} from "./maintenance";

/** The repeatable purge of ended sessions and expired API tokens, run by the worker processes. */
describe("maintenance: purge-expired", () => {
  let stack: Stack;
  let fast: Maintenance | undefined;

  beforeAll(async () => {
    stack = await startStack({ workers: 1 });
  });
  afterAll(async () => {
    await fast?.close();
    await stack?.close();
  });

  const db = () => stack.workers[0]!.ctx.sequelize;
  const query = <T extends object>(sql: string, replacements: Record<string, unknown> = {}) =>
    db().query<T>(sql, { replacements, type: QueryTypes.SELECT });

  async function user(): Promise<string> {
    const id = randomUUID();
    await query("INSERT INTO users (id, email) VALUES (:id, :email)", {
      id,
      email: `purge-${id}@example.com`,
    });
    return id;
  }

  async function session(userId: string, expires: string, lastSeen: string): Promise<string> {
    const id = createHash("sha256").update(randomBytes(16)).digest("hex");
    await query(
      `INSERT INTO sessions (id, user_id, csrf_token, expires_at, last_seen_at)
       VALUES (:id, :userId, 'x', now() + CAST(:expires AS interval), now() + CAST(:lastSeen AS interval))`,
      { id, userId, expires, lastSeen },
    );
    return id;
  }

  async function token(userId: string, expires: string | null): Promise<string> {
    const id = randomUUID();
    await query(
      `INSERT INTO api_tokens (id, user_id, token_hash, name, expires_at)
       VALUES (:id, :userId, :hash, 't', CASE WHEN CAST(:expires AS text) IS NULL THEN NULL ELSE now() + CAST(:expires AS interval) END)`,
      { id, userId, hash: randomBytes(32).toString("hex"), expires },
    );
    return id;
  }

  const sessionIds = async () =>
    new Set((await query<{ id: string }>("SELECT id FROM sessions")).map((r) => r.id));
  const tokenIds = async () =>
    new Set((await query<{ id: string }>("SELECT id FROM api_tokens")).map((r) => r.id));

  async function until(what: string, test: () => Promise<boolean>, withinMs = 15_000): Promise<void> {
    const deadline = Date.now() + withinMs;
    while (!(await test())) {
      if (Date.now() > deadline) throw new Error(`${what} did not happen within ${withinMs} ms`);
      await sleep(100);
    }
  }

  it("workers register one purge job scheduler (and, with push off, the sync schedule) on a queue of its own", async () => {
    await stack.addWorker();
    expect(await schedulersOf(stack)).toEqual([
      [CHECK_SCHEDULER, CHECK_SCHEDULE_EVERY_MS],
      [PURGE_SCHEDULER, PURGE_EVERY_MS],
      [SYNC_SCHEDULER, 900_000],
    ]);
  });

  it("deletes sessions past either expiry and expired tokens, again on every run, and keeps the rest", async () => {
    const owner = await user();
    const keepSession = await session(owner, "29 days", "-1 hour");
    const idleSession = await session(owner, "29 days", "-73 hours");
    const expiredSession = await session(owner, "-1 second", "-1 minute");
    const keepForever = await token(owner, null);
    const keepUnexpired = await token(owner, "1 day");
    const expiredToken = await token(owner, "-1 second");

    // The schedule made quicker for the test; upserting the same scheduler id replaces the hourly one.
    fast = await startMaintenance(stack.workers[0]!.ctx, { everyMs: 300 });
    await until("the first purge", async () => {
      const s = await sessionIds();
      return !s.has(idleSession) && !s.has(expiredSession) && !(await tokenIds()).has(expiredToken);
    });
    expect(await sessionIds()).toContain(keepSession);
    const tokens = await tokenIds();
    expect(tokens).toContain(keepForever);
    expect(tokens).toContain(keepUnexpired);

    // It repeats: rows that end later are purged by a later run, without anyone asking.
    const later = await session(owner, "-1 second", "-1 minute");
    const laterToken = await token(owner, "-1 second");
    await until(
      "a later purge",
      async () => !(await sessionIds()).has(later) && !(await tokenIds()).has(laterToken),
    );
    expect(await sessionIds()).toContain(keepSession);
    expect(await fast.queue.getJobCountByTypes("completed")).toBeGreaterThanOrEqual(2);
  });

  it("removes change-feed entries older than CHANGE_FEED_RETENTION_DAYS, as a prefix of each feed, and records how far", async () => {
    const owner = await user();
    const days = stack.config.changeFeed.retentionDays;
    // seq 1-2 older than the retention, 3 younger; seq 4 is older again (`at` is when its writing
    // transaction began, which need not grow with seq): everything up to it goes.
    const ages = [days + 2, days + 1, 0, days + 1, 0];
    await query(`INSERT INTO change_feeds (user_id, last_seq) VALUES (:owner, ${ages.length})`, { owner });
    await query(
      `INSERT INTO changes (user_id, seq, type, at)
       SELECT :owner, i, 'sync.finished', now() - make_interval(days => (ARRAY[:ages]::int[])[i]) FROM generate_series(1, ${ages.length}) i`,
      { owner, ages },
    );
    fast ??= await startMaintenance(stack.workers[0]!.ctx, { everyMs: 300 });
    const seqs = async () =>
      (
        await query<{ seq: string }>("SELECT seq FROM changes WHERE user_id = :owner ORDER BY seq", { owner })
      ).map((r) => Number(r.seq));
    await until("the feed's purge", async () => (await seqs()).length < ages.length);
    expect(await seqs()).toEqual([5]);
    const [feed] = await query<{ pruned_through: string }>(
      "SELECT pruned_through FROM change_feeds WHERE user_id = :owner",
      { owner },
    );
    expect(Number(feed!.pruned_through)).toBe(4);
  });
});

/** Tasks of a user, oldest first: [state, runner]. */
/** The maintenance queue as BullMQ sees it, for `use`, closed afterwards. */
async function withMaintenanceQueue<T>(stack: Stack, use: (queue: Queue) => Promise<T>): Promise<T> {
  const connection = createRedis(stack.config.redisUrl, "worker");
  const queue = new Queue(MAINTENANCE_QUEUE, { connection, prefix: stack.config.queuePrefix });
  try {
    return await use(queue);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** The job schedulers registered, as sorted `[id, every]` pairs. */
const schedulersOf = (stack: Stack) =>
  withMaintenanceQueue(stack, async (queue) =>
    (await queue.getJobSchedulers()).map((s) => [s.key, Number(s.every)]).sort(),
  );

async function tasksOf(stack: Stack, userId: string): Promise<string[]> {
  const rows = await stack.web.ctx.sequelize.query<{ state: string }>(
    "SELECT state FROM sync_tasks WHERE user_id = :userId ORDER BY created_at",
    { replacements: { userId }, type: QueryTypes.SELECT },
  );
  return rows.map((r) => r.state);
}

async function userIdOf(stack: Stack, email: string): Promise<string> {
  const [row] = await stack.web.ctx.sequelize.query<{ id: string }>(
    "SELECT user_id AS id FROM gmail_accounts WHERE email = :email",
    { replacements: { email }, type: QueryTypes.SELECT },
  );
  return row!.id;
}

/** A fresh simulator account, signed in and synced once (so later syncs are incremental). */
async function syncedUser(
  stack: Stack,
  prefix: string,
): Promise<{ email: string; userId: string; client: ApiClient }> {
  const email = `${prefix}-${randomBytes(4).toString("hex")}@example.com`;
  await stack.simControl("POST", "/sim/accounts", { email, count: 3 });
  const client = await stack.signIn(email);
  const started = await client.json("POST", "/api/emails/sync");
  await waitForTask(client, started.body.taskId);
  return { email, userId: await userIdOf(stack, email), client };
}

/** Push off: the schedule keeps recently active accounts current without a click. */
describe("maintenance: sync-schedule", () => {
  let stack: Stack;
  let fast: Maintenance | undefined;

  beforeAll(async () => {
    stack = await startStack({ workers: 1 });
  }, 60_000);
  afterAll(async () => {
    await fast?.close();
    await stack?.close();
  });

  it("syncs an idle, recently active account every period, and leaves out inactive, reconnect-needing and never-synced ones", async () => {
    const active = await syncedUser(stack, "sched-active");
    const idle = await syncedUser(stack, "sched-idle");
    const revoked = await syncedUser(stack, "sched-revoked");
    // Idle: its only session was last used a month ago (the schedule's default window is 14 days).
    await stack.web.ctx.sequelize.query(
      "UPDATE sessions SET last_seen_at = now() - interval '30 days' WHERE user_id = :userId",
      { replacements: { userId: idle.userId } },
    );
    await stack.web.ctx.sequelize.query(
      "UPDATE gmail_accounts SET status = 'reauth_required' WHERE user_id = :userId",
      {
        replacements: { userId: revoked.userId },
      },
    );
    const neverSynced = `sched-new-${randomBytes(4).toString("hex")}@example.com`;
    await stack.simControl("POST", "/sim/accounts", { email: neverSynced, count: 3 });
    await stack.signIn(neverSynced);
    const neverSyncedId = await userIdOf(stack, neverSynced);

    const arrived = await stack.simControl(
      "POST",
      `/sim/accounts/${encodeURIComponent(active.email)}/messages`,
      {
        count: 1,
      },
    );
    // The period made short for the test; the same scheduler id replaces the 15-minute one.
    fast = await startMaintenance(stack.workers[0]!.ctx, { scheduleEveryMs: 1_000 });
    await waitUntil(
      async () => (await tasksOf(stack, active.userId)).length >= 3 || false,
      "two scheduled syncs",
      30_000,
    );
    const states = await waitUntil(async () => {
      const s = await tasksOf(stack, active.userId);
      return s.every((x) => x === "completed") ? s : false;
    }, "the scheduled syncs to finish");
    expect(states.length).toBeGreaterThanOrEqual(3);
    // The scheduled sync brought the message that arrived without anyone clicking.
    expect((await active.client.json("GET", `/api/emails/${arrived.ids[0]}`)).status).toBe(200);

    expect(await tasksOf(stack, idle.userId)).toEqual(["completed"]);
    expect(await tasksOf(stack, revoked.userId)).toEqual(["completed"]);
    expect(await tasksOf(stack, neverSyncedId)).toEqual([]);
  }, 60_000);
});

/** Push on: every connected account is watched, and a watch about to lapse is renewed. */
describe("maintenance: watch-renew", () => {
  let stack: Stack;
  let fast: Maintenance | undefined;

  beforeAll(async () => {
    stack = await startStack({
      workers: 1,
      env: { GMAIL_PUSH_TOPIC: "projects/inbox-sync-test/topics/renew" },
    });
  }, 60_000);
  afterAll(async () => {
    await fast?.close();
    await stack?.close();
    await stack?.simControl("DELETE", "/sim/clock").catch(() => {});
  });

  const stored = async (userId: string) => {
    const [row] = await stack.web.ctx.sequelize.query<{ watch_expiration: Date | null }>(
      "SELECT watch_expiration FROM gmail_accounts WHERE user_id = :userId",
      { replacements: { userId }, type: QueryTypes.SELECT },
    );
    return row?.watch_expiration?.getTime() ?? null;
  };

  it("registers the hourly renewal and no sync schedule", async () => {
    expect(await schedulersOf(stack)).toEqual([
      [CHECK_SCHEDULER, CHECK_SCHEDULE_EVERY_MS],
      [PURGE_SCHEDULER, PURGE_EVERY_MS],
      [WATCH_RENEW_SCHEDULER, WATCH_RENEW_EVERY_MS],
    ]);
  });

  it("watches an account when it signs in, then renews a watch that lapses within a day", async () => {
    // Gmail's clock set back 7 days less a minute: the sign-in's watch ends a minute from now.
    await stack.simControl("PUT", "/sim/clock", { offsetMs: -604_740_000 });
    await stack.simControl("DELETE", "/sim/stats");
    const { email, userId } = await syncedUser(stack, "renew");
    const first = await waitUntil(async () => (await stored(userId)) ?? false, "the sign-in's watch");
    expect(first).toBeLessThan(Date.now() + 120_000);
    expect((await stack.simControl("GET", "/sim/stats")).calls["users.watch"]).toBe(1);
    await stack.simControl("DELETE", "/sim/clock");

    fast = await startMaintenance(stack.workers[0]!.ctx, { watchRenewEveryMs: 500 });
    const renewed = await waitUntil(async () => {
      const at = await stored(userId);
      return at !== null && at > first ? at : false;
    }, "the renewal");
    expect(renewed).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    const watch = await stack.simControl("GET", `/sim/accounts/${encodeURIComponent(email)}/watch`);
    expect(Number(watch.expiration)).toBe(renewed);
    expect((await stack.simControl("GET", "/sim/stats")).calls["users.watch"]).toBeGreaterThanOrEqual(2);
  }, 60_000);
});

/** COMPLETENESS_CHECK_DAYS: each account gets a completeness check once its last is that old. */
describe("maintenance: check-schedule", () => {
  let stack: Stack;
  let fast: Maintenance | undefined;

  beforeAll(async () => {
    stack = await startStack({ workers: 1 });
  }, 60_000);
  afterAll(async () => {
    await fast?.close();
    await stack?.close();
  });

  const checks = async (userId: string) =>
    stack.web.ctx.sequelize.query<{ state: string; result: { added: number; deleted: number } | null }>(
      "SELECT state, result FROM sync_tasks WHERE user_id = :userId AND options->>'check' = 'true' ORDER BY created_at",
      { replacements: { userId }, type: QueryTypes.SELECT },
    );

  it("checks an account whose last check is older than the setting, repairing what Gmail changed unseen, and leaves a recent one alone", async () => {
    const due = await syncedUser(stack, "check-due");
    const recent = await syncedUser(stack, "check-recent");
    // A week and a day since the first one's full sync; a change it never heard of.
    await stack.web.ctx.sequelize.query(
      "UPDATE gmail_accounts SET last_full_sync_at = now() - interval '8 days', created_at = now() - interval '8 days' WHERE user_id = :userId",
      { replacements: { userId: due.userId } },
    );
    await stack.simControl("POST", `/sim/accounts/${encodeURIComponent(due.email)}/messages`, { count: 2 });

    fast = await startMaintenance(stack.workers[0]!.ctx, { checkEveryMs: 500 });
    const done = await waitUntil(async () => {
      const rows = await checks(due.userId);
      return rows.length > 0 && rows.every((r) => r.state === "completed") ? rows : false;
    }, "the scheduled check");
    expect(done).toHaveLength(1);
    expect(done[0]!.result).toMatchObject({ added: 2, deleted: 0 });
    const health = await due.client.json(
      "GET",
      `/api/accounts/${(await due.client.json("GET", "/api/accounts")).body.accounts[0].id}/health`,
    );
    expect(health.body.check).toMatchObject({ missing: 2, extra: 0 });

    // Two later runs find nothing due: the check just ran, and the other account is a day old.
    await withMaintenanceQueue(stack, async (queue) => {
      const runs = async () =>
        (await queue.getJobs(["completed"])).filter((j) => j.name === CHECK_SCHEDULER).length;
      const seen = await runs();
      await waitUntil(async () => (await runs()) >= seen + 2 || false, "two more check-schedule runs");
    });
    expect(await checks(due.userId)).toHaveLength(1);
    expect(await checks(recent.userId)).toEqual([]);
  }, 60_000);
});
