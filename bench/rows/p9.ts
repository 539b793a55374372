import type { BenchRow } from "../table";
import { type BenchContext, finished } from "./context";
import { rssOf, soloStack } from "./soloStack";

/**
 * P9: one worker process's peak resident memory over a whole full sync, by mailbox size, each in
 * a fresh worker (the kernel's high-water mark is per process). The smallest size is the
 * baseline: memory that does not grow with the mailbox stays near it. A million messages runs
 * only with `--large` (minutes, and not in CI).
 */
export async function p9(ctx: BenchContext): Promise<BenchRow[]> {
  const large = process.argv.includes("--large");
  const small = ctx.quick ? 1_000 : 10_000;
  const sizes = ctx.quick ? [5_000] : large ? [100_000, 1_000_000] : [100_000];
  const base = await peakOf(ctx, small);
  const rows: BenchRow[] = [];
  for (const size of sizes) {
    const m = await peakOf(ctx, size);
    const ok = m.completed && base.completed;
    rows.push({
      id: "P9",
      what: `worker peak RSS, ${size.toLocaleString("en-US")}-message full sync`,
      figure: m.peakMb,
      baseline: base.peakMb,
      baselineWhat: `the same at ${small.toLocaleString("en-US")} messages`,
      unit: "MB",
      goal: "≤ 1.3× baseline and ≤ 250 MB",
      met: !ok ? false : ctx.quick ? null : m.peakMb <= 1.3 * base.peakMb && m.peakMb <= 250,
      note: `idle ${Math.round(m.idleMb)} MB before the sync (baseline's ${Math.round(base.idleMb)} MB)`,
    });
  }
  return rows;
}

async function peakOf(ctx: BenchContext, size: number) {
  const stack = await soloStack(ctx);
  try {
    const { client } = await stack.user("p9", size);
    await new Promise((r) => setTimeout(r, 2_000));
    const pid = stack.worker.child.pid!;
    const idleMb = rssOf(pid).rssMb;
    const { body } = await client.json("POST", "/api/emails/sync");
    const final = await finished(client, body.taskId);
    return {
      idleMb,
      peakMb: rssOf(pid).peakMb,
      completed: final.state === "completed" && final.result?.added === size,
    };
  } finally {
    await stack.close();
  }
}
