import type { BenchRow } from "../table";
import { type BenchContext, finished, stamp } from "./context";
import { gmailCalls, soloStack } from "./soloStack";

/**
 * P6: an incremental re-sync of a mailbox already stored: unchanged, then with 20 new messages.
 * Counted by the simulator (every Gmail call of the sync) and timed from the request to the
 * completed task. No baseline: the goals are absolute.
 */
export async function p6(ctx: BenchContext): Promise<BenchRow[]> {
  const size = ctx.quick ? 2_000 : 20_000;
  const stack = await soloStack(ctx);
  try {
    const { client: user, email } = await stack.user("p6", size);
    const sync = async () => {
      await ctx.sim("DELETE", "/sim/stats");
      const t = stamp();
      const { body } = await user.json("POST", "/api/emails/sync");
      const final = await finished(user, body.taskId);
      return { final, ms: stamp() - t, calls: await gmailCalls(ctx) };
    };
    const first = await sync();
    if (first.final.state !== "completed") throw new Error(`P6: the first sync ended ${first.final.state}`);
    const unchanged = await sync();
    await ctx.sim("POST", `/sim/accounts/${email}/messages`, { count: 20 });
    const twenty = await sync();
    const ok = (s: typeof unchanged, added: number) =>
      s.final.state === "completed" &&
      s.final.result?.mode === "incremental" &&
      s.final.result?.added === added;
    const judged = !ctx.quick;
    return [
      {
        id: "P6",
        what: `incremental re-sync, ${size.toLocaleString("en-US")} messages unchanged: Gmail calls`,
        figure: unchanged.calls,
        baseline: null,
        baselineWhat: "—",
        unit: "calls",
        goal: "≤ 3 calls",
        met: ok(unchanged, 0) ? unchanged.calls <= 3 : false,
      },
      {
        id: "P6",
        what: `incremental re-sync, ${size.toLocaleString("en-US")} messages unchanged: request to completed`,
        figure: unchanged.ms,
        baseline: null,
        baselineWhat: "—",
        unit: "ms",
        goal: "≤ 200 ms",
        met: !ok(unchanged, 0) ? false : judged ? unchanged.ms <= 200 : null,
      },
      {
        id: "P6",
        what: "the same with 20 new messages: Gmail calls",
        figure: twenty.calls,
        baseline: null,
        baselineWhat: "—",
        unit: "calls",
        goal: "≤ 25 calls",
        met: ok(twenty, 20) ? twenty.calls <= 25 : false,
        note: `${Math.round(twenty.ms)} ms request to completed`,
      },
    ];
  } finally {
    await stack.close();
  }
}
