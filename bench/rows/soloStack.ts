import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { ApiClient } from "../../test/ApiClient";
import { spawnWeb, spawnWorker, type WorkerProcess } from "../../test/processes";
import { GENEROUS_RATE_LIMITS } from "../../test/rateLimits";
import type { BenchContext } from "./context";

/** Resident memory of a process now and at its peak (the kernel's high-water mark), in MB. */
export function rssOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(status.match(new RegExp(`${field}:\\s+(\\d+)`))?.[1] ?? 0);
  return { rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
}

export interface SoloStack {
  web: string;
  worker: WorkerProcess;
  /** Another worker on the same queue (after a kill). */
  spawnWorker(): Promise<WorkerProcess>;
  /** A signed-in user with a fresh simulated mailbox of `messages`. */
  user(prefix: string, messages: number): Promise<{ client: ApiClient; email: string }>;
  close(): Promise<void>;
}

/**
 * One web node and ONE worker on a queue of their own (same PostgreSQL, Redis and simulator as
 * the main stack, whose workers never see these jobs): rows that measure one worker process.
 */
export async function soloStack(ctx: BenchContext, env: Record<string, string> = {}): Promise<SoloStack> {
  const options = {
    databaseUrl: ctx.databaseUrl,
    redisUrl: ctx.redisUrl,
    queuePrefix: `${ctx.queuePrefix}-solo-${randomBytes(2).toString("hex")}`,
    simUrl: ctx.simUrl,
    readyTimeoutMs: 60_000,
    env: {
      ...GENEROUS_RATE_LIMITS,
      WORKER_CONCURRENCY: "10",
      GMAIL_USER_UNITS_PER_SECOND: "0",
      GMAIL_PROJECT_UNITS_PER_SECOND: "0",
      ...env,
    },
  };
  const web = await spawnWeb(options);
  const workers = [await spawnWorker(options)];
  let counter = 0;
  return {
    web: web.url,
    worker: workers[0]!,
    async spawnWorker() {
      const w = await spawnWorker(options);
      workers.push(w);
      return w;
    },
    async user(prefix, messages) {
      const email = `${prefix}-${options.queuePrefix.slice(-4)}-${counter++}@example.com`;
      await ctx.sim("POST", "/sim/accounts", { email, count: messages });
      const client = new ApiClient(web.url);
      await client.signIn(email);
      return { client, email };
    },
    async close() {
      await Promise.allSettled([web.stop(), ...workers.map((w) => w.stop())]);
    },
  };
}

/** Gmail calls the simulator counted since its stats were last reset, all methods together. */
export async function gmailCalls(ctx: BenchContext): Promise<number> {
  const stats = await ctx.sim("GET", "/sim/stats");
  return Object.values(stats.calls as Record<string, number>).reduce((a, b) => a + b, 0);
}
