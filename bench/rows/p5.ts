import type { BenchRow } from "../table";
import { type BenchContext, finished, stamp } from "./context";
import { soloStack } from "./soloStack";

const LATENCY_MS = 100;
/** The per-sync concurrency the worker uses (syncMailbox's default). */
const CONCURRENCY = 10;

/**
 * P5: a full sync with 100 ms added to every Gmail call (the simulator's latency fault), one
 * worker, no quota. The bound is what the lanes can do at that latency: concurrency ÷ latency
 * messages a second; the listing's own calls (profile, labels, the first page) are in the
 * figure, so a short mailbox cannot reach it.
 */
export async function p5(ctx: BenchContext): Promise<BenchRow[]> {
  const size = ctx.quick ? 500 : 5_000;
  const bound = CONCURRENCY / (LATENCY_MS / 1000);
  const stack = await soloStack(ctx);
  try {
    const { client } = await stack.user("p5", size);
    await ctx.sim("PUT", "/sim/faults", { latencyMs: LATENCY_MS });
    const t = stamp();
    const { body } = await client.json("POST", "/api/emails/sync");
    const final = await finished(client, body.taskId);
    const seconds = (stamp() - t) / 1000;
    await ctx.sim("DELETE", "/sim/faults");
    const rate = size / seconds;
    const exact = final.state === "completed" && final.result?.added === size;
    return [
      {
        id: "P5",
        what: `${size.toLocaleString("en-US")}-message full sync, ${LATENCY_MS} ms on every Gmail call`,
        figure: rate,
        baseline: bound,
        baselineWhat: `${CONCURRENCY} lanes ÷ ${LATENCY_MS} ms`,
        unit: "messages/s",
        goal: "≥ 80% of the bound",
        met: !exact ? false : ctx.quick ? null : rate >= 0.8 * bound,
        note: `${Math.round((rate / bound) * 100)}% of the bound; ${seconds.toFixed(1)} s; ${exact ? "all stored" : `ended ${final.state}`}`,
      },
    ];
  } finally {
    await ctx.sim("DELETE", "/sim/faults").catch(() => {});
    await stack.close();
  }
}
