import { AppError } from "../errors";
import type { TaskProgress, TaskSnapshot } from "../events";
import type {
  OpenedTask,
  SyncTask,
  TaskOptions,
  TaskRepository,
  TaskRunner,
} from "../repositories/task.repository";
import type { SyncProgressUpdate } from "../sync/syncMailbox";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isTaskId(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}

/**
 * Progress as a client shows it. Percent counts stored messages against the mailbox; while ids
 * are still being listed it stays at 0, so the bar only ever moves forward.
 */
export function progressOf(update: Pick<SyncProgressUpdate, "phase" | "processed" | "total">): TaskProgress {
  const total = Math.max(0, update.total);
  const processed = Math.min(Math.max(0, update.processed), total || update.processed);
  let percent = 0;
  if (update.phase === "done") percent = 100;
  else if (update.phase !== "listing" && total > 0)
    percent = Math.min(99, Math.floor((processed / total) * 100));
  return { phase: update.phase, processed, total, percent };
}

export function snapshotOf(task: SyncTask, overrides: Partial<TaskSnapshot> = {}): TaskSnapshot {
  const snapshot: TaskSnapshot = {
    taskId: task.id,
    state: task.state,
    progress: progressOf(task),
    createdAt: task.createdAt.toISOString(),
    at: Date.now(),
    seq: task.seq,
  };
  if (task.startedAt) snapshot.startedAt = task.startedAt.toISOString();
  if (task.finishedAt) snapshot.finishedAt = task.finishedAt.toISOString();
  if (task.state === "completed" && task.result) snapshot.result = task.result;
  if (task.state === "failed" && task.error) snapshot.error = task.error;
  return { ...snapshot, ...overrides };
}

/** 409: the user's open sync covers other options than the ones asked for. */
export class SyncInProgressError extends AppError {
  constructor(taskId: string, options: TaskOptions) {
    super(
      "sync_in_progress",
      "A sync of other mail is already running for this account; wait for it to end, or join it by sending no options.",
      409,
      { taskId, options },
    );
  }
}

/**
 * What a caller asks of `createOrJoin`: the options to sync with, and whether only an open task
 * with those very options may be joined (`strict`), or any open task.
 */
export interface SyncRequest {
  options: TaskOptions;
  strict: boolean;
}

/**
 * What `createOrJoin` answers: the task, whether it was already open, what it syncs, and whether
 * its sync will be incremental (read in the same statement; it decides the queue priority).
 */
export interface CreatedOrJoined extends OpenedTask {
  joined: boolean;
  options: TaskOptions;
}

/** One spelling per choice: labels sorted and unique, absent fields left out. */
export function normalOptions(options: TaskOptions): TaskOptions {
  if (options.check) return { current: true, check: true };
  if (options.current) return { current: true };
  const out: TaskOptions = {};
  if (typeof options.newerThanDays === "number") out.newerThanDays = options.newerThanDays;
  if (Array.isArray(options.labelIds) && options.labelIds.length > 0)
    out.labelIds = [...new Set(options.labelIds)].sort();
  return out;
}

function sameOptions(a: TaskOptions, b: TaskOptions): boolean {
  return JSON.stringify(normalOptions(a)) === JSON.stringify(normalOptions(b));
}

/**
 * Sync task rows, the durable record every view reads at the end: creating or joining a user's
 * task, and finding tasks. Who may run a task is core/tasks/TaskLease.ts.
 */
export class TaskService {
  constructor(
    private readonly tasks: TaskRepository,
    /**
     * The queue a user's tasks travel through, written on every task it creates (see
     * TaskLease.orphans): the deployment's queue, or the user's shard of it.
     */
    private readonly queue: string | ((userId: string) => string),
  ) {}

  /**
   * Creates a queued task, or answers the user's task that is already queued or running. The
   * partial unique index decides, so two requests at the same instant still get one task.
   *
   * `request` says what to sync. Without one (a Gmail push, the schedule: nobody chose) the task
   * keeps what the mirror covers now (`{current: true}`, so a scoped mirror is never widened
   * behind its owner's back) and joins any open task. A strict request whose options differ from
   * the open task's is refused (`SyncInProgressError`): joining would hand the caller a sync of
   * something else, and a second task per user is what the index forbids.
   */
  async createOrJoin(userId: string, runner: TaskRunner, request?: SyncRequest): Promise<CreatedOrJoined> {
    const wanted = normalOptions(request ? request.options : { current: true });
    for (let attempt = 0; attempt < 3; attempt++) {
      // One round trip on the hot path: the insert either wins or meets the open task's index entry.
      const queue = typeof this.queue === "string" ? this.queue : this.queue(userId);
      const created = await this.tasks.insertUnlessOpen(userId, runner, queue, wanted);
      if (created) return { ...created, joined: false, options: wanted };
      const open = await this.tasks.findOpenWithOptions(userId);
      if (open) {
        const current = normalOptions(open.options);
        if (request?.strict && !sameOptions(current, wanted))
          throw new SyncInProgressError(open.task.id, current);
        return { task: open.task, incremental: open.incremental, joined: true, options: current };
      }
      // The open task finished between the two statements: try again.
    }
    throw new Error("Could not create or join a sync task");
  }

  openTaskOf(userId: string): Promise<SyncTask | null> {
    return this.tasks.findOpenOf(userId);
  }

  /** A task only its owner can see: another user's task is as unknown as a missing one. */
  async findForUser(userId: string, taskId: string): Promise<SyncTask | null> {
    if (!isTaskId(taskId)) return null;
    return this.tasks.findOfUser(userId, taskId);
  }

  findById(taskId: string): Promise<SyncTask | null> {
    return isTaskId(taskId) ? this.tasks.findById(taskId) : Promise.resolve(null);
  }
}
