import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { type BenchRow, medianRun } from "../table";
import { type BenchContext, finished, stamp } from "./context";
import { CpuMeter, emailsBytes } from "./cost";
import { soloStack } from "./soloStack";

const run = promisify(execFile);

/**
 * The worker's per-user quota here: one the simulator never refuses, with the gate on as in
 * production. With the gate off (0) the sync cannot know Gmail's limit and sizes its requests for
 * Google's default (50 gets a second: two of 25 in flight); told it may go faster, it holds two
 * full batches in flight, which is what a sync at zero latency is limited by.
 */
const USER_UNITS_PER_SECOND = "1000000";
/** Requests in flight: the sync's two full batches, the floor's too. */
const IN_FLIGHT = 2;

/** One full sync of a fresh mailbox: its rate and what it cost (CPU seconds, bytes on disk). */
export interface SyncCost {
  stored: number;
  rate: number;
  selfS: number;
  pgS: number;
  bytes: number;
}

const perTenThousand = (c: SyncCost) => ((c.selfS + c.pgS) / c.stored) * 10_000;

/**
 * P3: a full sync through one worker process, the simulator at zero latency, against the floor
 * of the same work (bench/bare/storeFloor.ts): the same listing and batch endpoint at the same
 * batch size and requests in flight, the same rows into the same table with every index,
 * written with COPY and one INSERT … ON CONFLICT, with no queue, progress or resumable listing.
 * Judged: messages/s (P3) and CPU seconds of the process and its PostgreSQL backends per 10,000
 * stored messages (P3c), each the median of three alternated pairs. Beside them, for the lead's
 * planning and unjudged: bytes the rows leave on disk per 1,000 messages.
 */
export async function p3(ctx: BenchContext): Promise<BenchRow[]> {
  const size = ctx.quick ? 500 : 20_000;
  const pairs = ctx.quick ? 1 : 3;
  const batch = Number(process.env.GMAIL_BATCH_SIZE ?? 50);
  const stack = await soloStack(ctx, {
    ...batchSetting(),
    GMAIL_USER_UNITS_PER_SECOND: USER_UNITS_PER_SECOND,
  });
  const runs: Array<{ app: SyncCost; floor: SyncCost; exact: boolean; state: string }> = [];
  try {
    for (let i = 0; i < pairs; i++) {
      // Alternated, as the machine is shared: the floor first in even pairs, the app first in odd.
      const floorFirst = i % 2 === 0;
      const floor = floorFirst ? await floorSync(ctx, `p3-floor-${i}`, size, batch) : null;
      const { client, email } = await stack.user(`p3-${i}`, size);
      const meter = new CpuMeter(stack.worker.child.pid!, ctx.databaseUrl);
      const bytesBefore = await emailsBytes(ctx.databaseUrl);
      await meter.start();
      const t = stamp();
      const { body } = await client.json("POST", "/api/emails/sync");
      const final = await finished(client, body.taskId);
      const seconds = (stamp() - t) / 1000;
      const cpu = await meter.stop();
      const bytes = (await emailsBytes(ctx.databaseUrl)) - bytesBefore;
      const stored = final.result?.added ?? 0;
      const app = { stored, rate: stored / seconds, ...cpu, bytes };
      ctx.log(`P3 pair ${i + 1} (${email}): app ${Math.round(app.rate)} messages/s`);
      runs.push({
        app,
        floor: floor ?? (await floorSync(ctx, `p3-floor-${i}`, size, batch)),
        exact: final.state === "completed" && stored === size,
        state: final.state,
      });
    }
  } finally {
    await stack.close();
  }
  return p3Rows(ctx, size, batch, runs);
}

function p3Rows(
  ctx: BenchContext,
  size: number,
  batch: number,
  runs: Array<{ app: SyncCost; floor: SyncCost; exact: boolean; state: string }>,
): BenchRow[] {
  const allExact = runs.every((r) => r.exact && r.floor.stored === size);
  const judge = (ok: boolean) => (!allExact ? false : ctx.quick ? null : ok);
  const speed = medianRun(runs, (r) => r.app.rate / r.floor.rate);
  const cost = medianRun(runs, (r) => perTenThousand(r.app) / perTenThousand(r.floor));
  const bytes = medianRun(runs, (r) => r.app.bytes / r.app.stored / (r.floor.bytes / r.floor.stored));
  const c = cost.mid;
  const b = bytes.mid;
  const what = `${size.toLocaleString("en-US")}-message full sync, one worker, simulator at zero latency`;
  const floorWhat = `bare fetch + pg: batch endpoint, ${batch} a request, ${IN_FLIGHT} in flight, COPY + one INSERT … ON CONFLICT`;
  const stored = allExact ? "all stored" : `ended ${runs.map((r) => r.state).join(", ")}`;
  return [
    {
      id: "P3",
      what,
      figure: speed.mid.app.rate,
      baseline: speed.mid.floor.rate,
      baselineWhat: floorWhat,
      ratios: speed.ratios,
      unit: "messages/s",
      goal: "≥ 0.7× floor (median)",
      met: judge(speed.mid.app.rate >= 0.7 * speed.mid.floor.rate),
      note: `${stored}; ${batchNote()}; quota gate at ${Number(USER_UNITS_PER_SECOND).toLocaleString("en-US")} units/s per user`,
    },
    {
      id: "P3c",
      what: "CPU per 10,000 stored messages, the sync's process and its PostgreSQL backends",
      figure: perTenThousand(c.app),
      baseline: perTenThousand(c.floor),
      baselineWhat: "the same floor",
      ratios: cost.ratios,
      unit: "CPU s",
      goal: "≤ 1.4× floor (median)",
      met: judge(perTenThousand(c.app) <= 1.4 * perTenThousand(c.floor)),
      note: `worker ${per(c.app.selfS, c.app, 10_000)} + PostgreSQL ${per(c.app.pgS, c.app, 10_000)} s vs floor ${per(c.floor.selfS, c.floor, 10_000)} + ${per(c.floor.pgS, c.floor, 10_000)} s; backends found by their client ports, shared PostgreSQL processes (WAL writer, checkpointer, autovacuum) not counted`,
    },
    {
      id: "P3",
      what: "cost per 1,000 stored messages: bytes the rows leave in `emails` (partitions, indexes, TOAST)",
      figure: mbPerThousand(b.app),
      baseline: mbPerThousand(b.floor),
      baselineWhat: "the same floor",
      ratios: bytes.ratios,
      unit: "MB",
      goal: "none: what the write costs, beside the floor's",
      met: allExact ? null : false,
      note: `CPU per 1,000: ${per(b.app.selfS + b.app.pgS, b.app, 1_000)} s vs ${per(b.floor.selfS + b.floor.pgS, b.floor, 1_000)} s; relation sizes grow by pages, so part of the figure is free space in the last pages`,
    },
  ];
}

const mbPerThousand = (c: SyncCost) => ((c.bytes / c.stored) * 1_000) / 2 ** 20;
const per = (seconds: number, c: SyncCost, n: number) => ((seconds / c.stored) * n).toFixed(2);

/**
 * The floor's sync of a fresh simulated mailbox of `size`, in a process of its own like the
 * worker (in the bench's process it would share one thread with the simulator it calls).
 */
export async function floorSync(
  ctx: BenchContext,
  prefix: string,
  size: number,
  batch: number,
  inFlight = IN_FLIGHT,
): Promise<SyncCost> {
  const email = `${prefix}-${ctx.queuePrefix.slice(-6)}-${Date.now()}@example.com`;
  await ctx.sim("POST", "/sim/accounts", { email, count: size });
  const bytesBefore = await emailsBytes(ctx.databaseUrl);
  const { stdout } = await run(
    process.execPath,
    [
      "--import",
      "tsx",
      "bench/bare/storeFloor.ts",
      ctx.simUrl,
      email,
      ctx.databaseUrl,
      String(batch),
      String(inFlight),
    ],
    { cwd: path.resolve(import.meta.dirname, "..", ".."), maxBuffer: 1 << 20 },
  );
  const out = JSON.parse(stdout.trim().split("\n").at(-1)!);
  const bytes = (await emailsBytes(ctx.databaseUrl)) - bytesBefore;
  ctx.log(`${prefix}: floor ${Math.round(out.rate)} messages/s`);
  return { stored: out.stored, rate: out.rate, selfS: out.cpuSelfS, pgS: out.cpuPgS, bytes };
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
