import type { BenchRow } from "../table";
import { type BenchContext, finished, stamp } from "./context";
import { soloStack } from "./soloStack";

/** Google's default per-user quota, and what one `messages.get` costs of it. */
const USER_UNITS_PER_SECOND = 250;
const GET_COST = 5;

/**
 * P4: a full sync against the simulator enforcing Google's per-user quota (250 units/s), through
 * the real web and worker processes with the app's own quota gate set to the same rate. The
 * baseline is the ceiling that quota puts on any client: 250 ÷ 5 = 50 `messages.get` a second.
 * Rejected calls are the simulator's 429s for quota; a failed job is a task that did not complete
 * with every message stored.
 */
export async function p4(ctx: BenchContext): Promise<BenchRow[]> {
  const size = ctx.quick ? 300 : 3_000;
  const ceiling = USER_UNITS_PER_SECOND / GET_COST;
  const stack = await soloStack(ctx, {
    GMAIL_USER_UNITS_PER_SECOND: String(USER_UNITS_PER_SECOND),
    GMAIL_PROJECT_UNITS_PER_SECOND: "0",
  });
  try {
    const { client } = await stack.user("p4", size);
    await ctx.sim("PUT", "/sim/quota", { userUnitsPerSecond: USER_UNITS_PER_SECOND });
    await ctx.sim("DELETE", "/sim/stats");
    const t = stamp();
    const { body } = await client.json("POST", "/api/emails/sync");
    const final = await finished(client, body.taskId);
    const seconds = (stamp() - t) / 1000;
    const stats = await ctx.sim("GET", "/sim/stats");
    await ctx.sim("DELETE", "/sim/quota");
    const sum = (o: Record<string, number>) => Object.values(o ?? {}).reduce((a, b) => a + b, 0);
    const gmail =
      sum(stats.calls) - (stats.calls["oauth.exchange"] ?? 0) - (stats.calls["oauth.refresh"] ?? 0);
    const rejected = sum(stats.rejected);
    const rejectedPct = (rejected / gmail) * 100;
    const rate = size / seconds;
    const completed = final.state === "completed" && final.result?.added === size;
    const failedJobs = completed ? 0 : 1;
    return [
      {
        id: "P4",
        what: `${size.toLocaleString("en-US")}-message full sync, simulator enforcing ${USER_UNITS_PER_SECOND} units/s per user, web + worker processes`,
        figure: rate,
        baseline: ceiling,
        baselineWhat: `the quota's ceiling, ${USER_UNITS_PER_SECOND} ÷ ${GET_COST} units per messages.get`,
        unit: "messages/s",
        goal: "≥ 90% of the ceiling, < 2% of calls rejected, 0 failed jobs",
        met: !completed
          ? false
          : ctx.quick
            ? null
            : rate >= 0.9 * ceiling && rejectedPct < 2 && failedJobs === 0,
        note: `${Math.round((rate / ceiling) * 100)}% of the ceiling; ${rejected} of ${gmail} Gmail calls rejected (${rejectedPct.toFixed(2)}%); ${failedJobs} failed jobs; ${seconds.toFixed(1)} s`,
      },
    ];
  } finally {
    await ctx.sim("DELETE", "/sim/quota").catch(() => {});
    await stack.close();
  }
}
