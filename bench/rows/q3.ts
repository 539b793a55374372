import { randomBytes } from "node:crypto";
import { loadConfig } from "../../core/config";
import { nextPacificMidnight } from "../../core/gmail/quotaProfile";
import { FIRST_SYNC_DAY_SHARE } from "../../core/sync/RedisQuotaBudget";
import { freePort } from "../../scripts/lib/devServices";
import { startWebServer } from "../../server/WebServer";
import { ApiClient } from "../../test/ApiClient";
import { GENEROUS_RATE_LIMITS } from "../../test/rateLimits";
import { startSyncWorker } from "../../worker/SyncWorker";
import type { BenchRow } from "../table";
import type { BenchContext } from "./context";
import { env2026, median, refusedOf, TABLE_2026 } from "./quota2026";

/** The points of the sync, as shares of its messages, at which the estimate is read. */
const POINTS = [0.1, 0.25, 0.5];
const GIVE_UP_MS = 300_000;

interface Reading {
  /** Seconds the snapshot's `etaAt` said were left, and the seconds that really were. */
  said: number;
  actual: number;
}

/**
 * Q3: how right the task's `etaAt` is at 10%, 25% and 50% of a first sync under the `2026`
 * profile whose project day runs out mid-sync, the pause until the day's reset included.
 *
 * The day is made short with the clocks, not by waiting for midnight: the simulator's clock
 * (`PUT /sim/clock`) and the quota gate's clock (the web node's and worker's `quotaClock`, run in
 * this process for that) start an hour before a Pacific midnight and, the moment the sync parks,
 * jump together to `pauseS` before it, so Google's reset comes that many seconds after the park
 * whatever the machine's pace. The project's day is sized to 70% of the mailbox, so the first
 * sync parks once, at about two thirds: every reading is taken before the pause it must foresee. BullMQ would wake the parked job at that midnight by the
 * system clock (days away); the row promotes it the moment the shifted clocks reach midnight, as
 * BullMQ does at a real reset. Each reading is a status poll (every 100 ms): the first snapshot at
 * or past the point, its `etaAt − at` against the time from that snapshot to the task's
 * completion. Reference: the actual time left. Broken: the sync did not complete, every message
 * not stored, a Gmail call refused.
 */
export async function q3(ctx: BenchContext): Promise<BenchRow[]> {
  const size = ctx.quick ? 600 : 2_000;
  const runs = ctx.quick ? 1 : 3;
  const pauseS = ctx.quick ? 10 : 30;
  const get = TABLE_2026.costs["messages.get"];
  // A day pays for 70% of the mailbox (95% of it for first syncs): the sync parks once, at about
  // two thirds, and finishes the day after.
  const day = Math.ceil((0.7 * size * get + 3 * TABLE_2026.costs["messages.list"]) / FIRST_SYNC_DAY_SHARE);
  const readings: Reading[][] = POINTS.map(() => []);
  let broken = "";
  for (let run = 0; run < runs && !broken; run++) {
    const midnight = nextPacificMidnight(Date.now() + (run + 1) * 86_400_000);
    // The day starts with an hour left: however long the sync takes to spend it, the budget runs
    // out before the reset; once parked, the clocks jump to `pauseS` before midnight.
    let offset = midnight - 3_600_000 - Date.now();
    const clock = () => Date.now() + offset;
    const port = await freePort();
    const config = loadConfig({
      NODE_ENV: "test",
      HOST: "127.0.0.1",
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: ctx.databaseUrl,
      REDIS_URL: ctx.redisUrl,
      QUEUE_PREFIX: `${ctx.queuePrefix}-q3-${randomBytes(2).toString("hex")}`,
      GMAIL_SIM_URL: ctx.simUrl,
      LOG_LEVEL: "silent",
      DATA_DIR: ".data/test",
      WORKER_HEARTBEAT_TTL: "3",
      ...GENEROUS_RATE_LIMITS,
      ...env2026(day),
    });
    const web = await startWebServer(config, { migrate: false, quotaClock: clock });
    const worker = await startSyncWorker(config, { migrate: false, quotaClock: clock });
    try {
      await ctx.sim("PUT", "/sim/quota", { profile: "2026", projectUnitsPerDay: day });
      const email = `q3-${randomBytes(3).toString("hex")}@example.com`;
      await ctx.sim("POST", "/sim/accounts", { email, count: size });
      const client = new ApiClient(web.url);
      await client.signIn(email);
      offset = midnight - 3_600_000 - Date.now();
      await ctx.sim("PUT", "/sim/clock", { now: clock() });
      let parkedAt = 0;
      await ctx.sim("DELETE", "/sim/stats");
      const started = await client.json("POST", "/api/emails/sync");
      if (started.status !== 202) throw new Error(`POST /api/emails/sync answered ${started.status}`);
      const taskId: string = started.body.taskId;
      const seen: Array<{ at: number; etaAt?: number } | undefined> = POINTS.map(() => undefined);
      let promoted = false;
      let end = 0;
      const t0 = Date.now();
      for (;;) {
        const { body } = await client.json("GET", `/api/emails/sync/status/${taskId}`);
        const now = Date.now();
        if (body.state === "completed" || body.state === "failed") {
          end = now;
          // The last run's `added` counts only its own day's messages: the mailbox tells.
          const stored = (await client.json("GET", "/api/me")).body.emailCount;
          if (body.state === "failed" || stored !== size)
            broken = `the sync ended ${body.state} with ${stored} of ${size} stored`;
          break;
        }
        const { processed = 0, total = 0 } = body.progress ?? {};
        if (body.state === "active" && total > 0) {
          POINTS.forEach((p, i) => {
            if (!seen[i] && processed >= p * total) seen[i] = { at: now, etaAt: body.etaAt };
          });
        }
        if (!parkedAt && body.state === "queued" && body.waiting === "daily_budget") {
          parkedAt = now;
          offset = midnight - pauseS * 1000 - Date.now();
          await ctx.sim("PUT", "/sim/clock", { now: clock() });
        }
        if (!promoted && parkedAt && clock() >= midnight) {
          await ctx.sim("PUT", "/sim/clock", { now: clock() });
          await (await web.ctx.queue!.getJob(taskId, body.userId))?.promote();
          promoted = true;
        }
        if (now - t0 > GIVE_UP_MS) {
          broken = "the sync did not complete in time";
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      if (!broken && !promoted) broken = "the day's budget never parked the sync";
      const refused = refusedOf(await ctx.sim("GET", "/sim/stats"));
      if (!broken && refused) broken = `${refused} Gmail calls refused`;
      seen.forEach((s, i) => {
        if (s?.etaAt !== undefined)
          readings[i]!.push({ said: (s.etaAt - s.at) / 1000, actual: (end - s.at) / 1000 });
      });
      await ctx.sim("DELETE", `/sim/accounts/${encodeURIComponent(email)}`);
    } catch (err) {
      broken = err instanceof Error ? err.message : String(err);
    } finally {
      await ctx.sim("DELETE", "/sim/quota").catch(() => {});
      await ctx.sim("DELETE", "/sim/clock").catch(() => {});
      await worker.close();
      await web.close();
    }
  }
  return POINTS.map((p, i) => {
    const list = readings[i]!;
    const ratios = list.map((r) => r.said / r.actual);
    const said = list.length ? median(list.map((r) => r.said)) : Number.NaN;
    const actual = list.length ? median(list.map((r) => r.actual)) : Number.NaN;
    const mid = ratios.length ? median(ratios) : Number.NaN;
    return {
      id: "Q3",
      what: `ETA at ${p * 100}% of a ${size.toLocaleString("en-US")}-message first sync, 2026 profile, a project day of ${day.toLocaleString("en-US")} units running out mid-sync and resetting ${pauseS} s after the park: time left it said`,
      figure: said,
      baseline: actual,
      baselineKind: "reference",
      baselineWhat: "the actual time left, pause included",
      ratios: ratios.length > 1 ? ratios : undefined,
      unit: "s",
      goal: "within ±15% of the actual",
      met: broken ? false : ctx.quick ? null : Math.abs(mid - 1) <= 0.15,
      note: broken
        ? `broken: ${broken}`
        : `${runs > 1 ? `median of ${runs}; ` : ""}error ${list.map((r) => `${(((r.said - r.actual) / r.actual) * 100).toFixed(0)}%`).join(", ")}`,
    };
  });
}
