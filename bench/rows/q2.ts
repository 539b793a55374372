import { type BenchRow, medianRun } from "../table";
import { type BenchContext, finished } from "./context";
import { COST_TABLES, cheapestUnits, costsOf, syncUnits, threadedStack, threadedUser } from "./threaded";

/**
 * Q2: Gmail quota units a first sync spends per stored message, on a mailbox whose threads hold
 * 1-20 messages (the simulator's `mixed` threading: most of 1-3, replies interleaved with other
 * mail so some threads cross listing pages), under each cost table. The floor is the cheapest
 * plan computed offline from the same mailbox, every thread known whole (bench/rows/threaded.ts
 * cheapestUnits). Units are the simulator's count of what it charged, every sync call included
 * (labels, profile, listing). No rate limit: units do not depend on the pace. Three runs per
 * table, the median.
 */
export async function q2(ctx: BenchContext): Promise<BenchRow[]> {
  const size = ctx.quick ? 300 : 3_000;
  const runsPerTable = ctx.quick ? 1 : 3;
  const rows: BenchRow[] = [];
  for (const table of COST_TABLES) {
    const costs = costsOf(table);
    const stack = await threadedStack(ctx, table);
    const runs: Array<{
      perMessage: number;
      floor: number;
      allGets: number;
      again: number;
      exact: boolean;
      state: string;
    }> = [];
    try {
      await ctx.sim("PUT", "/sim/quota", { costs });
      for (let i = 0; i < runsPerTable; i++) {
        const { client, messages } = await threadedUser(ctx, stack, `q2-${i}`, size);
        await ctx.sim("DELETE", "/sim/stats");
        const { body } = await client.json("POST", "/api/emails/sync");
        const final = await finished(client, body.taskId);
        const stats = await ctx.sim("GET", "/sim/stats");
        const stored = final.result?.added ?? 0;
        runs.push({
          perMessage: syncUnits(stats) / Math.max(1, stored),
          floor: cheapestUnits(messages, costs) / messages.length,
          // Every message its own "thread": a get each, with the same listing, labels and profile.
          allGets:
            cheapestUnits(
              messages.map((m) => ({ threadId: m.id })),
              costs,
            ) / messages.length,
          // Brought twice (a thread fetched whole after some of its messages came alone): paid
          // for in the figure, never stored twice.
          again: stats.served.again,
          exact: final.state === "completed" && stored === size && final.result?.updated === 0,
          state: final.state,
        });
      }
    } finally {
      await ctx.sim("DELETE", "/sim/quota").catch(() => {});
      await stack.close();
    }
    const { mid, ratios } = medianRun(runs, (r) => r.perMessage / r.floor);
    const exact = runs.every((r) => r.exact);
    rows.push({
      id: "Q2",
      what: `quota units per stored message, ${size.toLocaleString("en-US")}-message first sync, threads of 1-20, ${table.name}`,
      figure: mid.perMessage,
      baseline: mid.floor,
      baselineWhat: "the cheapest plan computed offline from the same mailbox (every thread whole)",
      ratios,
      unit: "units/message",
      goal: "≤ 1.05× floor (median)",
      met: !exact ? false : ctx.quick ? null : mid.perMessage <= 1.05 * mid.floor,
      note: `a messages.get per message would spend ${mid.allGets.toFixed(2)}; ${exact ? `every message stored once; messages a whole thread brought a second time: ${runs.map((r) => r.again).join(", ")}` : `ended ${runs.map((r) => r.state).join(", ")}`}`,
    });
  }
  return rows;
}
