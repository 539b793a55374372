import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { type Job, type JobType, Queue } from "bullmq";
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

/** What of BullMQ's Queue the sync queue uses (tests hand in fakes of it). */
export type SyncJobs = Pick<
  Queue<SyncJobData>,
  "add" | "getJob" | "getJobCounts" | "getJobCountByTypes" | "pause" | "resume" | "isPaused" | "close" | "on"
>;

/**
 * The one home of the sync queue (immich's job repository): it alone creates the BullMQ queue and
 * adds, reads and removes its jobs. The job id is the task id, so a task has at most one job.
 * The worker's BullMQ `Worker` (worker/SyncWorker.ts) is the only other BullMQ user; a job's
 * `moveToDelayed` inside the processor stays there.
 */
export class SyncQueue {
  constructor(private readonly jobs: SyncJobs) {}

  static open(connection: Redis, prefix: string): SyncQueue {
    const queue = new Queue<SyncJobData>(SYNC_QUEUE, {
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
    // Redis going away is reported by the callers that need it (503s, readiness); an unhandled
    // 'error' event would end the process.
    queue.on("error", () => {});
    return new SyncQueue(queue);
  }

  /** Queues a new task's job; an incremental sync's lower priority number goes first. */
  async enqueue(data: SyncJobData, priority: number): Promise<void> {
    await this.jobs.add("sync", data, { jobId: data.taskId, priority });
  }

  /**
   * Makes sure an open task has a job a worker will take. Adding an existing waiting, delayed or
   * active job changes nothing. A finished job keeps its id for a while, so a plain add would then
   * be a no-op and the task would hang: that husk is removed first (it ended while the row could
   * not be told, or the task was handed back after it). Answers whether a job was added.
   */
  async ensureJob(data: SyncJobData, priority: number): Promise<boolean> {
    const job = await this.jobs.getJob(data.taskId);
    if (job) {
      const state = await job.getState();
      if (state !== "completed" && state !== "failed" && state !== "unknown") return false;
      await job.remove();
    }
    await this.enqueue(data, priority);
    return true;
  }

  /** The running job's last progress report (a task snapshot, newer than the row), if any. */
  async progressOf(taskId: string): Promise<unknown> {
    return (await this.jobs.getJob(taskId))?.progress;
  }

  /** The task's job, for reading its state (the dashboard, tests); undefined when there is none. */
  getJob(taskId: string): Promise<Job<SyncJobData> | undefined> {
    return this.jobs.getJob(taskId);
  }

  /** The task's job's state, or undefined when it has none. */
  async jobState(taskId: string): Promise<string | undefined> {
    return (await this.jobs.getJob(taskId))?.getState();
  }

  /**
   * Cancels the task's job; answers whether one was removed. An active job is locked by its
   * worker and cannot be removed: that throws, and the run ends by itself (its task row is gone).
   */
  async remove(taskId: string): Promise<boolean> {
    const job = await this.jobs.getJob(taskId);
    if (!job) return false;
    await job.remove();
    return true;
  }

  /** Jobs by state, for metrics. */
  getJobCounts(...types: JobType[]): Promise<Record<string, number>> {
    return this.jobs.getJobCounts(...types);
  }

  /** Whether other syncs wait for a worker slot (a long sync then yields its slot). */
  async othersWaiting(): Promise<boolean> {
    return (await this.jobs.getJobCountByTypes("wait", "prioritized", "paused")) > 0;
  }

  pause(): Promise<void> {
    return this.jobs.pause();
  }

  resume(): Promise<void> {
    return this.jobs.resume();
  }

  isPaused(): Promise<boolean> {
    return this.jobs.isPaused();
  }

  /** Bull Board's view of this queue (server/routes/admin.ts), with its retry/clean/remove actions. */
  dashboardAdapter(): BullMQAdapter {
    return new BullMQAdapter(this.jobs as Queue<SyncJobData>, { readOnlyMode: false });
  }

  close(): Promise<void> {
    return this.jobs.close();
  }
}
