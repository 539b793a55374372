import { Queue, Worker } from "bullmq";
import type { CoreContext } from "../core/context";
import { createRedis } from "../core/redis";

/** A small queue of its own, so housekeeping never waits behind (or delays) mailbox syncs. */
export const MAINTENANCE_QUEUE = "maintenance";
export const PURGE_SCHEDULER = "purge-expired";
export const PURGE_EVERY_MS = 15 * 60_000;

export interface Maintenance {
  queue: Queue;
  close(): Promise<void>;
}

/**
 * Housekeeping jobs run by the worker processes. Every worker upserts the same job scheduler, so
 * there is one schedule however many workers run, and each run is taken by one of them:
 * `purge-expired` deletes sessions past their absolute or idle expiry and expired API tokens
 * (they already answer 401; this keeps the tables small and the data minimal).
 */
export async function startMaintenance(
  ctx: CoreContext,
  options: { everyMs?: number } = {},
): Promise<Maintenance> {
  const { config, logger } = ctx;
  const connection = createRedis(config.redisUrl, "worker");
  connection.on("error", (err) => logger.debug({ err: err.message }, "redis error"));
  const queue = new Queue(MAINTENANCE_QUEUE, { connection, prefix: config.queuePrefix });
  queue.on("error", () => {});
  const worker = new Worker(
    MAINTENANCE_QUEUE,
    async (job) => {
      if (job.name !== PURGE_SCHEDULER) return null;
      const purged = await ctx.sessions.purgeExpired();
      if (purged.sessions || purged.tokens) logger.info(purged, "purged expired sessions and tokens");
      return purged;
    },
    { connection, prefix: config.queuePrefix, concurrency: 1 },
  );
  worker.on("error", (err) => logger.debug({ err: err.message }, "maintenance worker error"));
  await queue.upsertJobScheduler(
    PURGE_SCHEDULER,
    { every: options.everyMs ?? PURGE_EVERY_MS },
    { name: PURGE_SCHEDULER, opts: { removeOnComplete: 50, removeOnFail: 50 } },
  );
  return {
    queue,
    async close() {
      await worker.close();
      await queue.close();
      connection.disconnect();
    },
  };
}
