import type { Cluster, Redis } from "ioredis";
import { NoWorkersError, QueueUnavailableError } from "../../core/errors";
import { priorityOf, type SyncQueue } from "../../core/queue";
import { isRedisReady } from "../../core/redis";
import type { SyncTask, TaskOptions } from "../../core/repositories/task.repository";
import type { SyncRequest, TaskService } from "../../core/services/TaskService";
import type { WorkerLiveness } from "../../core/workerHeartbeat";

export const STREAM_FALLBACK = "/api/emails/sync/stream";

export interface SyncDispatcherOptions {
  queue: SyncQueue | null;
  redis: Redis | Cluster | null;
  workers: WorkerLiveness;
}

/**
 * Turns "sync my mailbox" into a queued task without touching Gmail: one database write and one
 * Redis write, so the request answers in milliseconds. Says 503 with the fallback when the queue
 * cannot take the task right now.
 */
export class SyncDispatcher {
  constructor(
    private readonly tasks: TaskService,
    private readonly options: SyncDispatcherOptions,
  ) {}

  /** `sync`: what to sync, and how strictly to join (see TaskService.createOrJoin). */
  async request(
    userId: string,
    sync?: SyncRequest,
  ): Promise<{ task: SyncTask; joined: boolean; options: TaskOptions }> {
    const { queue, redis } = this.options;
    if (!queue || !redis || !isRedisReady(redis)) throw new QueueUnavailableError(STREAM_FALLBACK);
    let alive: number;
    try {
      // On a sharded queue: the workers that serve this user's shard.
      alive = await this.options.workers.count(userId);
    } catch {
      throw new QueueUnavailableError(STREAM_FALLBACK);
    }
    if (alive === 0) throw new NoWorkersError(STREAM_FALLBACK);

    const {
      task,
      joined,
      options: taskOptions,
      incremental,
    } = await this.tasks.createOrJoin(userId, "queue", sync);
    const priority = priorityOf(incremental);
    // A joined task's job is made sure of (the lease decides who runs it), which heals a job
    // that was lost: an enqueue that failed after the row's commit, or Redis data gone.
    try {
      const data = { taskId: task.id, userId };
      if (joined) await queue.ensureJob(data, priority);
      else await queue.enqueue(data, priority);
    } catch {
      if (!joined) {
        await this.tasks.abandon(task.id, {
          code: "queue_unavailable",
          message: "The sync queue could not be reached.",
        });
      }
      throw new QueueUnavailableError(STREAM_FALLBACK);
    }
    return { task, joined, options: taskOptions };
  }
}
