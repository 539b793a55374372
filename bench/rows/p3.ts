import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import type { BenchRow } from "../table";
import { type BenchContext, finished, stamp } from "./context";
import { soloStack } from "./soloStack";

const run = promisify(execFile);

/** The per-sync concurrency the worker uses (syncMailbox's default), for the baseline too. */
const CONCURRENCY = 10;

/**
 * The worker's per-user quota here: one the simulator never refuses, with the gate on as in
 * production. With the gate off (0) the sync cannot know Gmail's limit and sizes its requests for
 * Google's default (50 gets a second: two of 25 in flight); told it may go faster, it holds two
 * full batches of 50 (MAX_LANES), which is what a sync at zero latency is limited by.
 */
const USER_UNITS_PER_SECOND = "1000000";

/**
 * P3: a full sync through one worker process, the simulator at zero latency, against the bare
 * floor: the googleapis client alone calling `messages.get` (`format=full`, as the sync) at the
 * same concurrency against the same simulator, in a process of its own (bench/bare/getLoop.ts),
 * with no store, no queue and no progress.
 */
export async function p3(ctx: BenchContext): Promise<BenchRow[]> {
  const size = ctx.quick ? 2_000 : 20_000;
  // One pair on this shared machine moved from 0.72x to 0.86x between runs of the same code: the
  // row is the median of three pairs, each the baseline then the sync, alternated, with all three
  // ratios in its note.
  const pairs = ctx.quick ? 1 : 3;
  const stack = await soloStack(ctx, {
    ...batchSetting(),
    GMAIL_USER_UNITS_PER_SECOND: USER_UNITS_PER_SECOND,
  });
  try {
    const runs: Array<{ rate: number; baseline: number; exact: boolean; state: string }> = [];
    for (let i = 0; i < pairs; i++) {
      // A fresh mailbox each time: a second sync of the same one would be incremental.
      const { client: user, email } = await stack.user(`p3-${i}`, size);
      const baseline = await bareGetLoop(ctx.simUrl, email);
      const t = stamp();
      const { body } = await user.json("POST", "/api/emails/sync");
      const final = await finished(user, body.taskId);
      const rate = size / ((stamp() - t) / 1000);
      runs.push({
        rate,
        baseline,
        exact: final.state === "completed" && final.result?.added === size,
        state: final.state,
      });
    }
    const byRatio = [...runs].sort((a, b) => a.rate / a.baseline - b.rate / b.baseline);
    const mid = byRatio[Math.floor(byRatio.length / 2)]!;
    const allExact = runs.every((r) => r.exact);
    const ratios = runs.map((r) => `${(r.rate / r.baseline).toFixed(2)}×`).join(", ");
    return [
      {
        id: "P3",
        what: `${size.toLocaleString("en-US")}-message full sync, one worker, simulator at zero latency`,
        figure: mid.rate,
        baseline: mid.baseline,
        baselineWhat: `bare googleapis messages.get loop, ${CONCURRENCY} at once`,
        unit: "messages/s",
        goal: "≥ 80% of baseline",
        met: !allExact ? false : ctx.quick ? null : mid.rate >= 0.8 * mid.baseline,
        note: `${pairs === 1 ? "one pair" : `median of ${pairs} alternated pairs (${ratios})`}; ${allExact ? "all stored" : `ended ${runs.map((r) => r.state).join(", ")}`}; ${batchNote()}; quota gate at ${Number(USER_UNITS_PER_SECOND).toLocaleString("en-US")} units/s per user`,
      },
    ];
  } finally {
    await stack.close();
  }
}

/**
 * GMAIL_BATCH_SIZE from the bench's own environment, for the worker of the rows that measure the
 * sync's fetch (P3, P8): `GMAIL_BATCH_SIZE=1 npm run bench` measures one call per message
 * whatever the default. Unset, the worker keeps the configured default.
 */
export function batchSetting(): Record<string, string> {
  const size = process.env.GMAIL_BATCH_SIZE;
  return size ? { GMAIL_BATCH_SIZE: size } : {};
}

/** What the note says of the fetch: batched or not. */
export function batchNote(): string {
  const size = process.env.GMAIL_BATCH_SIZE;
  return size ? `GMAIL_BATCH_SIZE=${size}` : "GMAIL_BATCH_SIZE default";
}

/**
 * messages/s of `messages.get` alone over the whole mailbox, in a process of its own like the
 * worker (in the bench's process it would share one thread with the simulator it calls).
 */
async function bareGetLoop(simUrl: string, email: string): Promise<number> {
  const { stdout } = await run(
    process.execPath,
    ["--import", "tsx", "bench/bare/getLoop.ts", simUrl, email, String(CONCURRENCY)],
    { cwd: path.resolve(import.meta.dirname, "..", "..") },
  );
  return JSON.parse(stdout.trim().split("\n").at(-1)!).rate;
}
