import type { Logger } from "../core/logger";
import { PRIORITY, type SyncQueue } from "../core/queue";
import type { TaskLease } from "../core/tasks/TaskLease";

/**
 * Gives every task that nobody runs a job a worker will take: a stream whose web node died (its
 * lease lapsed and no job ever existed), a task a stopping web node handed back, a job lost from
 * Redis. Every worker sweeps the tasks of the queue shards it serves every half lease time (each
 * gets its job on its user's shard); `TaskLease.orphans` hands each task to one sweep per lease
 * time, and the job id dedupes the rest. A job whose worker died needs no sweep:
 * BullMQ's stalled check gives it to another worker once its lock (as long as the lease) lapses.
 */
export class OrphanSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;

  constructor(
    private readonly lease: TaskLease,
    private readonly queue: SyncQueue,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep()
        .then(() => {})
        .catch((err: Error) => this.logger.debug({ err: err.message }, "orphan sweep failed"))
        .finally(() => {
          this.running = null;
        });
    }, this.lease.leaseMs / 2);
    this.timer.unref();
  }

  /** One sweep; answers how many tasks it gave a job. */
  async sweep(): Promise<number> {
    let added = 0;
    for (const task of await this.lease.orphans()) {
      // Resumed work goes before queued first syncs: it has already waited.
      const data = { taskId: task.id, userId: task.userId };
      if (await this.queue.ensureJob(data, PRIORITY.incremental)) added++;
    }
    if (added) this.logger.info({ tasks: added }, "gave orphaned tasks a job");
    return added;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
