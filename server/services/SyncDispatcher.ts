import type { Cluster, Redis } from "ioredis";
import { NoWorkersError, QueueUnavailableError } from "../../core/errors";
import type { Logger } from "../../core/logger";
import { PRIORITY, priorityOf, type SyncQueue } from "../../core/queue";
import { isRedisReady } from "../../core/redis";
import type { SyncTask, TaskOptions } from "../../core/repositories/task.repository";
import type { SyncRequest, TaskService } from "../../core/services/TaskService";
import type { WorkerLiveness } from "../../core/workerHeartbeat";

export const STREAM_FALLBACK = "/api/emails/sync/stream";

export interface SyncDispatcherOptions {
  queue: SyncQueue | null;
  redis: Redis | Cluster | null;
  workers: WorkerLiveness;
  /** Where a job that could not be added is reported (it never fails the request). */
  logger?: Pick<Logger, "warn">;
}

/**
 * Turns "sync my mailbox" into a queued task without touching Gmail: one database write, then the
 * answer, then one Redis write. Says 503 with the fallback when the queue cannot take the task
 * right now (no client, Redis not ready, no live worker): those are known before anything is
 * written.
 *
 * The row is the task; the job only wakes a worker. So the answer goes out once the row is
 * committed, and the job is added after it: about 0.6 ms of a lone POST's 5–6 ms here (bench row
 * P1). A job that cannot be added loses nothing: the task stays queued, its
 * status says `no_workers` once it has waited `JOBLESS_AFTER_MS` without a job (TaskStatus), so a
 * client takes it over by stream, and the orphan sweeper gives it a job after a lease time.
 */
export class SyncDispatcher {
  /** Adds not yet answered; a stopping node waits for them (`drain`). */
  private readonly adding = new Set<Promise<void>>();

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
    const adding = this.addJob(queue, { taskId: task.id, userId }, joined, priorityOf(incremental));
    this.adding.add(adding);
    void adding.finally(() => this.adding.delete(adding));
    return { task, joined, options: taskOptions };
  }

  /**
   * A task a stream ran until the project's daily budget parked it: its job is due at `at` (the
   * budget's reset), so a worker, if one is alive then, resumes it on time. Without a queue
   * nothing is added and the client's stream resumes it after the reset (the task's status then
   * says `no_workers`); should the add fail, the orphan sweeper gives it a job after the reset.
   * Answers whether a job was added.
   */
  async resumeAt(data: { taskId: string; userId: string }, at: number): Promise<boolean> {
    const { queue, redis } = this.options;
    if (!queue || !redis || !isRedisReady(redis)) return false;
    try {
      // Resumed work goes before queued first syncs: it has already waited.
      return await queue.ensureJob(data, PRIORITY.incremental, at);
    } catch (err) {
      this.options.logger?.warn(
        { taskId: data.taskId, err: err instanceof Error ? err.message : String(err) },
        "parked task's job not added: the orphan sweeper gives it one after the reset",
      );
      return false;
    }
  }

  /** Resolves once every job this node has begun to add is added or given up. */
  async drain(): Promise<void> {
    await Promise.all(this.adding);
  }

  private async addJob(
    queue: SyncQueue,
    data: { taskId: string; userId: string },
    joined: boolean,
    priority: number,
  ): Promise<void> {
    try {
      // A joined task's job is made sure of (the lease decides who runs it), which heals a job
      // that was lost: an add that failed after the row's commit, or Redis data gone.
      if (joined) await queue.ensureJob(data, priority);
      else await queue.enqueue(data, priority);
    } catch (err) {
      this.options.logger?.warn(
        { taskId: data.taskId, err: err instanceof Error ? err.message : String(err) },
        "sync job not added: the task stays queued for a stream takeover or the orphan sweeper",
      );
    }
  }
}
