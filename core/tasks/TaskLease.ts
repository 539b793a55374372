import { QueryTypes, type Sequelize } from "sequelize";
import { SyncTask, type TaskRunner } from "../db/models/SyncTask";
import type { SyncResult, TaskError, TaskProgress, TaskState } from "../events";

/**
 * Who owns a sync task, and when someone else may take it: the one home of that rule.
 *
 * A task is run by whoever holds its lease: a worker's job or a web node's stream. The holder
 * renews the lease on a timer of its own (`LeaseKeeper`), independent of progress writes, so a
 * slow mailbox never looks dead and a dead holder is noticed within one lease time. The rules:
 *
 * - **claim**: a queued task can be claimed by anyone. An active task can be claimed only once
 *   its lease has lapsed (its holder died or lost the database): that is a takeover. A finished
 *   task is never run again.
 * - **renew**: only the holder of an active task may renew; anything else means the lease is lost
 *   (taken over, the task deleted with its account) and the holder must stop.
 * - **release**: the holder hands the task back as `queued` without spending a failed attempt
 *   (the node is stopping, or the run's time slice is over). A failed attempt that the queue will
 *   retry is released too, with `retryAt`.
 * - **end**: the holder writes the final state; a holder that lost the lease writes nothing.
 *
 * Time is the database's clock, so web nodes and workers on machines whose clocks disagree still
 * agree on when a lease lapsed.
 */

/** Every claim moves `seq` on by a whole span, so a new holder's first snapshot outranks every
 * snapshot the previous holder published (it persisted its seq at most a second behind). */
export const SEQ_SPAN = 1_000_000;

/** The part of a task row the rules read. Times are ms since the epoch. */
export interface LeaseView {
  state: TaskState;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
}

export type ClaimVerdict =
  | { ok: true; takeover: boolean }
  | { ok: false; reason: "missing" | "finished" }
  | { ok: false; reason: "held"; until: number };

/** Whether `task` may be claimed at `now`, and why not. */
export function claimVerdict(task: LeaseView | null, now: number): ClaimVerdict {
  if (!task) return { ok: false, reason: "missing" };
  if (task.state === "completed" || task.state === "failed") return { ok: false, reason: "finished" };
  if (task.state === "queued") return { ok: true, takeover: false };
  if (leaseLapsed(task, now)) return { ok: true, takeover: true };
  return { ok: false, reason: "held", until: task.leaseExpiresAt! };
}

/** An active task whose holder has not renewed in time (or that never had a holder). */
export function leaseLapsed(task: LeaseView, now: number): boolean {
  return task.state === "active" && (task.leaseExpiresAt === null || task.leaseExpiresAt <= now);
}

/** Only the holder of an active task keeps it. */
export function mayRenew(task: LeaseView | null, owner: string): boolean {
  return task?.state === "active" && task.leaseOwner === owner;
}

/** Who asks: a unique id per run (a job run, a stream request) and which kind of runner it is. */
export interface LeaseHolder {
  owner: string;
  runner: TaskRunner;
}

export type ClaimResult =
  | { ok: true; task: SyncTask; takeover: boolean }
  | Extract<ClaimVerdict, { ok: false }>;

export interface EndOutcome {
  result?: SyncResult;
  error?: TaskError;
  progress?: TaskProgress;
  seq: number;
  /** Only for a release: when the queue will run the task again. */
  retryAt?: Date | null;
}

const viewOf = (row: {
  state: TaskState;
  lease_owner: string | null;
  lease_expires_at: Date | null;
}): LeaseView => ({
  state: row.state,
  leaseOwner: row.lease_owner,
  leaseExpiresAt: row.lease_expires_at ? row.lease_expires_at.getTime() : null,
});

/** The lease rules above, applied to the `sync_tasks` rows in PostgreSQL. */
export class TaskLease {
  constructor(
    private readonly sequelize: Sequelize,
    /** How long a claim or a renewal holds the task. */
    readonly leaseMs: number,
    /** This deployment's queue: `orphans` offers only its tasks (and old ones that name none). */
    private readonly queue: string,
  ) {}

  /**
   * Claims the task for `holder`: the row is locked, `claimVerdict` decides on the database's
   * clock, and the winner's lease starts. Two claimants at once are serialised by the row lock.
   */
  async claim(taskId: string, holder: LeaseHolder): Promise<ClaimResult> {
    const claimed = await this.sequelize.transaction(async (transaction) => {
      const [row] = await this.sequelize.query<{
        state: TaskState;
        lease_owner: string | null;
        lease_expires_at: Date | null;
        now: Date;
      }>(
        `SELECT state, lease_owner, lease_expires_at, clock_timestamp() AS now
         FROM sync_tasks WHERE id = :taskId FOR UPDATE`,
        { replacements: { taskId }, type: QueryTypes.SELECT, transaction },
      );
      const verdict = claimVerdict(row ? viewOf(row) : null, row ? row.now.getTime() : 0);
      if (!verdict.ok) return verdict;
      await this.sequelize.query(
        `UPDATE sync_tasks SET state = 'active', runner = :runner, lease_owner = :owner,
                lease_expires_at = clock_timestamp() + make_interval(secs => :leaseSeconds),
                attempts = attempts + 1, seq = seq + ${SEQ_SPAN}, retry_at = NULL, error = NULL,
                started_at = coalesce(started_at, now()), updated_at = now()
         WHERE id = :taskId`,
        {
          replacements: {
            taskId,
            runner: holder.runner,
            owner: holder.owner,
            leaseSeconds: this.leaseMs / 1000,
          },
          transaction,
        },
      );
      return verdict;
    });
    if (!claimed.ok) return claimed;
    const task = await SyncTask.findByPk(taskId);
    // Deleted (with its account) in the instant after the claim: nothing to run.
    if (!task) return { ok: false, reason: "missing" };
    return { ok: true, task, takeover: claimed.takeover };
  }

  /**
   * Extends the holder's lease; answers the new expiry, or null when the lease is lost (`mayRenew`
   * says no: taken over, finished by someone else, or the task deleted).
   */
  async renew(taskId: string, owner: string): Promise<Date | null> {
    const rows = await this.sequelize.query<{ lease_expires_at: Date }>(
      `UPDATE sync_tasks SET lease_expires_at = clock_timestamp() + make_interval(secs => :leaseSeconds)
       WHERE id = :taskId AND state = 'active' AND lease_owner = :owner
       RETURNING lease_expires_at`,
      { replacements: { taskId, owner, leaseSeconds: this.leaseMs / 1000 }, type: QueryTypes.SELECT },
    );
    return rows[0]?.lease_expires_at ?? null;
  }

  /**
   * The holder's last word on the task: `completed` or `failed`, or `queued` to hand it back
   * (release). Answers the row as written, or null when the holder no longer held the lease.
   */
  async end(
    taskId: string,
    owner: string,
    state: Extract<TaskState, "completed" | "failed" | "queued">,
    outcome: EndOutcome,
  ): Promise<SyncTask | null> {
    const [count] = await SyncTask.update(
      {
        state,
        result: outcome.result ?? null,
        error: outcome.error ?? null,
        seq: outcome.seq,
        leaseOwner: null,
        leaseExpiresAt: null,
        retryAt: state === "queued" ? (outcome.retryAt ?? null) : null,
        ...(outcome.progress
          ? {
              phase: outcome.progress.phase,
              processed: outcome.progress.processed,
              total: outcome.progress.total,
            }
          : {}),
        ...(state !== "queued" ? { finishedAt: new Date() } : {}),
      },
      { where: { id: taskId, state: "active", leaseOwner: owner } },
    );
    return count ? SyncTask.findByPk(taskId) : null;
  }

  /** Progress written by the holder only: a holder that lost the lease must not move the row. */
  async saveProgress(taskId: string, owner: string, progress: TaskProgress, seq: number): Promise<void> {
    await SyncTask.update(
      { phase: progress.phase, processed: progress.processed, total: progress.total, seq },
      { where: { id: taskId, state: "active", leaseOwner: owner } },
    );
  }

  /**
   * Tasks nobody is running that a worker should pick up: active ones whose lease lapsed (their
   * holder died), and queued ones untouched for a lease time (a stream handed them back, or
   * their job was lost). Each answer pushes the task's `updated_at` on, so one task is offered
   * once per lease time rather than to every sweep of every worker.
   */
  async orphans(limit = 100): Promise<Array<{ id: string; userId: string }>> {
    return this.sequelize.query<{ id: string; userId: string }>(
      `UPDATE sync_tasks SET updated_at = now()
       WHERE id IN (
         SELECT id FROM sync_tasks
         WHERE (queue = :queue OR queue IS NULL)
           AND ((state = 'active' AND lease_expires_at <= clock_timestamp() AND updated_at < now() - make_interval(secs => :leaseSeconds))
             OR (state = 'queued' AND updated_at < now() - make_interval(secs => :leaseSeconds)
                 AND (retry_at IS NULL OR retry_at <= now())))
         ORDER BY updated_at LIMIT :limit FOR UPDATE SKIP LOCKED)
       RETURNING id, user_id AS "userId"`,
      {
        replacements: { leaseSeconds: this.leaseMs / 1000, limit, queue: this.queue },
        type: QueryTypes.SELECT,
      },
    );
  }
}
