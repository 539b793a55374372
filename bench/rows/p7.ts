import type { BenchRow } from "../table";
import { type BenchContext, finished, stamp } from "./context";

/**
 * P7: many users pressing Fetch at once on the whole stack (2 web + 2 workers), against the
 * ideal makespan: all their messages at the rate one big sync reaches alone on the same stack.
 * A fair, fully used fleet finishes close to that ideal; a stuck or starved sync shows as a
 * long tail.
 */
export async function p7(ctx: BenchContext): Promise<BenchRow[]> {
  const userCount = ctx.quick ? 10 : 200;
  const each = ctx.quick ? 100 : 1_000;
  const big = ctx.quick ? 1_000 : 20_000;

  const [solo] = await ctx.users("p7-big", 1, big, ctx.webA);
  let t = stamp();
  const one = await solo!.json("POST", "/api/emails/sync");
  const soloFinal = await finished(solo!, one.body.taskId);
  const rate = big / ((stamp() - t) / 1000);

  const users = await ctx.users("p7", userCount, each, ctx.webA);
  const nodes = [ctx.webA, ctx.webB];
  t = stamp();
  const started = await Promise.all(
    users.map((u, i) => u.on(nodes[i % 2]!).json("POST", "/api/emails/sync")),
  );
  const finals = await Promise.all(started.map((s, i) => finished(users[i]!, s.body.taskId)));
  const makespan = (stamp() - t) / 1000;
  const ideal = (userCount * each) / rate;
  const completed = finals.filter((f) => f.state === "completed" && f.result?.added === each).length;
  const refused = started.filter((s) => s.status !== 202).length;
  const allGood = completed === userCount && refused === 0 && soloFinal.state === "completed";
  return [
    {
      id: "P7",
      what: `${userCount} users × ${each.toLocaleString("en-US")} messages at once, 2 web + 2 workers: makespan`,
      figure: makespan,
      baseline: ideal,
      baselineWhat: `all messages at one big sync's rate (${Math.round(rate)} messages/s)`,
      baselineKind: "reference",
      unit: "s",
      goal: "all complete, 0 errors, ≤ 1.25× reference",
      met: ctx.quick ? (allGood ? null : false) : allGood && makespan <= 1.25 * ideal,
      note: `${completed}/${userCount} completed exactly, ${refused} refused`,
    },
  ];
}
