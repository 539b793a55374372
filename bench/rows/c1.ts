import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { createInterface } from "node:readline";
import pg from "pg";
import type { ApiClient } from "../../test/ApiClient";
import { type BenchRow, medianRun } from "../table";
import { type BenchContext, stamp } from "./context";

/** What one check cost, and what the bare listing beside it took. */
interface Run {
  /** Request to completed, in seconds. */
  seconds: number;
  /** Quota units the simulator counted while the check ran, by method. */
  units: Record<string, number>;
  calls: Record<string, number>;
  added: number;
  deleted: number;
  state: string;
  /** Seconds from the request until the task was first seen active, and first seen past its listing. */
  activeAt: number | null;
  listedAt: number | null;
  floor: { seconds: number; calls: number; ids: number; units: number };
}

const secondsOr = (s: number | null) => (s === null ? "?" : s.toFixed(2));
const sum = (table: Record<string, number>) => Object.values(table).reduce((a, b) => a + b, 0);

/**
 * C1: the completeness check (`POST /api/accounts/:id/check`) of a mailbox already fully synced,
 * with nothing to repair: the Gmail quota units it spends (units per 100 messages, by the
 * simulator's own count) and its wall time from request to completed. Its floor is the listing
 * alone with nothing of ours in it (bench/bare/listFloor.ts: the googleapis client walking
 * `messages.list`, 500 ids a page, in a process of its own as the worker is), timed the same way
 * from the bench's clock and checked to make as many `messages.list` calls. Three alternated
 * pairs; the median. A check that does not complete, or adds or removes anything here, is broken.
 * The mailbox is synced once and analysed (as P11's), as a mirror is when a check finds it.
 */
export async function c1(ctx: BenchContext): Promise<BenchRow[]> {
  const size = ctx.quick ? 2_000 : 100_000;
  const pairs = ctx.quick ? 1 : 3;
  const [user] = await ctx.users("c1", 1, size, ctx.webA);
  const client = user!;
  const me = (await client.json("GET", "/api/me")).body;
  // The mirror as a first sync leaves it: every id the simulator holds is stored.
  const first = await client.json("POST", "/api/emails/sync");
  const synced = await until(client, first.body.taskId);
  if (synced.state !== "completed" || synced.result?.added !== size)
    throw new Error(
      `C1: the first sync ended ${synced.state} with ${synced.result?.added} of ${size} stored`,
    );
  ctx.log(`C1: ${size} messages synced`);
  // A mirror synced long ago has its statistics: autovacuum analyses a partition some time after
  // a big first sync, and until it does the planner may walk the user's whole date index to find
  // each page's 500 stored ids (about 12 ms a page at 20,000 stored, against under 1 ms after).
  const db = new pg.Client({ connectionString: ctx.databaseUrl });
  await db.connect();
  try {
    await db.query("ANALYZE emails");
  } finally {
    await db.end();
  }
  const { accounts } = (await client.json("GET", "/api/accounts")).body;
  const accountId = accounts[0].id;

  const floor = spawn(
    process.execPath,
    ["--import", "tsx", path.join(import.meta.dirname, "../bare/listFloor.ts"), ctx.simUrl, me.email],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: floor.stdout! })[Symbol.asyncIterator]();
  const runs: Run[] = [];
  try {
    if ((await lines.next()).value !== "ready") throw new Error("C1: the floor did not start");
    const bare = async () => {
      await ctx.sim("DELETE", "/sim/stats");
      const t = stamp();
      floor.stdin!.write("go\n");
      const out = JSON.parse((await lines.next()).value);
      const seconds = (stamp() - t) / 1000;
      const stats = await ctx.sim("GET", "/sim/stats");
      return { seconds, calls: out.calls, ids: out.ids, units: sum(stats.units.spent) };
    };
    for (let i = 0; i < pairs; i++) {
      // Alternated, as the machine is shared: the floor first in even pairs, the check first in odd.
      const floorFirst = i % 2 === 0;
      const before = floorFirst ? await bare() : null;
      const run = await check(ctx, client, accountId);
      runs.push({ ...run, floor: before ?? (await bare()) });
      ctx.log(`C1 pair ${i + 1}: check ${run.seconds.toFixed(2)} s, ${sum(run.units)} units`);
    }
  } finally {
    floor.stdin!.end();
    if (floor.exitCode === null) await once(floor, "exit");
  }
  return c1Rows(ctx, size, runs);
}

/** One check: the simulator's counters reset before it and read at its end. */
async function check(ctx: BenchContext, client: ApiClient, accountId: string): Promise<Omit<Run, "floor">> {
  await ctx.sim("DELETE", "/sim/stats");
  const t = stamp();
  const started = await client.json("POST", `/api/accounts/${accountId}/check`);
  if (started.status !== 202) throw new Error(`C1: the check answered ${started.status}`);
  const marks: Marks = {};
  const final = await until(client, started.body.taskId, marks);
  const seconds = (stamp() - t) / 1000;
  const at = (mark: number | undefined) => (mark === undefined ? null : (mark - t) / 1000);
  const stats = await ctx.sim("GET", "/sim/stats");
  return {
    seconds,
    units: stats.units.spent,
    calls: stats.calls,
    added: final.result?.added ?? 0,
    deleted: final.result?.deleted ?? 0,
    state: final.state,
    activeAt: at(marks.active),
    listedAt: at(marks.listed),
  };
}

/** When a poll first saw the task taken by a worker, and first saw it past its listing (storing, sweeping). */
interface Marks {
  active?: number;
  listed?: number;
}

/** Polls a task every 10 ms until it has finished (the row times a few seconds). */
async function until(client: ApiClient, taskId: string, marks: Marks = {}): Promise<any> {
  for (;;) {
    const { body } = await client.json("GET", `/api/emails/sync/status/${taskId}`);
    const now = stamp();
    if (body.state !== "queued") marks.active ??= now;
    if (body.progress?.phase === "storing" || body.progress?.phase === "done") marks.listed ??= now;
    if (body.state === "completed" || body.state === "failed") return body;
    await new Promise((r) => setTimeout(r, 10));
  }
}

function c1Rows(ctx: BenchContext, size: number, runs: Run[]): BenchRow[] {
  // Broken, whatever the speed: a check that did not complete, repaired a whole mirror, or listed
  // a different number of pages from the bare listing of the same mailbox.
  const sound = runs.every(
    (r) =>
      r.state === "completed" &&
      r.added === 0 &&
      r.deleted === 0 &&
      r.floor.ids === size &&
      (r.calls["messages.list"] ?? 0) === r.floor.calls,
  );
  const perHundred = (r: Run) => (sum(r.units) / size) * 100;
  const floorPerHundred = (r: Run) => (r.floor.units / size) * 100;
  const units = medianRun(runs, (r) => perHundred(r) / floorPerHundred(r));
  const time = medianRun(runs, (r) => r.seconds / r.floor.seconds);
  const u = units.mid;
  const byMethod = Object.entries(u.units)
    .filter(([, n]) => n > 0)
    .map(([m, n]) => `${m} ${n}`)
    .join(", ");
  const what = `completeness check of a ${size.toLocaleString("en-US")}-message synced mailbox, nothing to repair`;
  const outcome = sound
    ? "completed, 0 added, 0 deleted"
    : `ended ${runs.map((r) => `${r.state} +${r.added} −${r.deleted}`).join(", ")}`;
  return [
    {
      id: "C1",
      what: `${what}: Gmail quota units per 100 messages`,
      figure: perHundred(u),
      baseline: floorPerHundred(u),
      baselineWhat: `the bare listing's ${u.floor.calls} messages.list calls, by the simulator's count`,
      ratios: units.ratios,
      unit: "units",
      goal: "≤ 1 unit per 100 messages",
      met: !sound ? false : ctx.quick ? null : perHundred(u) <= 1,
      note: `${sum(u.units)} units: ${byMethod}; ${outcome}`,
    },
    {
      id: "C1",
      what: `${what}: request to completed`,
      figure: time.mid.seconds,
      baseline: time.mid.floor.seconds,
      baselineWhat: `bare googleapis messages.list, 500 a page, ${time.mid.floor.calls} calls (bench/bare/listFloor.ts)`,
      ratios: time.ratios,
      unit: "s",
      goal: "none: the time beside its floor",
      met: sound ? null : false,
      note: `median of ${runs.length} alternated pairs; check ${runs.map((r) => r.seconds.toFixed(2)).join(", ")} s, floor ${runs.map((r) => r.floor.seconds.toFixed(2)).join(", ")} s; the median check taken by a worker at ${secondsOr(time.mid.activeAt)} s and past its listing at ${secondsOr(time.mid.listedAt)} s, the rest the sweep of stored ids against the listed and the listing's removal`,
    },
  ];
}
