import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { AuthInvalidation } from "../core/auth/AuthInvalidation";
import { PrincipalCache } from "../core/auth/PrincipalCache";
import type { Config } from "../core/config";
import { createCoreContext } from "../core/context";
import { MaintenanceQueue, SyncQueue } from "../core/queue";
import { createRedis, redisKeys } from "../core/redis";
import { GmailQuotaBudget } from "../core/sync/RedisQuotaBudget";
import { TaskStatus } from "../core/tasks/TaskStatus";
import { WorkerLiveness } from "../core/workerHeartbeat";
import { createApp } from "./app";
import { attachRealtime } from "./realtime";
import { ChangeSignal } from "./services/ChangeSignal";
import { SyncDispatcher } from "./services/SyncDispatcher";
import type { WebContext } from "./WebContext";

export interface WebServer {
  ctx: WebContext;
  server: Server;
  url: string;
  close(): Promise<void>;
}

export interface WebServerOptions {
  /** Apply pending migrations before listening (development and tests; production uses `release`). */
  migrate?: boolean;
  /** Run with no Redis at all: no queue, no adapter, the streaming fallback only. */
  withoutRedis?: boolean;
  clientDir?: string;
  /**
   * The clock of the node's own time rules (ms since the epoch; default `Date.now`): principal
   * cache lifetimes, worker heartbeat ages and the liveness answer's second, and task status
   * (`waiting`, the jobless grace). Tests move a fake one past a lifetime instead of sleeping
   * through it. The task lease is not among them: it is decided on the database's clock.
   */
  now?: () => number;
  /**
   * The quota gate's clock for the streaming fallback's syncs (which Pacific day it is); tests
   * move it with the simulator's. Default: the system clock.
   */
  quotaClock?: () => number;
}

/** Builds and starts one web node: HTTP API, static client and Socket.IO. */
export async function startWebServer(config: Config, options: WebServerOptions = {}): Promise<WebServer> {
  const core = createCoreContext(config, "web");
  const { logger } = core;
  await core.prepareDatabase({ migrate: options.migrate ?? config.env !== "production" });

  // Two fail-fast clients for the request path, and a pub/sub pair for Socket.IO. On a Redis
  // Cluster (REDIS_CLUSTER_NODES) each is a cluster client; the subscriber can SSUBSCRIBE.
  const keys = redisKeys(config);
  const redisClients = options.withoutRedis
    ? null
    : (() => {
        // Auto-pipelining: commands issued in the same tick (a burst's rate-limit checks) leave
        // in one socket write, where each write is a costly system call.
        const request = createRedis(
          config,
          "request",
          { enableAutoPipelining: true },
          { enableAutoPipelining: true },
        );
        // BullMQ's queues get a client of their own, without auto-pipelining. BullMQ defines its
        // ~50 Lua scripts on the client it is given, and ioredis copies every defined script onto
        // each pipeline it builds; with auto-pipelining that is every command: 55 µs a pipeline
        // in a tight loop, 0.2 ms in a lone request (against 7 µs on a client without them).
        // The queue batches a burst's adds into one addBulk itself (SyncQueue), so it loses
        // nothing by writing its commands as they come.
        const jobs = createRedis(config, "request");
        const pub = createRedis(config, "subscriber");
        const sub = config.redisCluster
          ? createRedis(config, "subscriber", {}, { shardedSubscribers: true })
          : pub.duplicate();
        for (const client of [request, jobs, pub, sub]) {
          client.on("error", (err) => logger.debug({ err: err.message }, "redis error"));
        }
        request.on("ready", () => logger.info("redis connected: queue mode"));
        return { request, jobs, pub, sub };
      })();
  const queue = redisClients ? SyncQueue.open(redisClients.jobs, keys.syncQueues(), keys.shardOf) : null;
  // The workers' housekeeping queue (hash-tagged on a Redis Cluster): Gmail pushes queue their
  // debounced `push-sync` there.
  const maintenance = redisClients ? MaintenanceQueue.open(redisClients.jobs, keys.maintenanceQueue) : null;

  // Sessions and tokens resolve from memory for a while; what ends is dropped on every node at
  // once through Redis. Without Redis, nothing can be heard and entries live briefly.
  const principals = new PrincipalCache({ now: options.now });
  let invalidation: AuthInvalidation | null = null;
  if (redisClients) {
    const subscriber = createRedis(config, "subscriber");
    subscriber.on("error", (err) => logger.debug({ err: err.message }, "redis error (auth invalidation)"));
    invalidation = new AuthInvalidation(
      principals,
      redisClients.request,
      subscriber,
      config.queuePrefix,
      logger,
    );
  }
  core.sessions.useCache(principals, (what) => invalidation?.publish(what) ?? Promise.resolve());

  const quota = redisClients
    ? new GmailQuotaBudget(redisClients.request, keys, config.gmailQuotaTable, options.quotaClock)
    : null;
  const shutdown = new AbortController();
  const sharded = config.syncQueueShards > 1 || Boolean(config.redisCluster);
  const workers = new WorkerLiveness(
    redisClients?.request ?? null,
    config.queuePrefix,
    config.workerHeartbeatTtlSeconds,
    sharded ? keys.shardOf : null,
    options.now,
  );
  const ctx: WebContext = {
    ...core,
    shutdown: shutdown.signal,
    streams: new Set(),
    changeSignal: new ChangeSignal(),
    quota: quota?.enabled ? quota : null,
    queue,
    maintenance,
    redis: redisClients?.request ?? null,
    queueRedis: redisClients?.jobs ?? null,
    dispatcher: new SyncDispatcher(core.tasks, {
      queue,
      redis: redisClients?.jobs ?? null,
      workers,
      logger,
    }),
    status: new TaskStatus({ queue, workersAlive: (userId) => workers.count(userId), now: options.now }),
    nodeId: `web:${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
  };
  const server = createServer(createApp(ctx, { clientDir: options.clientDir }));
  ctx.io = attachRealtime(
    server,
    ctx,
    redisClients
      ? { pub: redisClients.pub, sub: redisClients.sub, sharded: Boolean(config.redisCluster) }
      : null,
  );

  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  logger.info(
    {
      port,
      redis: Boolean(redisClients),
      cluster: Boolean(redisClients && config.redisCluster),
      queueShards: config.syncQueueShards,
    },
    "web listening",
  );

  return {
    ctx,
    server,
    url,
    async close() {
      // Streams running a sync stop and put their task back to "queued" before connections go.
      shutdown.abort();
      await Promise.race([
        Promise.allSettled([...ctx.streams]),
        new Promise((r) => setTimeout(r, 5_000).unref()),
      ]);
      // Only this node's sockets: a plain disconnectSockets would go through the adapter to every node.
      ctx.io?.local.disconnectSockets(true);
      await new Promise<void>((resolve) => {
        ctx.io?.close(() => resolve()) ?? resolve();
        server.closeAllConnections();
      });
      // Answered requests whose job is still being added: the add goes out before the client does.
      await ctx.dispatcher.drain();
      await queue?.close().catch(() => {});
      await maintenance?.close().catch(() => {});
      await core.close();
      invalidation?.close();
      if (redisClients) for (const c of Object.values(redisClients)) c.disconnect();
    },
  };
}
