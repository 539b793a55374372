import { Queue } from "bullmq";
import type { Redis } from "ioredis";

/** The BullMQ queue every sync task travels through. */
export const SYNC_QUEUE = "email-sync";

/**
 * The job names its task; the worker reads the user from the task row it claims, never from here
 * (`userId` is kept for the dashboard and for jobs queued by older versions).
 */
export interface SyncJobData {
  taskId: string;
  userId: string;
}

/** Attempts per task: a Gmail outage that outlasts one attempt's retries gets two more chances. */
export const SYNC_JOB_ATTEMPTS = 3;

/** First retry delay after a failed attempt; doubles with each further failure. */
export const SYNC_BACKOFF_MS = 5_000;

/** BullMQ priorities: a lower number is taken first. */
export const PRIORITY = { incremental: 1, full: 10 } as const;

/** When BullMQ's exponential backoff runs a job again after its `attemptsMade`-th failure. */
export function retryDelayMs(attemptsMade: number): number {
  return SYNC_BACKOFF_MS * 2 ** Math.max(0, attemptsMade - 1);
}

export function createSyncQueue(connection: Redis, prefix: string): Queue<SyncJobData> {
  return new Queue<SyncJobData>(SYNC_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: {
      attempts: SYNC_JOB_ATTEMPTS,
      backoff: { type: "exponential", delay: SYNC_BACKOFF_MS },
      // Finished jobs are kept a while for the dashboard; the task row is the durable record.
      removeOnComplete: { age: 3_600, count: 5_000 },
      removeOnFail: { age: 86_400, count: 5_000 },
    },
  });
}

/**
 * Makes sure an open task has a job a worker will take. The job id is the task id, so adding
 * an existing waiting, delayed or active job changes nothing. A finished job keeps its id for a
 * while, so a plain add would then be a no-op and the task would hang: that husk is removed
 * first (it ended while the row could not be told, or the task was handed back after it).
 * Answers whether a job was added.
 */
export async function ensureSyncJob(
  queue: Queue<SyncJobData>,
  data: SyncJobData,
  priority: number,
): Promise<boolean> {
  const job = await queue.getJob(data.taskId);
  if (job) {
    const state = await job.getState();
    if (state !== "completed" && state !== "failed" && state !== "unknown") return false;
    await job.remove();
  }
  await queue.add("sync", data, { jobId: data.taskId, priority });
  return true;
}
