import { type BenchRow, medianRun } from "../table";
import { type BenchContext, finished, stamp } from "./context";
import { floorSync } from "./p3";
import { soloStack } from "./soloStack";

const LATENCY_MS = 100;
/** Requests the sync keeps in flight with batches (two, so one is decoded while one travels). */
const IN_FLIGHT = 2;

/**
 * P5: a full sync with 100 ms added to every Gmail call (the simulator's latency fault), one
 * worker, no quota, against the floor of the same work at the same latency: bench/bare/storeFloor
 * with the batch size the sync really sent (the simulator's messages.get and threads.get parts ÷ its batch
 * requests) and the same requests in flight. The note gives the bound those lanes allow
 * (requests in flight × parts a request ÷ latency). Three alternated pairs, the median.
 */
export async function p5(ctx: BenchContext): Promise<BenchRow[]> {
  const size = ctx.quick ? 500 : 5_000;
  const pairs = ctx.quick ? 1 : 3;
  const stack = await soloStack(ctx);
  const runs: Array<{
    rate: number;
    floor: number;
    parts: number;
    seconds: number;
    exact: boolean;
    state: string;
  }> = [];
  try {
    for (let i = 0; i < pairs; i++) {
      const { client } = await stack.user(`p5-${i}`, size);
      await ctx.sim("PUT", "/sim/faults", { latencyMs: LATENCY_MS });
      await ctx.sim("DELETE", "/sim/stats");
      const t = stamp();
      const { body } = await client.json("POST", "/api/emails/sync");
      const final = await finished(client, body.taskId);
      const seconds = (stamp() - t) / 1000;
      const stats = await ctx.sim("GET", "/sim/stats");
      // A batch's parts are message and whole-thread gets alike (the thread/message plan).
      const fetchCalls = (stats.calls["messages.get"] ?? 0) + (stats.calls["threads.get"] ?? 0);
      const parts = Math.max(1, Math.round(fetchCalls / Math.max(1, stats.batches)));
      const floor = await floorSync(ctx, `p5-floor-${i}`, size, parts, IN_FLIGHT);
      await ctx.sim("DELETE", "/sim/faults");
      runs.push({
        rate: size / seconds,
        floor: floor.rate,
        parts,
        seconds,
        exact: final.state === "completed" && final.result?.added === size && floor.stored === size,
        state: final.state,
      });
    }
  } finally {
    await ctx.sim("DELETE", "/sim/faults").catch(() => {});
    await stack.close();
  }
  const { mid, ratios } = medianRun(runs, (r) => r.rate / r.floor);
  const bound = (IN_FLIGHT * mid.parts) / (LATENCY_MS / 1000);
  const exact = runs.every((r) => r.exact);
  return [
    {
      id: "P5",
      what: `${size.toLocaleString("en-US")}-message full sync, ${LATENCY_MS} ms on every Gmail call`,
      figure: mid.rate,
      baseline: mid.floor,
      baselineWhat: `bare fetch + pg at ${LATENCY_MS} ms, batches of ${mid.parts} (the sync's), ${IN_FLIGHT} in flight`,
      ratios,
      unit: "messages/s",
      goal: "≥ 0.8× floor (median)",
      met: !exact ? false : ctx.quick ? null : mid.rate >= 0.8 * mid.floor,
      note: `the lanes' bound ${IN_FLIGHT} × ${mid.parts} ÷ ${LATENCY_MS} ms = ${Math.round(bound)} messages/s, ${Math.round((mid.rate / bound) * 100)}% of it (the listing's calls are in the figure); ${mid.seconds.toFixed(1)} s; ${exact ? "all stored" : `ended ${runs.map((r) => r.state).join(", ")}`}`,
    },
  ];
}
