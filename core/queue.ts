import { Queue } from "bullmq";
import type { Redis } from "ioredis";

/** The BullMQ queue every sync task travels through. */
export const SYNC_QUEUE = "email-sync";

export interface SyncJobData {
  taskId: string;
  userId: string;
}

/** Attempts per task: a Gmail outage that outlasts one attempt's retries gets two more chances. */
export const SYNC_JOB_ATTEMPTS = 3;

export function createSyncQueue(connection: Redis, prefix: string): Queue<SyncJobData> {
  return new Queue<SyncJobData>(SYNC_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: {
      attempts: SYNC_JOB_ATTEMPTS,
      backoff: { type: "exponential", delay: 5_000 },
      // Finished jobs are kept a while for the dashboard; the task row is the durable record.
      removeOnComplete: { age: 3_600, count: 5_000 },
      removeOnFail: { age: 86_400, count: 5_000 },
    },
  });
}
