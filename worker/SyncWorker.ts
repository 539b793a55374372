import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { Emitter } from "@socket.io/redis-emitter";
import { Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Config } from "../core/config";
import { type CoreContext, createCoreContext } from "../core/context";
import { type ServerToClientEvents, socketKey } from "../core/events";
import { SYNC_QUEUE, type SyncJobData, SyncQueue } from "../core/queue";
import { createRedis, redisKeys, servedSyncQueues } from "../core/redis";
import { GmailQuotaBudget } from "../core/sync/RedisQuotaBudget";
import { etaPlanOf } from "../core/tasks/eta";
import { type RunnerSyncOptions, syncOptionsFor } from "../core/tasks/syncOptionsFor";
import { beat, leave } from "../core/workerHeartbeat";
import { startMaintenance } from "./maintenance";
import { OrphanSweeper } from "./OrphanSweeper";
import { type RoomEmitter, ShardedEmitter } from "./ShardedEmitter";
import { syncMailboxJob } from "./syncMailboxJob";
import { WorkerMetrics } from "./WorkerMetrics";

export interface SyncWorkerOptions {
  migrate?: boolean;
  /** Passed to every sync (tests shorten retry delays). */
  sync?: RunnerSyncOptions;
  /**
   * The clock the quota budget names its Pacific-time day by (default Date.now): a test moves it
   * past midnight together with Gmail's (the simulator's `PUT /sim/clock`).
   */
  quotaClock?: () => number;
}

export interface SyncWorker {
  ctx: CoreContext;
  /** Where this worker's Prometheus metrics are served, when WORKER_METRICS_PORT is set. */
  metricsUrl: string | null;
  /** The BullMQ worker of the first shard this process serves (the only one when unsharded). */
  worker: Worker<SyncJobData>;
  /** One BullMQ worker per shard served (WORKER_QUEUE_SHARDS), in shard order. */
  workers: Worker<SyncJobData>[];
  /** The shard numbers this process serves. */
  shards: number[];
  id: string;
  /** Stops taking jobs; running syncs hand their task back to the queue. */
  close(): Promise<void>;
}

/**
 * How many syncs each served shard may run: WORKER_CONCURRENCY shared out so the process runs
 * that many in all, at least one per shard (so more shards than slots means one each).
 */
export function shardConcurrency(total: number, shards: number): number[] {
  const base = Math.floor(total / shards);
  return Array.from({ length: shards }, (_, i) => Math.max(1, base + (i < total % shards ? 1 : 0)));
}

/** One worker process's BullMQ workers (one per shard served), Socket.IO emitter and heartbeat. */
export async function startSyncWorker(config: Config, options: SyncWorkerOptions = {}): Promise<SyncWorker> {
  const ctx = createCoreContext(config, "worker", { poolMax: Math.min(config.workerConcurrency + 2, 30) });
  const { logger } = ctx;
  await ctx.prepareDatabase({ migrate: options.migrate ?? config.env !== "production" });

  const connection = createRedis(config, "worker");
  const publisher = createRedis(config, "worker");
  for (const c of [connection, publisher])
    c.on("error", (err) => logger.debug({ err: err.message }, "redis error"));
  const keys = redisKeys(config);
  // On a cluster the web nodes listen with the sharded adapter (SSUBSCRIBE), which the classic
  // emitter's PUBLISH never reaches (worker/ShardedEmitter.ts says why it is hand-written).
  const emitter: RoomEmitter<ServerToClientEvents> = config.redisCluster
    ? new ShardedEmitter<ServerToClientEvents>(publisher, keys.socketIo)
    : new Emitter<ServerToClientEvents>(publisher as Redis, { key: socketKey(config.queuePrefix) });

  // Fail-fast, unlike the job's clients: with Redis away the gate paces calls from local buckets
  // at once instead of queueing its question until Redis returns.
  const quotaClient = createRedis(config, "request");
  quotaClient.on("error", () => {});
  const quota = new GmailQuotaBudget(quotaClient, keys, config.gmailQuotaTable, options.quotaClock);
  // Counts (are other syncs waiting for a slot?) and the orphan sweeper's jobs go through it: all
  // shards, since an orphan of any served shard is routed to its user's shard.
  const queue = SyncQueue.open(publisher, keys.syncQueues(), keys.shardOf);
  const served = servedSyncQueues(config);
  // A sharded queue's workers also beat per shard, so a web node can tell whether a user's shard
  // is served (one unsharded queue keeps the one set).
  const sharded = keys.syncQueues().length > 1 || Boolean(config.redisCluster);
  const metrics = new WorkerMetrics();
  quota.observer = metrics.quota;
  const metricsServer =
    config.workerMetricsPort === undefined
      ? null
      : await metrics.serve(config.workerMetricsPort, config.host, config.metricsToken);
  const shutdown = new AbortController();
  const id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const slots = shardConcurrency(config.workerConcurrency, served.shards.length);
  const workers = served.shards.map((shard, i) => {
    const worker = new Worker<SyncJobData>(
      SYNC_QUEUE,
      syncMailboxJob({
        ctx,
        emitter,
        workerId: id,
        shutdown: shutdown.signal,
        sync: {
          ...syncOptionsFor(config, { logger: ctx.logger, count: metrics.countBatchFallback }),
          ...options.sync,
        },
        quota: quota.enabled ? quota : undefined,
        sliceMs: config.syncSliceSeconds * 1000,
        // A long sync yields its slot to syncs waiting on its own shard: the slots are per shard.
        othersWaiting: () => queue.othersWaiting(shard),
        metrics,
        etaPlan: etaPlanOf(config.gmailQuotaTable),
      }),
      {
        connection,
        prefix: served.queues[i]!,
        concurrency: slots[i]!,
        // A job whose worker died is picked up again once its lock lapses (checked every half
        // lock); the lock lasts as long as the task lease, so the new run can take the task over
        // at once. The sync resumes by skipping what is already stored.
        lockDuration: config.workerLockSeconds * 1000,
        stalledInterval: (config.workerLockSeconds * 1000) / 2,
        maxStalledCount: 3,
      },
    );
    worker.on("failed", (job, err) => logger.warn({ jobId: job?.id, shard, err: err.message }, "job failed"));
    worker.on("error", (err) => logger.debug({ err: err.message, shard }, "worker error"));
    return worker;
  });

  const sweeper = new OrphanSweeper(ctx.lease, queue, logger);
  sweeper.start();
  const maintenance = await startMaintenance(ctx);
  const heartbeat = () =>
    beat(
      publisher,
      config.queuePrefix,
      id,
      config.workerHeartbeatTtlSeconds,
      sharded ? served.shards : [],
    ).catch(() => {});
  await heartbeat();
  const timer = setInterval(heartbeat, Math.max(1_000, (config.workerHeartbeatTtlSeconds * 1000) / 3));
  logger.info(
    {
      workerId: id,
      concurrency: config.workerConcurrency,
      prefix: config.queuePrefix,
      cluster: Boolean(config.redisCluster),
      shards: served.shards,
    },
    "worker ready",
  );
  if (metricsServer && !config.metricsToken) {
    logger.warn("WORKER_METRICS_PORT is set but METRICS_TOKEN is not: the worker's /metrics answers 404");
  }

  return {
    ctx,
    metricsUrl: metricsServer?.url ?? null,
    worker: workers[0]!,
    workers,
    shards: served.shards,
    id,
    async close() {
      clearInterval(timer);
      await sweeper.stop();
      await leave(publisher, config.queuePrefix, id, sharded ? served.shards : []).catch(() => {});
      shutdown.abort();
      await Promise.all(workers.map((w) => w.close()));
      await queue.close();
      metricsServer?.server.close();
      await maintenance.close();
      await ctx.close();
      connection.disconnect();
      publisher.disconnect();
      quotaClient.disconnect();
    },
  };
}
