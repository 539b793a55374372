import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { type Config, loadConfig } from "../core/config";
import { createGmailSimulator, type GmailSimulator, type GmailSimulatorOptions } from "../gmail-sim/server";
import { freePort } from "../scripts/lib/devServices";
import { startWebServer, type WebServer, type WebServerOptions } from "../server/WebServer";
import { type SyncWorker, type SyncWorkerOptions, startSyncWorker } from "../worker/SyncWorker";
import { ApiClient } from "./ApiClient";
import { spawnWorker, type WorkerProcess } from "./processes";
import { GENEROUS_RATE_LIMITS } from "./rateLimits";
import { SimControl } from "./SimControl";

/** Fast retries for tests: faults are injected on purpose, waiting 30 s each proves nothing. */
export const TEST_RETRY = { attempts: 8, baseDelayMs: 20, maxDelayMs: 200 };

export interface Stack {
  sim: GmailSimulator;
  config: Config;
  webs: WebServer[];
  workers: SyncWorker[];
  web: WebServer;
  /** A client of the first web node, signed in as `email`. */
  signIn(email: string, node?: number): Promise<ApiClient>;
  /** The simulator's control API (the same client the e2e specs use). */
  control: SimControl;
  /** One call of the simulator's control API: `control.call`. */
  simControl<T = any>(method: string, path: string, body?: unknown): Promise<T>;
  addWorker(): Promise<SyncWorker>;
  /** A worker in a process of its own, on this stack's database, Redis prefix and simulator. */
  spawnWorker(env?: Record<string, string>): Promise<WorkerProcess>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Simulator options, e.g. a short access-token lifetime. */
  sim?: GmailSimulatorOptions;
  webs?: number;
  workers?: number;
  web?: WebServerOptions;
  env?: Record<string, string>;
  /** Options of the in-process workers (a quota clock, say). */
  worker?: Omit<SyncWorkerOptions, "migrate" | "sync">;
}

/**
 * The real stack in this process: the Gmail simulator, web nodes and BullMQ workers over the
 * test run's PostgreSQL database and a Redis prefix of this stack's own.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const sim = createGmailSimulator(options.sim);
  await sim.listen(0, "127.0.0.1");
  const env = {
    NODE_ENV: "test",
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_URL: inject("databaseUrl"),
    REDIS_URL: inject("redisUrl"),
    QUEUE_PREFIX: `${inject("queuePrefix")}-${randomBytes(3).toString("hex")}`,
    GMAIL_SIM_URL: sim.url,
    LOG_LEVEL: "silent",
    DATA_DIR: ".data/test",
    WORKER_CONCURRENCY: "4",
    WORKER_HEARTBEAT_TTL: "3",
    // Takeovers within seconds: a dead holder's task moves on quickly enough to test.
    TASK_LEASE_SECONDS: "4",
    // The simulator enforces no quota unless a test asks it to; tests of the quota gate set these.
    GMAIL_USER_UNITS_PER_SECOND: "0",
    GMAIL_PROJECT_UNITS_PER_SECOND: "0",
    ...GENEROUS_RATE_LIMITS,
    ...options.env,
  };
  const config = loadConfig(env);
  const webs: WebServer[] = [];
  for (let i = 0; i < (options.webs ?? 1); i++) {
    // Each node gets a known port up front: its OAuth redirect URI must name it.
    const port = await freePort();
    const nodeConfig = loadConfig({ ...env, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` });
    webs.push(await startWebServer(nodeConfig, { migrate: false, ...options.web }));
  }
  const workers: SyncWorker[] = [];
  const addWorker = async () => {
    const w = await startSyncWorker(config, {
      migrate: false,
      sync: { retry: TEST_RETRY },
      ...options.worker,
    });
    workers.push(w);
    return w;
  };
  for (let i = 0; i < (options.workers ?? 1); i++) await addWorker();

  const control = new SimControl(sim.url);

  return {
    sim,
    config,
    webs,
    workers,
    web: webs[0]!,
    control,
    simControl: (method, path, body) => control.call(method, path, body),
    addWorker,
    spawnWorker: (extra = {}) =>
      spawnWorker({
        databaseUrl: config.databaseUrl!,
        redisUrl: config.redisUrl,
        queuePrefix: config.queuePrefix,
        simUrl: sim.url,
        // The same lease as the in-process nodes, so takeovers keep one rhythm; the same Redis
        // Cluster and shards when the stack runs on one.
        env: {
          TASK_LEASE_SECONDS: env.TASK_LEASE_SECONDS,
          ...pick(env, ["REDIS_CLUSTER_NODES", "SYNC_QUEUE_SHARDS"]),
          ...extra,
        },
      }),
    async signIn(email: string, node = 0) {
      const client = new ApiClient(webs[node]!.url);
      await client.signIn(email);
      return client;
    },
    async close() {
      await Promise.allSettled(workers.map((w) => w.close()));
      await Promise.allSettled(webs.map((w) => w.close()));
      await sim.close();
    },
  };
}

function pick(from: Record<string, string | undefined>, names: string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((n) => (from[n] === undefined ? [] : [[n, from[n]!]])));
}

/** Polls a task's status until it finishes, keeping every snapshot seen. */
export async function waitForTask(client: ApiClient, taskId: string, timeoutMs = 60_000) {
  const seen: any[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { status, body } = await client.json("GET", `/api/emails/sync/status/${taskId}`);
    if (status !== 200) throw new Error(`status answered ${status}: ${JSON.stringify(body)}`);
    seen.push(body);
    if (body.state === "completed" || body.state === "failed") return { final: body, seen };
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`task ${taskId} did not finish in ${timeoutMs} ms: ${JSON.stringify(seen.at(-1))}`);
}

/**
 * Polls `check` until it answers something other than false (a thrown error counts as false), and
 * answers that value.
 */
export async function waitUntil<T>(
  check: () => Promise<T | false>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check().catch(() => false as const);
    if (value !== false) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Stored emails of one account: rows, and distinct Gmail ids (equal when nothing is doubled). */
export async function storedCount(stack: Stack, email: string): Promise<{ n: number; d: number }> {
  const [row] = (await stack.web.ctx.sequelize.query(
    "SELECT count(*)::int AS n, count(DISTINCT e.gmail_id)::int AS d FROM emails e JOIN users u ON u.id = e.user_id WHERE u.email = :email",
    { replacements: { email }, type: "SELECT" },
  )) as Array<{ n: number; d: number }>;
  return row!;
}
