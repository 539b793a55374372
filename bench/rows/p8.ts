import type { ApiClient } from "../../test/ApiClient";
import type { BenchRow } from "../table";
import { type BenchContext, finished, stamp } from "./context";
import { batchNote, batchSetting } from "./p3";
import { soloStack } from "./soloStack";

/**
 * P8: a small mailbox's first sync while ten big first syncs run, on one web node and two
 * workers of the default 10 slots each (the compose file's layout), against the same small sync
 * on the same stack with nothing else running. Each is the median of three users; the big syncs
 * are all fetching before the first small one starts and still running when the last ends.
 */
export async function p8(ctx: BenchContext): Promise<BenchRow[]> {
  const small = ctx.quick ? 50 : 100;
  const big = ctx.quick ? 2_000 : 20_000;
  const bigCount = ctx.quick ? 3 : 10;
  const stack = await soloStack(ctx, batchSetting());
  try {
    await stack.spawnWorker();
    // Also when the task left the queue, to tell waiting for a slot from running slowly.
    const timeOf = async (client: ApiClient) => {
      const t = stamp();
      const { body } = await client.json("POST", "/api/emails/sync");
      let queued = 0;
      for (;;) {
        const { body: now } = await client.json("GET", `/api/emails/sync/status/${body.taskId}`);
        if (now.state !== "queued") break;
        queued = (stamp() - t) / 1000;
        await new Promise((r) => setTimeout(r, 20));
      }
      const final = await finished(client, body.taskId);
      return {
        s: (stamp() - t) / 1000,
        queued,
        ok: final.state === "completed" && final.result?.added === small,
      };
    };
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

    const alone: Array<{ s: number; queued: number; ok: boolean }> = [];
    for (let i = 0; i < 3; i++) alone.push(await timeOf((await stack.user("p8-alone", small)).client));

    const bigs = await Promise.all(Array.from({ length: bigCount }, () => stack.user("p8-big", big)));
    const tasks = await Promise.all(bigs.map((b) => b.client.json("POST", "/api/emails/sync")));
    // Every big sync fetching: the small one meets them all.
    for (;;) {
      const states = await Promise.all(
        tasks.map((t, i) => bigs[i]!.client.json("GET", t.body.statusUrl).then((r) => r.body)),
      );
      if (states.every((s) => s.state === "active" && s.progress?.phase === "fetching")) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const beside: Array<{ s: number; queued: number; ok: boolean }> = [];
    for (let i = 0; i < 3; i++) beside.push(await timeOf((await stack.user("p8-beside", small)).client));
    const still = await Promise.all(
      tasks.map((t, i) => bigs[i]!.client.json("GET", t.body.statusUrl).then((r) => r.body.state)),
    );
    const running = still.filter((s) => s === "active").length;

    const a = median(alone.map((x) => x.s));
    const b = median(beside.map((x) => x.s));
    const ok = [...alone, ...beside].every((x) => x.ok);
    return [
      {
        id: "P8",
        what: `${small}-message first sync beside ${bigCount} ${big.toLocaleString("en-US")}-message syncs, 1 web + 2 workers: request to completed`,
        figure: b,
        baseline: a,
        baselineWhat: "the same user alone on the same stack",
        baselineKind: "reference",
        unit: "s",
        goal: "≤ reference + 2 s",
        met: !ok ? false : ctx.quick ? null : b <= a + 2,
        note: `median of 3 (beside ${beside.map((x) => x.s.toFixed(2)).join(", ")} s, of which queued ${beside
          .map((x) => x.queued.toFixed(2))
          .join(
            ", ",
          )} s; alone ${alone.map((x) => x.s.toFixed(2)).join(", ")} s); ${running} of ${bigCount} big syncs still running at the end; ${batchNote()}`,
      },
    ];
  } finally {
    await stack.close();
  }
}
