import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import {
  deleteRedisPrefix,
  dropDatabase,
  ensureDatabase,
  freePort,
  type Provisioned,
  provisionPostgres,
  provisionRedis,
} from "../scripts/lib/devServices";
import { GENEROUS_RATE_LIMITS } from "../test/rateLimits";
import { E2E_DIR, SIM_ACCOUNTS, STACK_FILE, type StackInfo } from "./stackInfo";

/**
 * Starts the whole product as real, separate processes on free ports, over a database and a
 * Redis key prefix of this run's own: the Gmail simulator, web node A with one worker, and web
 * node B whose queue prefix no worker serves (its syncs answer 503 → streaming fallback).
 * Returns the teardown (Playwright runs it after the last spec); globalTeardown.ts calls it too.
 */

export interface RunningStack {
  children: { name: string; child: ChildProcess }[];
  postgres: Provisioned | null;
  redis: Provisioned | null;
  serverUrl: string | null;
  databaseName: string;
  /** Web node C's own database: a deployment of its own, so no other worker sweeps its tasks. */
  databaseNameC: string;
  queuePrefixes: string[];
  stopped: boolean;
}

declare global {
  // Shared by globalSetup and globalTeardown, which Playwright runs in one process.
  var __inboxSyncE2E: RunningStack | undefined;
}

const LOG_DIR = path.join(E2E_DIR, "logs");

function spawnProcess(
  stack: RunningStack,
  name: string,
  entry: string,
  env: NodeJS.ProcessEnv,
): ChildProcess {
  const log = createWriteStream(path.join(LOG_DIR, `${name}.log`), { flags: "w" });
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    cwd: process.cwd(),
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  child.once("exit", (code, signal) => {
    if (!stack.stopped) log.write(`\n[e2e] ${name} exited early: code ${code} signal ${signal}\n`);
  });
  stack.children.push({ name, child });
  return child;
}

async function waitFor(
  what: string,
  child: ChildProcess | null,
  check: () => Promise<boolean>,
  timeoutMs = 40_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) {
      throw new Error(`${what} exited with code ${child.exitCode} while starting; see ${LOG_DIR}`);
    }
    if (await check().catch(() => false)) return;
    await sleep(150);
  }
  throw new Error(`${what} was not ready within ${timeoutMs / 1000} s; see ${LOG_DIR}`);
}

/** `n` free ports, all different (freePort releases each at once, so it may hand one out twice). */
async function distinctPorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

const answers = (url: string) => async () => (await fetch(url)).ok;

export async function stopStack(stack: RunningStack | undefined): Promise<void> {
  if (!stack || stack.stopped) return;
  stack.stopped = true;
  // Workers and webs first (they hold database connections), the simulator last.
  const order = [...stack.children].reverse();
  await Promise.all(
    order.map(
      ({ child }) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const force = setTimeout(() => child.kill("SIGKILL"), 5_000);
          child.once("exit", () => {
            clearTimeout(force);
            resolve();
          });
          child.kill("SIGTERM");
        }),
    ),
  );
  if (stack.redis) {
    for (const prefix of stack.queuePrefixes)
      await deleteRedisPrefix(stack.redis.url, prefix).catch(() => {});
    await stack.redis.stop().catch(() => {});
  }
  if (stack.serverUrl) {
    await dropDatabase(stack.serverUrl, stack.databaseName).catch(() => {});
    await dropDatabase(stack.serverUrl, stack.databaseNameC).catch(() => {});
  }
  await stack.postgres?.stop().catch(() => {});
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const started = Date.now();
  mkdirSync(LOG_DIR, { recursive: true });
  rmSync(STACK_FILE, { force: true });

  // The web process serves dist/client: build it once (server bundles come along).
  const build = spawnSync(process.execPath, ["--import", "tsx", "scripts/build.ts"], { encoding: "utf8" });
  if (build.status !== 0)
    throw new Error(`npx tsx scripts/build.ts failed:\n${build.stdout}\n${build.stderr}`);

  const run = `${process.pid}_${randomBytes(3).toString("hex")}`;
  const stack: RunningStack = {
    children: [],
    postgres: null,
    redis: null,
    serverUrl: null,
    databaseName: `inbox_sync_e2e_${run}`,
    databaseNameC: `inbox_sync_e2e_${run}_c`,
    queuePrefixes: [
      `inbox-sync-e2e-${run}`,
      `inbox-sync-e2e-${run}-noworker`,
      `inbox-sync-e2e-${run}-killable`,
    ],
    stopped: false,
  };
  globalThis.__inboxSyncE2E = stack;
  const teardown = () => stopStack(stack);

  try {
    const env = process.env;
    stack.postgres = await provisionPostgres({
      url: env.DATABASE_URL,
      dir: ".data/e2e-postgres",
      port: await freePort(),
      persistent: false,
    });
    stack.serverUrl = stack.postgres.url;
    const databaseUrl = await ensureDatabase(stack.postgres.url, stack.databaseName);
    const databaseUrlC = await ensureDatabase(stack.postgres.url, stack.databaseNameC);

    stack.redis = await provisionRedis(env.REDIS_URL);
    if (!stack.redis) throw new Error("the e2e tests need Redis: set REDIS_URL or put redis-server on PATH");

    const [simPort, portA, portB, portC] = await distinctPorts(4);
    const simUrl = `http://127.0.0.1:${simPort}`;
    const webA = `http://127.0.0.1:${portA}`;
    const webB = `http://127.0.0.1:${portB}`;
    const webC = `http://127.0.0.1:${portC}`;
    const [prefixA, prefixB, prefixC] = stack.queuePrefixes as [string, string, string];

    // Every process gets the same secrets up front: generated ones would race for the files.
    const inherited: NodeJS.ProcessEnv = { ...env };
    // Endpoint overrides would win over GMAIL_SIM_URL; ports and URLs are set per process below.
    for (const name of [
      "GMAIL_API_ROOT",
      "GOOGLE_AUTH_URL",
      "GOOGLE_TOKEN_URL",
      "GOOGLE_REVOKE_URL",
      "PUBLIC_URL",
      "PORT",
    ]) {
      delete inherited[name];
    }
    const common: NodeJS.ProcessEnv = {
      ...inherited,
      NODE_ENV: "test",
      HOST: "127.0.0.1",
      DATABASE_URL: databaseUrl,
      REDIS_URL: stack.redis.url,
      GMAIL_SIM_URL: simUrl,
      DATA_DIR: ".data/e2e",
      LOG_LEVEL: "warn",
      WORKER_CONCURRENCY: "4",
      WORKER_HEARTBEAT_TTL: "3",
      // The shared Gmail quota runs for real, at a rate that keeps the specs quick.
      GMAIL_USER_UNITS_PER_SECOND: "4000",
      // The specs sign in many times from one address; the limits have tests of their own.
      ...GENEROUS_RATE_LIMITS,
      // csp.spec.ts opens Bull Board as this account.
      ADMIN_EMAILS: "e2e-admin@example.com",
      SESSION_SECRET: randomBytes(32).toString("hex"),
      TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
      // No schedule: a sync no spec asked for must not start under one (push is web A's, below).
      SYNC_SCHEDULE_INTERVAL_SECONDS: "0",
      SYNC_DEBOUNCE_MS: "300",
    };
    // Gmail push on web A and its worker (live.spec.ts): the simulator pushes to A's webhook,
    // with A's address as the token's audience (its default), and A watches who signs in there.
    const push = { GMAIL_PUSH_TOPIC: "projects/inbox-sync-e2e/topics/gmail" };

    const sim = spawnProcess(stack, "gmail-sim", "gmail-sim/main.ts", {
      ...common,
      SIM_PORT: String(simPort),
      SIM_HOST: "127.0.0.1",
      SIM_ACCOUNTS,
      SIM_PUSH_URL: `${webA}/webhooks/gmail`,
    });
    // Web A migrates the database on start (NODE_ENV=test); the others start once it is done.
    const a = spawnProcess(stack, "web-a", "server/main.ts", {
      ...common,
      PORT: String(portA),
      PUBLIC_URL: webA,
      QUEUE_PREFIX: prefixA,
      ...push,
    });
    await waitFor("the Gmail simulator", sim, answers(`${simUrl}/sim/stats`));
    await waitFor("web node A", a, answers(`${webA}/healthz`));

    const worker = spawnProcess(stack, "worker", "worker/main.ts", {
      ...common,
      ...push,
      QUEUE_PREFIX: prefixA,
    });
    const b = spawnProcess(stack, "web-b", "server/main.ts", {
      ...common,
      PORT: String(portB),
      PUBLIC_URL: webB,
      QUEUE_PREFIX: prefixB,
    });
    // Node C and the workers its specs start use the product's default lease and heartbeat.
    const { WORKER_HEARTBEAT_TTL: _ttl, ...defaults } = common;
    const workerEnvC = { ...defaults, DATABASE_URL: databaseUrlC, QUEUE_PREFIX: prefixC } as Record<
      string,
      string
    >;
    const c = spawnProcess(stack, "web-c", "server/main.ts", {
      ...workerEnvC,
      PORT: String(portC),
      PUBLIC_URL: webC,
    });
    const redis = new Redis(stack.redis.url, { maxRetriesPerRequest: 1 });
    try {
      await waitFor(
        "the worker",
        worker,
        async () => (await redis.zcard(`${prefixA}:workers:heartbeat`)) > 0,
      );
    } finally {
      redis.disconnect();
    }
    await waitFor("web node B", b, answers(`${webB}/healthz`));
    await waitFor("web node C", c, answers(`${webC}/healthz`));
    // A process that lost a port race would exit while another answered its URL: check all live.
    await sleep(300);
    for (const { name, child } of stack.children) {
      if (child.exitCode !== null)
        throw new Error(`${name} exited with code ${child.exitCode}; see ${LOG_DIR}`);
    }

    const info: StackInfo = {
      simUrl,
      webA,
      webB,
      webC,
      queuePrefix: prefixA,
      queuePrefixB: prefixB,
      queuePrefixC: prefixC,
      workerEnvC,
      databaseName: stack.databaseName,
      logDir: LOG_DIR,
    };
    writeFileSync(STACK_FILE, `${JSON.stringify(info, null, 2)}\n`);
    process.env.E2E_STACK_FILE = STACK_FILE;
    process.stdout.write(
      `[e2e] stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s: web A ${webA}, web B ${webB} (no worker), sim ${simUrl}, postgres: ${stack.postgres.source}, logs in ${path.relative(process.cwd(), LOG_DIR)}\n`,
    );
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
