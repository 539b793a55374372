import type { SyncResult, TaskError, TaskProgress, TaskState } from "../events";
import type {
  ClaimRow,
  SyncTask,
  TaskOptions,
  TaskRepository,
  TaskRunner,
} from "../repositories/task.repository";

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
  | { ok: true; task: SyncTask; options: TaskOptions; takeover: boolean }
  | Extract<ClaimVerdict, { ok: false }>;

export interface EndOutcome {
  result?: SyncResult;
  error?: TaskError;
  progress?: TaskProgress;
  seq: number;
  /** Only for a release: when the queue will run the task again. */
  retryAt?: Date | null;
}

const viewOf = (row: ClaimRow): LeaseView => ({
  state: row.state,
  leaseOwner: row.leaseOwner,
  leaseExpiresAt: row.leaseExpiresAt ? row.leaseExpiresAt.getTime() : null,
});

/**
 * The lease rules above, applied to the `sync_tasks` rows in PostgreSQL. The statements live in
 * core/repositories/task.repository.ts, one method per rule under the rule's name (`claim`,
 * `renew`, `end`, `saveProgress`, `orphans`); the decisions stay here.
 */
export class TaskLease {
  constructor(
    private readonly tasks: TaskRepository,
    /** How long a claim or a renewal holds the task. */
    readonly leaseMs: number,
    /**
     * The queues this process serves (one, or its shards of the sync queue): `orphans` offers only
     * their tasks (and old ones that name none).
     */
    private readonly queue: string | string[],
  ) {}

  /**
   * Claims the task for `holder`: the row is locked, `claimVerdict` decides on the database's
   * clock, and the winner's lease starts. Two claimants at once are serialised by the row lock.
   */
  async claim(taskId: string, holder: LeaseHolder): Promise<ClaimResult> {
    const { verdict, task, options } = await this.tasks.claim(taskId, holder, this.leaseMs, SEQ_SPAN, (row) =>
      claimVerdict(row ? viewOf(row) : null, row ? row.now.getTime() : 0),
    );
    if (!verdict.ok) return verdict;
    // The update ran under the row lock the verdict was read with: it always finds the row.
    if (!task) return { ok: false, reason: "missing" };
    return { ok: true, task, options: options ?? {}, takeover: verdict.takeover };
  }

  /**
   * Extends the holder's lease; answers the new expiry, or null when the lease is lost (`mayRenew`
   * says no: taken over, finished by someone else, or the task deleted).
   */
  renew(taskId: string, owner: string): Promise<Date | null> {
    return this.tasks.renew(taskId, owner, this.leaseMs);
  }

  /**
   * The holder's last word on the task: `completed` or `failed`, or `queued` to hand it back
   * (release). Answers the row as written, or null when the holder no longer held the lease.
   */
  end(
    taskId: string,
    owner: string,
    state: Extract<TaskState, "completed" | "failed" | "queued">,
    outcome: EndOutcome,
  ): Promise<SyncTask | null> {
    return this.tasks.end(taskId, owner, {
      state,
      result: outcome.result ?? null,
      error: outcome.error ?? null,
      seq: outcome.seq,
      // Only a release waits for a retry; a finished task has nothing to wait for.
      retryAt: state === "queued" ? (outcome.retryAt ?? null) : null,
      progress: outcome.progress,
      ...(state !== "queued" ? { finishedAt: new Date() } : {}),
    });
  }

  /** Progress written by the holder only: a holder that lost the lease must not move the row. */
  saveProgress(taskId: string, owner: string, progress: TaskProgress, seq: number): Promise<void> {
    return this.tasks.saveProgress(taskId, owner, progress, seq);
  }

  /**
   * Tasks nobody is running that a worker should pick up: active ones whose lease lapsed (their
   * holder died), and queued ones untouched for a lease time (a stream handed them back, or
   * their job was lost). Each answer pushes the task's `updated_at` on, so one task is offered
   * once per lease time rather than to every sweep of every worker.
   */
  orphans(limit = 100): Promise<Array<{ id: string; userId: string }>> {
    return this.tasks.orphans(this.queue, this.leaseMs, limit);
  }
}
