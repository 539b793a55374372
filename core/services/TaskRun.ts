import type { TaskRunner } from "../db/models/SyncTask";
import { AppError } from "../errors";
import type { SyncResult, TaskError, TaskSnapshot } from "../events";
import type { ProgressSink, SyncProgressUpdate } from "../sync/syncMailbox";
import { progressOf, snapshotOf, type TaskService } from "./TaskService";

/** Where a run's snapshots go: sockets and the job (worker), or response lines (stream). */
export type SnapshotPublisher = (snapshot: TaskSnapshot) => void | Promise<void>;

export interface TaskRunOptions {
  /** Least time between two published progress snapshots of one task. Default 100 ms. */
  publishIntervalMs?: number;
  /** Least time between two progress writes to the task row. Default 1 s. */
  persistIntervalMs?: number;
}

/**
 * Turns one sync run into task snapshots: claims the task, throttles progress, persists it, and
 * writes the final state. Shared by the worker job and the streaming fallback so both tell the
 * same story in the same shape.
 */
export class TaskRun {
  private seq = 0;
  private lastPublish = 0;
  private lastPersist = 0;
  private timer: NodeJS.Timeout | null = null;
  private base!: TaskSnapshot;
  private current: SyncProgressUpdate = { phase: "listing", processed: 0, total: 0 };

  constructor(
    private readonly tasks: TaskService,
    private readonly taskId: string,
    private readonly publish: SnapshotPublisher,
    private readonly options: TaskRunOptions = {},
  ) {}

  /** Claims the task; answers false when another runner has it or it has finished. */
  async start(runner: TaskRunner): Promise<boolean> {
    const task = await this.tasks.claim(this.taskId, runner);
    if (!task) return false;
    this.seq = task.seq;
    this.base = snapshotOf(task);
    this.current = { phase: task.phase, processed: task.processed, total: task.total };
    await this.publish(this.snapshot());
    return true;
  }

  private snapshot(overrides: Partial<TaskSnapshot> = {}): TaskSnapshot {
    return {
      ...this.base,
      progress: progressOf(this.current),
      ...overrides,
      at: Date.now(),
      seq: ++this.seq,
    };
  }

  /** The sink handed to `syncMailbox`. */
  readonly progress: ProgressSink = async (update) => {
    const phaseChanged = update.phase !== this.current.phase;
    this.current = update;
    const interval = this.options.publishIntervalMs ?? 100;
    const now = Date.now();
    if (phaseChanged || now - this.lastPublish >= interval) {
      this.stopTimer();
      await this.flushProgress();
    } else {
      this.timer ??= setTimeout(
        () => {
          this.timer = null;
          void this.flushProgress().catch(() => {});
        },
        interval - (now - this.lastPublish),
      );
    }
  };

  private async flushProgress(): Promise<void> {
    this.lastPublish = Date.now();
    const snapshot = this.snapshot();
    await this.publish(snapshot);
    if (Date.now() - this.lastPersist >= (this.options.persistIntervalMs ?? 1_000)) {
      this.lastPersist = Date.now();
      await this.tasks.saveProgress(this.taskId, snapshot.progress, snapshot.seq);
    }
  }

  private stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  complete(result: SyncResult): Promise<TaskSnapshot> {
    this.current = { ...this.current, phase: "done", processed: this.current.total };
    return this.end("completed", { result });
  }

  fail(error: unknown): Promise<TaskSnapshot> {
    return this.end("failed", { error: taskErrorOf(error) });
  }

  /** The attempt stopped but the queue will run it again: the task waits, queued, with its progress. */
  requeue(error: unknown): Promise<TaskSnapshot> {
    return this.end("queued", { error: taskErrorOf(error) });
  }

  /** Writes the run's last state to the row and publishes it, after any pending progress. */
  private async end(
    state: "completed" | "failed" | "queued",
    outcome: { result?: SyncResult; error?: TaskError },
  ): Promise<TaskSnapshot> {
    this.stopTimer();
    const seq = this.seq + 1;
    const task = await this.tasks.finish(this.taskId, state, {
      ...outcome,
      progress: progressOf(this.current),
      seq,
    });
    // snapshotOf shows `error` only for a failed task: a requeued one keeps it in the row alone.
    const snapshot = snapshotOf(task, { seq });
    this.seq = snapshot.seq;
    await this.publish(snapshot);
    return snapshot;
  }
}

/** What a user may read about a failure: our own codes verbatim, anything else generically. */
export function taskErrorOf(error: unknown): TaskError {
  if (error instanceof AppError) return { code: error.code, message: error.message };
  return { code: "sync_failed", message: "The sync failed unexpectedly. Try again in a moment." };
}
