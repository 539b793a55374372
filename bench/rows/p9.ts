import type { ApiClient } from "../../test/ApiClient";
import type { BenchRow } from "../table";
import { type BenchContext, finished, stamp } from "./context";
import { rssOf, soloStack } from "./soloStack";

/**
 * The old-space cap the deployment files give a worker (Procfile, docker-compose): measured here
 * beside the uncapped process, for one big sync and for ten syncs at once (WORKER_CONCURRENCY).
 */
export const WORKER_HEAP_CAP_MB = 192;

/**
 * P9: one worker process's peak resident memory over a whole full sync, by mailbox size, each in
 * a fresh worker (the kernel's high-water mark is per process). The smallest size is the
 * baseline: memory that does not grow with the mailbox stays near it. A million messages runs
 * only with `--large` (minutes, and not in CI).
 *
 * What grows without a cap is garbage V8 has not collected yet, so the rows are measured twice:
 * uncapped, and with the deployment's `--max-old-space-size` (WORKER_HEAP_CAP_MB); then ten
 * syncs at once in one worker, capped against uncapped, for the cap's cost in speed.
 * `--large --p9-capped` measures the million with the cap alone (its 10,000 baseline too).
 */
export async function p9(ctx: BenchContext): Promise<BenchRow[]> {
  const large = process.argv.includes("--large");
  // `--p9-capped`: the deployment's configuration only (with `--large`, the million alone).
  const cappedOnly = process.argv.includes("--p9-capped");
  const small = ctx.quick ? 1_000 : 10_000;
  const sizes = ctx.quick ? [5_000] : large ? (cappedOnly ? [1_000_000] : [100_000, 1_000_000]) : [100_000];
  const capped = { NODE_OPTIONS: `--max-old-space-size=${WORKER_HEAP_CAP_MB}` };
  const rows: BenchRow[] = [];
  const passes = [
    ["", {}],
    [`, heap cap ${WORKER_HEAP_CAP_MB} MB`, capped],
  ] as const;
  for (const [label, env] of cappedOnly ? passes.slice(1) : passes) {
    const base = await peakOf(ctx, small, 1, env);
    for (const size of sizes) {
      const m = await peakOf(ctx, size, 1, env);
      const ok = m.completed && base.completed;
      rows.push({
        id: "P9",
        what: `worker peak RSS, ${size.toLocaleString("en-US")}-message full sync${label}`,
        figure: m.peakMb,
        baseline: base.peakMb,
        baselineWhat: `the same at ${small.toLocaleString("en-US")} messages`,
        baselineKind: "reference",
        unit: "MB",
        goal: "≤ 1.3× reference and ≤ 250 MB",
        met: !ok ? false : ctx.quick ? null : m.peakMb <= 1.3 * base.peakMb && m.peakMb <= 250,
        note: `idle ${Math.round(m.idleMb)} MB before the sync (baseline's ${Math.round(base.idleMb)} MB); ${Math.round(m.rate)} messages/s`,
      });
    }
  }
  if (cappedOnly) return rows;
  // Ten syncs at once (a worker's default slots): what the cap holds and what it costs.
  const each = ctx.quick ? 500 : 5_000;
  const free = await peakOf(ctx, each, 10, {});
  const held = await peakOf(ctx, each, 10, capped);
  const ok = free.completed && held.completed;
  rows.push({
    id: "P9",
    what: `worker peak RSS, 10 syncs of ${each.toLocaleString("en-US")} at once, heap cap ${WORKER_HEAP_CAP_MB} MB`,
    figure: held.peakMb,
    baseline: free.peakMb,
    baselineWhat: "the same uncapped",
    baselineKind: "reference",
    unit: "MB",
    goal: "≤ 250 MB",
    met: !ok ? false : ctx.quick ? null : held.peakMb <= 250,
    note: `${Math.round(held.rate)} messages/s capped vs ${Math.round(free.rate)} uncapped`,
  });
  return rows;
}

async function peakOf(ctx: BenchContext, size: number, syncs: number, env: Record<string, string>) {
  const stack = await soloStack(ctx, env);
  try {
    const users: ApiClient[] = [];
    for (let i = 0; i < syncs; i++) users.push((await stack.user("p9", size)).client);
    await new Promise((r) => setTimeout(r, 2_000));
    const pid = stack.worker.child.pid!;
    const idleMb = rssOf(pid).rssMb;
    const t = stamp();
    const started = await Promise.all(users.map((u) => u.json("POST", "/api/emails/sync")));
    const finals = await Promise.all(started.map((s, i) => finished(users[i]!, s.body.taskId)));
    const seconds = (stamp() - t) / 1000;
    return {
      idleMb,
      peakMb: rssOf(pid).peakMb,
      rate: (size * syncs) / seconds,
      completed: finals.every((f) => f.state === "completed" && f.result?.added === size),
    };
  } finally {
    await stack.close();
  }
}
