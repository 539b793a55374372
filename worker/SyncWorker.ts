import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { Emitter } from "@socket.io/redis-emitter";
import { Worker } from "bullmq";
import type { Config } from "../core/config";
import { type CoreContext, createCoreContext } from "../core/context";
import { type ServerToClientEvents, socketKey } from "../core/events";
import { SYNC_QUEUE, type SyncJobData, SyncQueue } from "../core/queue";
import { createRedis } from "../core/redis";
import { GmailQuota } from "../core/sync/RedisQuotaGate";
import type { SyncOptions } from "../core/sync/syncMailbox";
import { beat, leave } from "../core/workerHeartbeat";
import { startMaintenance } from "./maintenance";
import { OrphanSweeper } from "./OrphanSweeper";
import { syncMailboxJob } from "./syncMailboxJob";
import { WorkerMetrics } from "./WorkerMetrics";

export interface SyncWorkerOptions {
  migrate?: boolean;
  /** Passed to every sync (tests shorten retry delays). */
  sync?: Omit<SyncOptions, "signal" | "quota" | "onWait">;
}

export interface SyncWorker {
  ctx: CoreContext;
  /** Where this worker's Prometheus metrics are served, when WORKER_METRICS_PORT is set. */
  metricsUrl: string | null;
  worker: Worker<SyncJobData>;
  id: string;
  /** Stops taking jobs; running syncs hand their task back to the queue. */
  close(): Promise<void>;
}

/** One worker process's BullMQ worker, Socket.IO emitter and liveness heartbeat. */
export async function startSyncWorker(config: Config, options: SyncWorkerOptions = {}): Promise<SyncWorker> {
  const ctx = createCoreContext(config, "worker", { poolMax: Math.min(config.workerConcurrency + 2, 30) });
  const { logger } = ctx;
  await ctx.prepareDatabase({ migrate: options.migrate ?? config.env !== "production" });

  const connection = createRedis(config.redisUrl, "worker");
  const publisher = createRedis(config.redisUrl, "worker");
  for (const c of [connection, publisher])
    c.on("error", (err) => logger.debug({ err: err.message }, "redis error"));
  const emitter = new Emitter<ServerToClientEvents>(publisher, { key: socketKey(config.queuePrefix) });

  // Fail-fast, unlike the job's clients: with Redis away the gate paces calls from local buckets
  // at once instead of queueing its question until Redis returns.
  const quotaClient = createRedis(config.redisUrl, "request");
  quotaClient.on("error", () => {});
  const quota = new GmailQuota(quotaClient, config.queuePrefix, config.gmailQuota);
  // Counts (are other syncs waiting for a slot?) and the orphan sweeper's jobs go through it.
  const queue = SyncQueue.open(publisher, config.queuePrefix);
  const othersWaiting = () => queue.othersWaiting();
  const metrics = new WorkerMetrics();
  const metricsServer =
    config.workerMetricsPort === undefined
      ? null
      : await metrics.serve(config.workerMetricsPort, config.host);
  const shutdown = new AbortController();
  const id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const worker = new Worker<SyncJobData>(
    SYNC_QUEUE,
    syncMailboxJob({
      ctx,
      emitter,
      workerId: id,
      shutdown: shutdown.signal,
      sync: options.sync,
      quota: quota.enabled ? quota : undefined,
      sliceMs: config.syncSliceSeconds * 1000,
      othersWaiting,
      metrics,
    }),
    {
      connection,
      prefix: config.queuePrefix,
      concurrency: config.workerConcurrency,
      // A job whose worker died is picked up again once its lock lapses (checked every half
      // lock); the lock lasts as long as the task lease, so the new run can take the task over
      // at once. The sync resumes by skipping what is already stored.
      lockDuration: config.workerLockSeconds * 1000,
      stalledInterval: (config.workerLockSeconds * 1000) / 2,
      maxStalledCount: 3,
    },
  );
  worker.on("failed", (job, err) => logger.warn({ jobId: job?.id, err: err.message }, "job failed"));
  worker.on("error", (err) => logger.debug({ err: err.message }, "worker error"));

  const sweeper = new OrphanSweeper(ctx.lease, queue, logger);
  sweeper.start();
  const maintenance = await startMaintenance(ctx);
  const heartbeat = () =>
    beat(publisher, config.queuePrefix, id, config.workerHeartbeatTtlSeconds).catch(() => {});
  await heartbeat();
  const timer = setInterval(heartbeat, Math.max(1_000, (config.workerHeartbeatTtlSeconds * 1000) / 3));
  logger.info(
    { workerId: id, concurrency: config.workerConcurrency, prefix: config.queuePrefix },
    "worker ready",
  );

  return {
    ctx,
    metricsUrl: metricsServer?.url ?? null,
    worker,
    id,
    async close() {
      clearInterval(timer);
      await sweeper.stop();
      await leave(publisher, config.queuePrefix, id).catch(() => {});
      shutdown.abort();
      await worker.close();
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
