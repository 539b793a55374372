import type { BenchRow } from "../table";
import { type BenchContext, finished } from "./context";
import { gmailCalls, soloStack } from "./soloStack";

/**
 * P12: a full sync whose only worker is SIGKILLed halfway; a new worker takes the task over once
 * its lease lapses and finishes it from the listing kept in PostgreSQL. Its Gmail calls, all
 * runs together, against an uninterrupted sync of a mailbox of the same size.
 */
export async function p12(ctx: BenchContext): Promise<BenchRow[]> {
  const size = ctx.quick ? 5_000 : 100_000;
  const stack = await soloStack(ctx, { TASK_LEASE_SECONDS: "4" });
  try {
    const calm = await stack.user("p12-calm", size);
    await ctx.sim("DELETE", "/sim/stats");
    const a = await calm.client.json("POST", "/api/emails/sync");
    const calmFinal = await finished(calm.client, a.body.taskId);
    const calmCalls = await gmailCalls(ctx);

    const hit = await stack.user("p12-kill", size);
    await ctx.sim("DELETE", "/sim/stats");
    const b = await hit.client.json("POST", "/api/emails/sync");
    for (;;) {
      const { body } = await hit.client.json("GET", b.body.statusUrl);
      if (body.state !== "queued" && body.state !== "active")
        throw new Error(`P12: ended ${body.state} before the kill`);
      if (body.progress.phase === "fetching" && body.progress.processed >= size / 2) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const exited = new Promise((r) => stack.worker.child.once("exit", r));
    stack.worker.child.kill("SIGKILL");
    await exited;
    await stack.spawnWorker();
    const hitFinal = await finished(hit.client, b.body.taskId);
    const hitCalls = await gmailCalls(ctx);
    const ok = calmFinal.state === "completed" && hitFinal.state === "completed";
    return [
      {
        id: "P12",
        what: `${size.toLocaleString("en-US")}-message full sync, worker SIGKILLed at 50%: Gmail calls`,
        figure: hitCalls,
        baseline: calmCalls,
        baselineWhat: "the same sync uninterrupted",
        unit: "calls",
        goal: "≤ 1.02× floor",
        met: !ok ? false : ctx.quick ? null : hitCalls <= 1.02 * calmCalls,
        note: `${((hitCalls / calmCalls - 1) * 100).toFixed(2)}% more calls`,
      },
    ];
  } finally {
    await stack.close();
  }
}
