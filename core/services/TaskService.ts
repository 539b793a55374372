import { QueryTypes, type Sequelize } from "sequelize";
import { SyncTask, type TaskRunner } from "../db/models/SyncTask";
import type { SyncResult, TaskError, TaskProgress, TaskSnapshot, TaskState } from "../events";
import type { SyncProgressUpdate } from "../sync/syncMailbox";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isTaskId(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}

/**
 * Sequence numbers grow across attempts: attempt N numbers its snapshots from N * SEQ_SPAN, so
 * a retry's first snapshot outranks everything the crashed attempt sent.
 */
export const SEQ_SPAN = 1_000_000;

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

/** Columns under their attribute names, so a raw RETURNING row builds a proper model. */
const RETURNING_ATTRIBUTES = (): string =>
  Object.entries(SyncTask.getAttributes())
    .map(([attr, def]) => `"${def.field ?? attr}" AS "${attr}"`)
    .join(", ");

/** The lifecycle of sync tasks in PostgreSQL, the durable record every view reads at the end. */
export class TaskService {
  constructor(private readonly sequelize: Sequelize) {}

  /**
   * Creates a queued task, or answers the user's task that is already queued or running. The
   * partial unique index decides, so two requests at the same instant still get one task.
   */
  async createOrJoin(userId: string, runner: TaskRunner): Promise<{ task: SyncTask; joined: boolean }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      // One round trip on the hot path: the insert either wins or meets the open task's index entry.
      const created = await this.sequelize.query<Record<string, unknown>>(
        `INSERT INTO sync_tasks (id, user_id, runner) VALUES (gen_random_uuid(), :userId, :runner)
         ON CONFLICT (user_id) WHERE state IN ('queued', 'active') DO NOTHING
         RETURNING ${RETURNING_ATTRIBUTES()}`,
        { replacements: { userId, runner }, type: QueryTypes.SELECT },
      );
      if (created[0])
        return { task: SyncTask.build(created[0], { isNewRecord: false, raw: false }), joined: false };
      const open = await this.openTaskOf(userId);
      if (open) return { task: open, joined: true };
      // The open task finished between the two statements: try again.
    }
    throw new Error("Could not create or join a sync task");
  }

  openTaskOf(userId: string): Promise<SyncTask | null> {
    return SyncTask.findOne({ where: { userId, state: ["queued", "active"] } });
  }

  /** A task only its owner can see: another user's task is as unknown as a missing one. */
  async findForUser(userId: string, taskId: string): Promise<SyncTask | null> {
    if (!isTaskId(taskId)) return null;
    return SyncTask.findOne({ where: { id: taskId, userId } });
  }

  findById(taskId: string): Promise<SyncTask | null> {
    return isTaskId(taskId) ? SyncTask.findByPk(taskId) : Promise.resolve(null);
  }

  /**
   * Marks the task active for a runner. A queued task can be claimed by either runner. An active
   * queue task only by the queue again (BullMQ re-runs a stalled job after a worker died); an
   * active stream task only once it has gone quiet for two minutes (the web process serving it
   * died). Finished tasks never run again. Answers null when the claim is refused.
   */
  async claim(taskId: string, runner: TaskRunner): Promise<SyncTask | null> {
    const rows = await this.sequelize.query<{ id: string }>(
      `UPDATE sync_tasks SET state = 'active', runner = :runner, attempts = attempts + 1,
              seq = (attempts + 1) * ${SEQ_SPAN}, started_at = coalesce(started_at, now()),
              error = NULL, updated_at = now()
       WHERE id = :taskId AND (
         state = 'queued'
         OR (state = 'active' AND runner = 'queue' AND :runner = 'queue')
         OR (state = 'active' AND runner = 'stream' AND updated_at < now() - interval '2 minutes'))
       RETURNING id`,
      { replacements: { taskId, runner }, type: QueryTypes.SELECT },
    );
    return rows.length ? SyncTask.findByPk(taskId) : null;
  }

  async saveProgress(taskId: string, progress: TaskProgress, seq: number): Promise<void> {
    await SyncTask.update(
      { phase: progress.phase, processed: progress.processed, total: progress.total, seq },
      { where: { id: taskId, state: "active" } },
    );
  }

  async finish(
    taskId: string,
    state: Extract<TaskState, "completed" | "failed" | "queued">,
    outcome: { result?: SyncResult; error?: TaskError; progress?: TaskProgress; seq: number },
  ): Promise<SyncTask> {
    const terminal = state !== "queued";
    await SyncTask.update(
      {
        state,
        result: outcome.result ?? null,
        error: outcome.error ?? null,
        seq: outcome.seq,
        ...(outcome.progress
          ? {
              phase: outcome.progress.phase,
              processed: outcome.progress.processed,
              total: outcome.progress.total,
            }
          : {}),
        ...(terminal ? { finishedAt: new Date() } : {}),
      },
      { where: { id: taskId } },
    );
    return (await SyncTask.findByPk(taskId))!;
  }

  /** A task that could not be enqueued must not block the user's next attempt. */
  async abandon(taskId: string, error: TaskError): Promise<void> {
    await SyncTask.update(
      { state: "failed", error, finishedAt: new Date() },
      { where: { id: taskId, state: "queued" } },
    );
  }
}
