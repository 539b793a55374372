import { Worker } from "bullmq";
import type { CoreContext } from "../core/context";
import { MAINTENANCE_QUEUE, MaintenanceQueue, PURGE_EVERY_MS, PURGE_SCHEDULER } from "../core/queue";
import { createRedis, redisKeys } from "../core/redis";

export { MAINTENANCE_QUEUE, PURGE_EVERY_MS, PURGE_SCHEDULER };

export interface Maintenance {
  queue: MaintenanceQueue;
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
  // A Redis Cluster (REDIS_CLUSTER_NODES) gets a cluster client and a hash-tagged prefix (core/redis.ts).
  const connection = createRedis(config, "worker");
  connection.on("error", (err) => logger.debug({ err: err.message }, "redis error"));
  const keys = redisKeys(config);
  const queue = MaintenanceQueue.open(connection, keys.maintenanceQueue);
  const worker = new Worker(
    MAINTENANCE_QUEUE,
    async (job) => {
      if (job.name !== PURGE_SCHEDULER) return null;
      const purged = await ctx.sessions.purgeExpired();
      if (purged.sessions || purged.tokens) logger.info(purged, "purged expired sessions and tokens");
      return purged;
    },
    { connection, prefix: keys.maintenanceQueue, concurrency: 1 },
  );
  worker.on("error", (err) => logger.debug({ err: err.message }, "maintenance worker error"));
  await queue.schedulePurge(options.everyMs ?? PURGE_EVERY_MS);
  return {
    queue,
    async close() {
      await worker.close();
      await queue.close();
      connection.disconnect();
    },
  };
}
