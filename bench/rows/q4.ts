import pg from "pg";
import { FIRST_SYNC_DAY_SHARE } from "../../core/sync/RedisQuotaBudget";
import type { ApiClient } from "../../test/ApiClient";
import type { BenchRow } from "../table";
import { type BenchContext, finished, stamp } from "./context";
import { env2026, median, refusedOf, TABLE_2026 } from "./quota2026";
import { soloStack } from "./soloStack";

/** Each user's newest messages the goal asks for. */
const NEWEST = 100;
/** Longer than this without every first sync parked or finished: the row reports it broken. */
const GIVE_UP_MS = 240_000;

/**
 * Q4: many users start first syncs at once under one project budget sized to run out. One web
 * node and one worker with a slot for every sync (so the queue's order is not what is measured),
 * the simulator and the app's gate on the `2026` profile with the project's day set to what the
 * users' fair shares add up to: about 300 messages a user (150 with --quick) of mailboxes 3×
 * that, so every first sync parks for the reset. A few users whose mailboxes were mirrored before
 * run incremental syncs while the first syncs wait. Figures: the slowest user's time until their
 * newest 100 messages are stored, the largest share of messages fetched beside the median while
 * everyone waits, and the incremental syncs that completed. No floor: the goals are absolute.
 * Broken: a request not accepted, a Gmail call refused, a first sync that failed or neither
 * parked nor finished, an incremental sync that did not complete.
 */
export async function q4(ctx: BenchContext): Promise<BenchRow[]> {
  const users = ctx.quick ? 10 : 50;
  const share = ctx.quick ? 150 : 300;
  const mailbox = share * 3;
  const current = ctx.quick ? 2 : 5;
  const currentSize = 20;
  const get = TABLE_2026.costs["messages.get"];
  const list = TABLE_2026.costs["messages.list"];
  // What the first syncs may spend in all: every user's share, and the mirrored users' own first
  // syncs (listing, labels and their mail), before the day's 5% reserve is added.
  const firstSyncUnits = users * (share * get + 2 * list) + current * (currentSize * get + 50);
  const day = Math.ceil(firstSyncUnits / FIRST_SYNC_DAY_SHARE);
  const stack = await soloStack(ctx, {
    ...env2026(day),
    WORKER_CONCURRENCY: String(users + current + 5),
  });
  const db = new pg.Client({ connectionString: ctx.databaseUrl });
  await db.connect();
  let broken = "";
  try {
    await ctx.sim("PUT", "/sim/quota", { profile: "2026", projectUnitsPerDay: day });
    // Mailboxes already mirrored: their first syncs run before the others arrive.
    const mirrored: Array<{ client: ApiClient; email: string }> = [];
    for (let i = 0; i < current; i++) mirrored.push(await stack.user("q4-current", currentSize));
    for (const { client } of mirrored) {
      const { body } = await client.json("POST", "/api/emails/sync");
      const done = await finished(client, body.taskId);
      if (done.state !== "completed") broken = `a mirrored user's first sync ended ${done.state}`;
    }

    const people: Array<{ client: ApiClient; email: string }> = [];
    for (let i = 0; i < users; i++) people.push(await stack.user("q4", mailbox));
    const newest: string[] = [];
    for (const { email } of people) {
      const listed = await ctx.sim("GET", `/sim/accounts/${email}/messages?limit=${NEWEST}`);
      newest.push(...listed.messages.map((m: { id: string }) => m.id));
    }
    await ctx.sim("DELETE", "/sim/stats");

    const t = stamp();
    const started = await Promise.all(people.map(({ client }) => client.json("POST", "/api/emails/sync")));
    if (started.some((s) => s.status !== 202)) broken = "a POST /api/emails/sync was not accepted";
    const taskIds = started.map((s) => s.body.taskId as string);
    const emails = people.map((p) => p.email);
    const newestAt = new Map<string, number>();
    let parkedAt = 0;
    while (!broken) {
      const { rows: stored } = await db.query<{ email: string; n: number }>(
        `SELECT u.email, count(*)::int AS n FROM emails e JOIN users u ON u.id = e.user_id
         WHERE e.gmail_id = ANY($1) GROUP BY u.email`,
        [newest],
      );
      for (const { email, n } of stored)
        if (n >= NEWEST && !newestAt.has(email)) newestAt.set(email, stamp() - t);
      const { rows: tasks } = await db.query<{ state: string; code: string | null }>(
        "SELECT state, error->>'code' AS code FROM sync_tasks WHERE id = ANY($1)",
        [taskIds],
      );
      if (tasks.some((r) => r.state === "failed")) broken = "a first sync failed";
      const waiting = tasks.filter((r) => r.state === "queued" && r.code === "daily_budget").length;
      const done = tasks.filter((r) => r.state === "completed").length;
      if (waiting + done === users && waiting > 0) {
        parkedAt = stamp() - t;
        break;
      }
      const worker = stack.worker.child;
      if (worker.exitCode !== null || worker.signalCode !== null) {
        broken = `the worker exited (${worker.exitCode ?? worker.signalCode})`;
        ctx.log(`Q4: the worker's last output:\n${stack.worker.output().slice(-3_000)}`);
      }
      if (stamp() - t > GIVE_UP_MS) broken = "the first syncs neither parked nor finished in time";
      await new Promise((r) => setTimeout(r, 250));
    }

    // While everyone waits for the reset: how the day was shared, and whether mirrored mailboxes
    // still sync.
    const { rows: shares } = await db.query<{ email: string; n: number }>(
      `SELECT u.email, count(e.gmail_id)::int AS n FROM users u LEFT JOIN emails e ON e.user_id = u.id
       WHERE u.email = ANY($1) GROUP BY u.email`,
      [emails],
    );
    const counts = shares.map((r) => r.n);
    const mid = median(counts);
    const most = Math.max(...counts);
    let incremental = 0;
    for (const { client, email } of mirrored) {
      await ctx.sim("POST", `/sim/accounts/${email}/messages`, { count: 1 });
      const { body } = await client.json("POST", "/api/emails/sync");
      const done = await finished(client, body.taskId);
      if (done.state === "completed" && done.result?.mode === "incremental" && done.result?.added === 1)
        incremental++;
    }
    if (!broken && incremental < current)
      broken = `${current - incremental} incremental syncs did not complete`;
    const refused = refusedOf(await ctx.sim("GET", "/sim/stats"));
    if (!broken && refused) broken = `${refused} Gmail calls refused`;
    const slowest = newestAt.size === users ? Math.max(...newestAt.values()) : Number.NaN;

    const met = (ok: boolean) => (broken ? false : ctx.quick ? null : ok);
    const what = `${users} users' first syncs at once, one project day of ${day.toLocaleString("en-US")} units sized to run out (2026 profile)`;
    return [
      {
        id: "Q4",
        what: `${what}: the slowest user's newest ${NEWEST} stored`,
        figure: (Number.isNaN(slowest) ? parkedAt : slowest) / 1000,
        baseline: null,
        baselineWhat: "—",
        unit: "s",
        goal: "≤ 60 s for every user",
        met: met(newestAt.size === users && slowest <= 60_000),
        note: broken
          ? `broken: ${broken}`
          : `${newestAt.size} of ${users} users had their newest ${NEWEST}; median ${(median([...newestAt.values()]) / 1000).toFixed(1)} s; all parked after ${(parkedAt / 1000).toFixed(1)} s`,
      },
      {
        id: "Q4",
        what: `${what}: the largest user's share of the first syncs' messages ÷ the median, while all wait for the reset`,
        figure: mid > 0 ? (most / mid) * 100 : Number.NaN,
        baseline: null,
        baselineWhat: "—",
        unit: "%",
        goal: "≤ 200% (2× the median)",
        met: met(mid > 0 && most <= 2 * mid),
        note: `messages per user: median ${mid}, least ${Math.min(...counts)}, most ${most} (fair share ${share}, mailboxes ${mailbox})`,
      },
      {
        id: "Q4",
        what: `${what}: incremental syncs of mirrored mailboxes completed during the pause`,
        figure: incremental,
        baseline: null,
        baselineWhat: "—",
        unit: "syncs",
        goal: `all ${current} complete`,
        met: met(incremental === current),
        note: `each fetched its 1 new message from the day's 5% reserve`,
      },
    ];
  } finally {
    await db.end().catch(() => {});
    await ctx.sim("DELETE", "/sim/quota").catch(() => {});
    await stack.close();
  }
}
