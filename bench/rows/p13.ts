import pg from "pg";
import type { ApiClient } from "../../test/ApiClient";
import { type BenchRow, medianRun } from "../table";
import { type BenchContext, finished, stamp } from "./context";

/** Changes per request, for the app and its floor alike: the route's most. */
const PAGE = 1_000;

interface Pass {
  events: number;
  seconds: number;
  rate: number;
  /** Ids a follower holds after applying the pass's changes. */
  mirror: number;
}

/**
 * P13: the change feed's throughput to one follower. A user's mailbox is synced (every message a
 * `message.added`), then a follower replays the whole feed from 0 through `GET /api/changes`
 * (session cookie, pages of 1,000, each request after the last answer) on web node A. Floor: the
 * same pages read by bare `pg` with `SELECT … FROM changes WHERE user_id = $1 AND seq > $2 ORDER
 * BY seq LIMIT 1000`, no HTTP, no JSON: what the route cannot beat. Three pairs, alternated; the
 * median ratio is judged.
 */
export async function p13(ctx: BenchContext): Promise<BenchRow[]> {
  const size = ctx.quick ? 1_000 : 20_000;
  const pairs = ctx.quick ? 1 : 3;
  const [client] = await ctx.users("p13", 1, size, ctx.webA);
  const user = client!;
  const started = await user.json("POST", "/api/emails/sync");
  const final = await finished(user, started.body.taskId);
  const db = new pg.Client({ connectionString: ctx.databaseUrl });
  await db.connect();
  const runs: Array<{ app: Pass; floor: Pass }> = [];
  try {
    const email = (await user.json("GET", "/api/me")).body.email as string;
    const { rows } = await db.query<{ id: string }>("SELECT id FROM users WHERE email = $1", [email]);
    const userId = rows[0]!.id;
    for (let i = 0; i < pairs; i++) {
      const floorFirst = i % 2 === 0;
      const floor = floorFirst ? await floorPass(db, userId) : null;
      const app = await appPass(user);
      runs.push({ app, floor: floor ?? (await floorPass(db, userId)) });
      ctx.log(
        `P13 pair ${i + 1}: app ${Math.round(app.rate)} events/s, floor ${Math.round(runs[i]!.floor.rate)}`,
      );
    }
  } finally {
    await db.end();
  }
  // Replayed, the feed must rebuild the synced mailbox exactly, and both readers see every event.
  const exact =
    final.state === "completed" &&
    runs.every((r) => r.app.mirror === size && r.app.events === r.floor.events);
  const speed = medianRun(runs, (r) => r.floor.rate / r.app.rate);
  const { app, floor } = speed.mid;
  return [
    {
      id: "P13",
      what: `change feed replayed from 0 to one follower (${app.events.toLocaleString("en-US")} events, pages of ${PAGE})`,
      figure: app.rate,
      baseline: floor.rate,
      baselineWhat: "bare pg: SELECT … FROM changes WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT 1000",
      ratios: speed.ratios,
      unit: "events/s",
      goal: "≥ 0.5× floor (median)",
      met: !exact ? false : ctx.quick ? null : app.rate >= 0.5 * floor.rate,
      note: exact
        ? `the replay rebuilt all ${size.toLocaleString("en-US")} ids; ${(floor.rate / app.rate).toFixed(2)}× the floor's time`
        : `replay did not rebuild the mirror (sync ${final.state})`,
    },
  ];
}

async function appPass(user: ApiClient): Promise<Pass> {
  const ids = new Set<string>();
  let events = 0;
  let since = 0;
  const t = stamp();
  for (;;) {
    const { status, body } = await user.json("GET", `/api/changes?since=${since}&limit=${PAGE}`);
    if (status !== 200) throw new Error(`P13: /api/changes answered ${status}`);
    for (const c of body.changes) {
      if (c.type === "message.added") ids.add(c.messageId);
      if (c.type === "message.deleted") ids.delete(c.messageId);
    }
    events += body.changes.length;
    since = body.next;
    if (!body.more) break;
  }
  const seconds = (stamp() - t) / 1000;
  return { events, seconds, rate: events / seconds, mirror: ids.size };
}

async function floorPass(db: pg.Client, userId: string): Promise<Pass> {
  const ids = new Set<string>();
  let events = 0;
  let since = 0;
  const t = stamp();
  for (;;) {
    const { rows } = await db.query<{ seq: string; type: string; message_id: string | null; at: Date }>(
      "SELECT seq, type, message_id, at FROM changes WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
      [userId, since, PAGE],
    );
    for (const r of rows) {
      if (r.type === "message.added") ids.add(r.message_id!);
      if (r.type === "message.deleted") ids.delete(r.message_id!);
    }
    events += rows.length;
    if (rows.length < PAGE) break;
    since = Number(rows[rows.length - 1]!.seq);
  }
  const seconds = (stamp() - t) / 1000;
  return { events, seconds, rate: events / seconds, mirror: ids.size };
}
