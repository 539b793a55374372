import { Worker } from "bullmq";
import type { CoreContext } from "../core/context";
import { gmailWatchOf } from "../core/gmail/watch";
import {
  CHECK_SCHEDULE_EVERY_MS,
  CHECK_SCHEDULER,
  MAINTENANCE_QUEUE,
  MaintenanceQueue,
  PURGE_EVERY_MS,
  PURGE_SCHEDULER,
  SYNC_SCHEDULER,
  SyncQueue,
  WATCH_RENEW_EVERY_MS,
  WATCH_RENEW_SCHEDULER,
} from "../core/queue";
import { createRedis, redisKeys } from "../core/redis";
import { maintenanceJobs } from "./maintenanceJobs";

export {
  CHECK_SCHEDULE_EVERY_MS,
  CHECK_SCHEDULER,
  MAINTENANCE_QUEUE,
  PURGE_EVERY_MS,
  PURGE_SCHEDULER,
  SYNC_SCHEDULER,
  WATCH_RENEW_EVERY_MS,
  WATCH_RENEW_SCHEDULER,
};

export interface Maintenance {
  queue: MaintenanceQueue;
  close(): Promise<void>;
}

export interface MaintenanceOptions {
  /** `purge-expired`'s period (tests shorten it). */
  everyMs?: number;
  /** `watch-renew`'s period while push is on (tests shorten it). */
  watchRenewEveryMs?: number;
  /** The schedule's period while push is off; default SYNC_SCHEDULE_INTERVAL_SECONDS. */
  scheduleEveryMs?: number;
  /** `check-schedule`'s period (tests shorten it); none when COMPLETENESS_CHECK_DAYS is 0. */
  checkEveryMs?: number;
  /** The worker's sync queue (its shards); by default one is opened on the queue prefix. */
  syncQueue?: SyncQueue;
}

/**
 * Housekeeping jobs run by the worker processes. Every worker upserts the same job schedulers, so
 * there is one schedule however many workers run, and each run is taken by one of them:
 * - `purge-expired` deletes sessions past their absolute or idle expiry and expired API tokens
 *   (they already answer 401; this keeps the tables small and the data minimal), and change-feed
 *   entries older than CHANGE_FEED_RETENTION_DAYS;
 * - `watch-renew` (push on) calls `users.watch` again for every connected account whose watch
 *   lapses within a day, or that has none;
 * - `sync-schedule` (push off) gives recently active accounts an incremental sync each period,
 *   each at a jittered moment, as `scheduled-sync` jobs;
 * - `check-schedule` (hourly, unless COMPLETENESS_CHECK_DAYS is 0) starts a completeness check for
 *   each account whose last one is older than that many days (docs/health.md);
 * - `push-sync` is one user's debounced sync after Gmail pushes (core/queue/MaintenanceQueue.ts).
 */
export async function startMaintenance(
  ctx: CoreContext,
  options: MaintenanceOptions = {},
): Promise<Maintenance> {
  const { config, logger } = ctx;
  // A Redis Cluster (REDIS_CLUSTER_NODES) gets a cluster client and a hash-tagged prefix (core/redis.ts).
  const connection = createRedis(config, "worker");
  connection.on("error", (err) => logger.debug({ err: err.message }, "redis error"));
  const keys = redisKeys(config);
  const queue = MaintenanceQueue.open(connection, keys.maintenanceQueue);
  const ownSyncQueue = options.syncQueue ? null : SyncQueue.open(connection, keys.syncQueues(), keys.shardOf);
  const syncQueue = options.syncQueue ?? ownSyncQueue!;
  const watch = gmailWatchOf(ctx);
  const pushOn = config.gmailPush.topic !== null;
  const debounceMs = config.liveSync.debounceMs;
  const scheduleEveryMs = pushOn
    ? null
    : (options.scheduleEveryMs ?? (config.liveSync.scheduleIntervalSeconds * 1000 || null));

  const processJob = maintenanceJobs({ ctx, queue, syncQueue, watch, debounceMs, scheduleEveryMs });
  const worker = new Worker(
    MAINTENANCE_QUEUE,
    processJob,
    // Several at once: a long watch renewal must not hold up a push's sync behind it.
    { connection, prefix: keys.maintenanceQueue, concurrency: 8 },
  );
  worker.on("error", (err) => logger.debug({ err: err.message }, "maintenance worker error"));
  await queue.schedulePurge(options.everyMs ?? PURGE_EVERY_MS);
  await queue.schedule(
    WATCH_RENEW_SCHEDULER,
    pushOn ? (options.watchRenewEveryMs ?? WATCH_RENEW_EVERY_MS) : null,
  );
  await queue.schedule(SYNC_SCHEDULER, scheduleEveryMs);
  await queue.schedule(
    CHECK_SCHEDULER,
    config.liveSync.checkEveryDays ? (options.checkEveryMs ?? CHECK_SCHEDULE_EVERY_MS) : null,
  );
  return {
    queue,
    async close() {
      await worker.close();
      await queue.close();
      await ownSyncQueue?.close();
      connection.disconnect();
    },
  };
}
