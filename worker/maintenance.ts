import { randomUUID } from "node:crypto";
import { DelayedError, type Job, Worker } from "bullmq";
import type { CoreContext } from "../core/context";
import { gmailWatchOf } from "../core/gmail/watch";
import {
  MAINTENANCE_QUEUE,
  MaintenanceQueue,
  PURGE_EVERY_MS,
  PURGE_SCHEDULER,
  PUSH_SYNC_JOB,
  priorityOf,
  SCHEDULED_SYNC_JOB,
  type ScheduleJobData,
  SYNC_SCHEDULER,
  SyncQueue,
  type UserJobData,
  WATCH_RENEW_EVERY_MS,
  WATCH_RENEW_SCHEDULER,
} from "../core/queue";
import { createRedis, redisKeys } from "../core/redis";

export {
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
  /** The worker's sync queue (its shards); by default one is opened on the queue prefix. */
  syncQueue?: SyncQueue;
}

/** Most a scheduled sync waits past its run, so a whole schedule does not start in one instant. */
const MAX_JITTER_MS = 5 * 60_000;
const SCHEDULE_PAGE = 500;

/**
 * Housekeeping jobs run by the worker processes. Every worker upserts the same job schedulers, so
 * there is one schedule however many workers run, and each run is taken by one of them:
 * - `purge-expired` deletes sessions past their absolute or idle expiry and expired API tokens
 *   (they already answer 401; this keeps the tables small and the data minimal);
 * - `watch-renew` (push on) calls `users.watch` again for every connected account whose watch
 *   lapses within a day, or that has none;
 * - `sync-schedule` (push off) gives recently active accounts an incremental sync each period,
 *   each at a jittered moment, as `scheduled-sync` jobs;
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

  /** Creates the user's sync task (or joins the queued one) and makes sure a worker will take it. */
  const requestSync = async (userId: string) => {
    const { task, joined, incremental } = await ctx.tasks.createOrJoin(userId, "queue");
    const priority = priorityOf(incremental);
    const data = { taskId: task.id, userId };
    if (joined) await syncQueue.ensureJob(data, priority);
    else await syncQueue.enqueue(data, priority);
    return { task, joined };
  };

  /** Whether the user's account is one we sync (a push may name a disconnected one). */
  const connected = async (userId: string) =>
    (await ctx.accounts.findAccount(userId))?.status === "connected";

  const pushSync = async (job: Job<UserJobData>, token: string | undefined) => {
    const { userId } = job.data;
    const open = await ctx.tasks.openTaskOf(userId);
    // A running sync may have read Gmail's history before the pushed change: wait for its end.
    if (open?.state === "active" && token) {
      const recheckMs = Math.max(500, debounceMs);
      await queue.keepArmed(userId, recheckMs);
      await job.moveToDelayed(Date.now() + recheckMs, token);
      throw new DelayedError();
    }
    if (!(await queue.takePushes(userId))) return { skipped: "covered" };
    if (!(await connected(userId))) return { skipped: "not_connected" };
    try {
      const { task, joined } = await requestSync(userId);
      // It started between our look and our join: its history read may predate the pushes.
      if (joined && task.state === "active") await queue.returnPushes(userId, debounceMs);
      return { taskId: task.id, joined };
    } catch (err) {
      await queue.returnPushes(userId, debounceMs).catch(() => {});
      throw err;
    }
  };

  const scheduledSync = async (job: Job<UserJobData>) => {
    const { userId } = job.data;
    // A sync already queued or running keeps this account current: the schedule never piles up.
    if (await ctx.tasks.openTaskOf(userId)) return { skipped: "open_task" };
    if (!(await connected(userId))) return { skipped: "not_connected" };
    const { task } = await requestSync(userId);
    return { taskId: task.id };
  };

  const scheduleRun = async (job: Job<Partial<ScheduleJobData>>) => {
    const everyMs = job.data?.everyMs ?? scheduleEveryMs;
    if (!everyMs) return { skipped: "off" };
    if (!(await queue.claimScheduleRun(everyMs))) return { skipped: "not_due" };
    const since = new Date(Date.now() - config.liveSync.activeDays * 86_400_000);
    const jitterMs = Math.min(everyMs / 2, MAX_JITTER_MS);
    const runId = randomUUID().slice(0, 8);
    let after: string | null = null;
    let scheduled = 0;
    for (;;) {
      const users = await ctx.repos.accounts.recentlyActive(config.queuePrefix, since, after, SCHEDULE_PAGE);
      if (users.length === 0) break;
      await queue.scheduleSyncs(
        users.map((userId) => ({ userId, delayMs: Math.floor(Math.random() * jitterMs) })),
        runId,
      );
      scheduled += users.length;
      after = users.at(-1)!;
    }
    if (scheduled) logger.info({ scheduled }, "scheduled incremental syncs for recently active accounts");
    return { scheduled };
  };

  const worker = new Worker(
    MAINTENANCE_QUEUE,
    async (job: Job, token?: string) => {
      switch (job.name) {
        case PURGE_SCHEDULER: {
          const purged = await ctx.sessions.purgeExpired();
          if (purged.sessions || purged.tokens) logger.info(purged, "purged expired sessions and tokens");
          return purged;
        }
        case WATCH_RENEW_SCHEDULER: {
          const report = await watch.renewLapsing();
          if (report.renewed || report.failed) logger.info(report, "renewed gmail watches");
          return report;
        }
        case SYNC_SCHEDULER:
          return scheduleRun(job);
        case PUSH_SYNC_JOB:
          return pushSync(job as Job<UserJobData>, token);
        case SCHEDULED_SYNC_JOB:
          return scheduledSync(job as Job<UserJobData>);
        default:
          return null;
      }
    },
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
