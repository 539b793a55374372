import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { SyncTask } from "../../core/db/models/SyncTask";
import { NoWorkersError, QueueUnavailableError } from "../../core/errors";
import type { SyncJobData } from "../../core/queue";
import { isRedisReady } from "../../core/redis";
import type { AccountService } from "../../core/services/AccountService";
import type { TaskService } from "../../core/services/TaskService";
import { aliveWorkers } from "../../core/workerHeartbeat";

export const STREAM_FALLBACK = "/api/emails/sync/stream";

/** BullMQ priorities: a lower number is taken first. */
export const PRIORITY = { incremental: 1, full: 10 } as const;

export interface SyncDispatcherOptions {
  queue: Queue<SyncJobData> | null;
  redis: Redis | null;
  queuePrefix: string;
  heartbeatTtlSeconds: number;
}

/**
 * Turns "sync my mailbox" into a queued task without touching Gmail: one database write and one
 * Redis write, so the request answers in milliseconds. Says 503 with the fallback when the queue
 * cannot take the task right now.
 */
export class SyncDispatcher {
  /** Until when a positive liveness answer is trusted: one Redis read per second, not per request. */
  private workersSeenUntil = 0;

  constructor(
    private readonly tasks: TaskService,
    private readonly accounts: AccountService,
    private readonly options: SyncDispatcherOptions,
  ) {}

  /**
   * An incremental sync is a few calls; a first sync may be a whole mailbox. Queued work is
   * taken in priority order, so quick syncs do not wait behind queued full ones.
   */
  private async priorityOf(userId: string): Promise<number> {
    const account = await this.accounts.findAccount(userId);
    return account?.historyId ? PRIORITY.incremental : PRIORITY.full;
  }

  /**
   * The row says the task is open, but its job already finished (it failed for good while the
   * database could not record that, say). A finished job keeps its id for a day, so a plain add
   * would be a no-op and the task would hang: remove the husk first.
   */
  private async clearFinishedJob(taskId: string): Promise<void> {
    const job = await this.options.queue?.getJob(taskId);
    if (!job) return;
    const state = await job.getState();
    if (state === "completed" || state === "failed") await job.remove();
  }

  async request(userId: string): Promise<{ task: SyncTask; joined: boolean }> {
    const { queue, redis } = this.options;
    if (!queue || !redis || !isRedisReady(redis)) throw new QueueUnavailableError(STREAM_FALLBACK);
    if (Date.now() > this.workersSeenUntil) {
      let alive: number;
      try {
        alive = await aliveWorkers(redis, this.options.queuePrefix, this.options.heartbeatTtlSeconds);
      } catch {
        throw new QueueUnavailableError(STREAM_FALLBACK);
      }
      if (alive === 0) throw new NoWorkersError(STREAM_FALLBACK);
      this.workersSeenUntil = Date.now() + 1_000;
    }

    const { task, joined } = await this.tasks.createOrJoin(userId, "queue");
    // Re-adding a joined task is harmless (the job id dedupes; the claim decides who runs it)
    // and heals a job that was lost: an enqueue that failed after the row's commit, or Redis
    // data gone while the task was open.
    try {
      if (joined) await this.clearFinishedJob(task.id);
      await queue.add(
        "sync",
        { taskId: task.id, userId },
        { jobId: task.id, priority: await this.priorityOf(userId) },
      );
    } catch {
      if (!joined) {
        await this.tasks.abandon(task.id, {
          code: "queue_unavailable",
          message: "The sync queue could not be reached.",
        });
      }
      throw new QueueUnavailableError(STREAM_FALLBACK);
    }
    return { task, joined };
  }
}
