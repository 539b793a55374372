import { type JobType, Queue } from "bullmq";
import type { Cluster, Redis } from "ioredis";

/** A small queue of its own, so housekeeping never waits behind (or delays) mailbox syncs. */
export const MAINTENANCE_QUEUE = "maintenance";
export const PURGE_SCHEDULER = "purge-expired";
export const PURGE_EVERY_MS = 15 * 60_000;

/**
 * The housekeeping queue's schedule. Every worker upserts the same job scheduler, so there is one
 * schedule however many workers run; the jobs are run by worker/maintenance.ts's `Worker`.
 */
export class MaintenanceQueue {
  private constructor(private readonly queue: Queue) {}

  static open(connection: Redis | Cluster, prefix: string): MaintenanceQueue {
    const queue = new Queue(MAINTENANCE_QUEUE, { connection, prefix });
    queue.on("error", () => {});
    return new MaintenanceQueue(queue);
  }

  /** `purge-expired` every `everyMs`: idempotent, the scheduler's id is its name. */
  async schedulePurge(everyMs: number): Promise<void> {
    await this.queue.upsertJobScheduler(
      PURGE_SCHEDULER,
      { every: everyMs },
      { name: PURGE_SCHEDULER, opts: { removeOnComplete: 50, removeOnFail: 50 } },
    );
  }

  /** Housekeeping jobs in these states (finished runs, for tests and the curious). */
  getJobCountByTypes(...types: JobType[]): Promise<number> {
    return this.queue.getJobCountByTypes(...types);
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
