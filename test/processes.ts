import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Cluster, Redis } from "ioredis";
import { freePort } from "../scripts/lib/devServices";
import { GENEROUS_RATE_LIMITS } from "./rateLimits";

/**
 * The worker and web entry points in processes of their own, as production runs them. No
 * vitest import: `npm run bench` can reuse these.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface ServiceProcess {
  child: ChildProcess;
  /** What the process wrote to stdout and stderr so far (for failure messages). */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface ServiceOptions {
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  simUrl: string;
  /** More variables, winning over the defaults (e.g. WORKER_CONCURRENCY). */
  env?: Record<string, string>;
  /** How long to wait for the process to be ready. */
  readyTimeoutMs?: number;
}

export type WorkerProcess = ServiceProcess;
export type WebProcess = ServiceProcess & { url: string };

const exitedOf = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

async function spawnService(
  entry: string,
  options: ServiceOptions,
  env: Record<string, string>,
  ready: (proc: ServiceProcess) => Promise<boolean>,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      NODE_ENV: "test",
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: options.redisUrl,
      QUEUE_PREFIX: options.queuePrefix,
      GMAIL_SIM_URL: options.simUrl,
      LOG_LEVEL: "warn",
      WORKER_HEARTBEAT_TTL: "3",
      DATA_DIR: ".data/test",
      ...GENEROUS_RATE_LIMITS,
      ...env,
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (d: Buffer) => {
    output = (output + d).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = once(child, "exit").catch(() => {});

  const proc: ServiceProcess = {
    child,
    output: () => output,
    async stop(graceMs = 5_000) {
      if (!exitedOf(child)) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      }
    },
  };

  try {
    const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
    for (;;) {
      if (exitedOf(child)) {
        throw new Error(
          `${entry} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`,
        );
      }
      if (await ready(proc).catch(() => false)) break;
      if (Date.now() > deadline) throw new Error(`${entry} was not ready in time:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await proc.stop(1_000);
    throw err;
  }
  return proc;
}

/** `worker/main.ts`; ready once its heartbeat is in Redis (the web then answers 202, not 503). */
export async function spawnWorker(options: ServiceOptions): Promise<WorkerProcess> {
  // On a Redis Cluster (REDIS_CLUSTER_NODES in env) the heartbeat is asked of the cluster.
  const nodes = options.env?.REDIS_CLUSTER_NODES;
  const redis = nodes
    ? new Cluster(
        nodes.split(",").map((n) => ({
          host: n.slice(0, n.lastIndexOf(":")),
          port: Number(n.slice(n.lastIndexOf(":") + 1)),
        })),
        { redisOptions: { maxRetriesPerRequest: 1 } },
      )
    : new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  try {
    const key = `${options.queuePrefix}:workers:heartbeat`;
    return await spawnService("worker/main.ts", options, {}, async () => (await redis.zcard(key)) > 0);
  } finally {
    redis.disconnect();
  }
}

/** `server/main.ts` on a free port; ready once /healthz answers. */
export async function spawnWeb(options: ServiceOptions): Promise<WebProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = await spawnService(
    "server/main.ts",
    options,
    { PORT: String(port), HOST: "127.0.0.1", PUBLIC_URL: url },
    async () => (await fetch(`${url}/healthz`)).ok,
  );
  return { ...proc, url };
}
