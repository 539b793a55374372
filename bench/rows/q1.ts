import { type BenchRow, medianRun } from "../table";
import { type BenchContext, finished, stamp } from "./context";
import { COST_TABLES, cheapestUnits, costsOf, SYNC_METHODS, threadedStack, threadedUser } from "./threaded";

/** The `2026` profile's per-user limit: 6,000 units a minute. */
const USER_UNITS_PER_SECOND = 100;

/**
 * Q1: a first sync of a 3,000-message mailbox (threads of 1-20, the simulator's `mixed`
 * threading) under the `2026` profile, enforced by the simulator as Google does (6,000 units per
 * user per rolling minute) and planned for by the app's gate, under each cost table. The floor is
 * the time the cheapest plan's units take at the allowed rate (bench/rows/threaded.ts
 * cheapestUnits ÷ 100 units/s): a sync at the floor's rate spends the quota on nothing else. The
 * rolling minute starts empty, as a new user's does at Google, so its first minute's units come
 * at once and a sync can beat the floor. Refused calls are the simulator's quota refusals over
 * every call of the sync. Three runs per table, the median.
 */
export async function q1(ctx: BenchContext): Promise<BenchRow[]> {
  const size = ctx.quick ? 300 : 3_000;
  const runsPerTable = ctx.quick ? 1 : 3;
  const rows: BenchRow[] = [];
  for (const table of COST_TABLES) {
    const costs = costsOf(table);
    const stack = await threadedStack(ctx, table, {
      GMAIL_QUOTA_PROFILE: "2026",
      GMAIL_USER_UNITS_PER_SECOND: String(USER_UNITS_PER_SECOND),
      GMAIL_PROJECT_UNITS_PER_SECOND: String(1_200_000 / 60),
    });
    const runs: Array<{
      rate: number;
      floor: number;
      refusedPct: number;
      seconds: number;
      floorSeconds: number;
      completed: boolean;
      state: string;
    }> = [];
    try {
      await ctx.sim("PUT", "/sim/quota", { profile: "2026", costs });
      for (let i = 0; i < runsPerTable; i++) {
        const { client, messages } = await threadedUser(ctx, stack, `q1-${i}`, size);
        await ctx.sim("DELETE", "/sim/stats");
        const t = stamp();
        const { body } = await client.json("POST", "/api/emails/sync");
        const final = await finished(client, body.taskId);
        const seconds = (stamp() - t) / 1000;
        const stats = await ctx.sim("GET", "/sim/stats");
        const calls = SYNC_METHODS.reduce((n, m) => n + (stats.calls[m] ?? 0), 0);
        const refused = Object.values(stats.rejected as Record<string, number>).reduce((a, b) => a + b, 0);
        const floorSeconds = cheapestUnits(messages, costs) / USER_UNITS_PER_SECOND;
        runs.push({
          rate: size / seconds,
          floor: size / floorSeconds,
          refusedPct: (100 * refused) / Math.max(1, calls),
          seconds,
          floorSeconds,
          completed: final.state === "completed" && final.result?.added === size,
          state: final.state,
        });
      }
    } finally {
      await ctx.sim("DELETE", "/sim/quota").catch(() => {});
      await stack.close();
    }
    const { mid, ratios } = medianRun(runs, (r) => r.rate / r.floor);
    const completed = runs.every((r) => r.completed);
    const refusedOk = runs.every((r) => r.refusedPct < 2);
    rows.push({
      id: "Q1",
      what: `${size.toLocaleString("en-US")}-message first sync, threads of 1-20, \`2026\` profile (100 units/s a user), ${table.name}`,
      figure: mid.rate,
      baseline: mid.floor,
      baselineWhat: "the cheapest plan's units ÷ 100 units/s",
      ratios,
      unit: "messages/s",
      goal: "≥ 0.9× floor (median); < 2% of calls refused; 0 failed",
      met: !completed || !refusedOk ? false : ctx.quick ? null : mid.rate >= 0.9 * mid.floor,
      note: `${mid.seconds.toFixed(0)} s against the floor's ${mid.floorSeconds.toFixed(0)} s; calls refused ${runs.map((r) => `${r.refusedPct.toFixed(2)}%`).join(", ")}; ${completed ? "every run completed" : `ended ${runs.map((r) => r.state).join(", ")}`}`,
    });
  }
  return rows;
}
