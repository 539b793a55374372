import { percentile } from "../../test/pushLatency";
import type { BenchRow } from "../table";
import { type BenchContext, finished, stamp } from "./context";

/**
 * P1: `POST /api/emails/sync` against `GET /healthz` on one web node, alone and in a burst of
 * distinct signed-in users. Healthz is the stack's floor: Express, the HTTP parser and the
 * loopback, with no session, no database and no Redis.
 */
export async function p1(ctx: BenchContext): Promise<BenchRow[]> {
  const alone = ctx.quick ? 5 : 30;
  const burst = ctx.quick ? 20 : 200;
  const url = ctx.webA;

  // Alone: one person, an idle stack. Each POST creates a task that finishes before the next.
  const soloUsers = await ctx.users("p1-solo", alone, 1, url);
  const healthAlone: number[] = [];
  for (let i = 0; i < alone * 2; i++) {
    const t = stamp();
    await fetch(`${url}/healthz`).then((r) => r.arrayBuffer());
    if (i >= alone) healthAlone.push(stamp() - t); // the first half warms up
  }
  const postAlone: number[] = [];
  for (const user of soloUsers) {
    const t = stamp();
    const res = await user.json("POST", "/api/emails/sync");
    postAlone.push(stamp() - t);
    await finished(user, res.body.taskId);
  }

  // Burst: every user at once, first against healthz, then pressing Fetch.
  const crowd = await ctx.users("p1-burst", burst, 1, url);
  const timed = async (fn: () => Promise<unknown>) => {
    const t = stamp();
    await fn();
    return stamp() - t;
  };
  const healthBurst = await Promise.all(
    crowd.map(() => timed(() => fetch(`${url}/healthz`).then((r) => r.arrayBuffer()))),
  );
  const statuses: number[] = [];
  const postBurst = await Promise.all(
    crowd.map((u) =>
      timed(async () => {
        const res = await u.json("POST", "/api/emails/sync");
        statuses.push(res.status);
      }),
    ),
  );
  const accepted = statuses.filter((s) => s === 202).length;
  const judged = !ctx.quick;
  const aloneP50 = percentile(postAlone, 50);
  const burstRatio = percentile(postBurst, 99) / percentile(healthBurst, 99);
  return [
    {
      id: "P1",
      what: "POST /api/emails/sync alone: p50",
      figure: aloneP50,
      baseline: percentile(healthAlone, 50),
      baselineWhat: "GET /healthz alone",
      unit: "ms",
      goal: "≤ 5 ms",
      met: judged ? aloneP50 <= 5 : null,
    },
    {
      id: "P1",
      what: `POST /api/emails/sync, ${burst} users at once: p99`,
      figure: percentile(postBurst, 99),
      baseline: percentile(healthBurst, 99),
      baselineWhat: "GET /healthz, same burst",
      unit: "ms",
      goal: "≤ 3× baseline",
      // A quick run judges no speed, but every answer must still be a 202.
      met: accepted !== burst ? false : judged ? burstRatio <= 3 : null,
      note: `${accepted}/${burst} answered 202`,
    },
  ];
}
