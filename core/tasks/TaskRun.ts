import { AppError } from "../errors";
import type { RateLimiter, SyncResult, TaskError, TaskProgress, TaskSnapshot, WaitReason } from "../events";
import type { SyncTask } from "../repositories/task.repository";
import { progressOf, snapshotOf } from "../services/TaskService";
import type { ProgressSink, SyncProgressUpdate, SyncWait } from "../sync/syncMailbox";
import { type EtaPlan, etaAt, RateMeter } from "./eta";
import { LeaseLostError } from "./LeaseKeeper";
import type { TaskLease } from "./TaskLease";

/**
 * Where a run's snapshots go: sockets and the job (worker), or response lines (stream). `userId`
 * is the task row's owner, for the user's room.
 */
export type SnapshotPublisher = (snapshot: TaskSnapshot, userId: string) => void | Promise<void>;

export interface TaskRunOptions {
  /** Least time between two published progress snapshots of one task. Default 100 ms. */
  publishIntervalMs?: number;
  /** Least time between two progress writes to the task row. Default 1 s. */
  persistIntervalMs?: number;
  /** A wait shorter than this is part of the normal pace, not news. Default 2 s. */
  reportWaitsOverMs?: number;
  /** What the remaining work costs and the quota allows, for `etaAt`; none: no estimate. */
  etaPlan?: EtaPlan;
}

/** A rate limit still says what holds the pace this long after its last wait ended. */
const LIMITED_FOR_MS = 2_000;

/**
 * Turns one claimed run of a task into snapshots: throttles progress, persists it, says when the
 * run waits (Gmail's quota, a retry), and writes the final state. Shared by the worker job and the
 * streaming fallback so both tell the same story in the same shape. Every write is the lease
 * holder's: a run that lost its lease writes nothing more (`LeaseLostError`).
 */
export class TaskRun {
  private seq: number;
  private lastPublish = 0;
  private lastPersist = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly base: TaskSnapshot;
  private readonly userId: string;
  private current: SyncProgressUpdate;
  private waiting: { reason: WaitReason; until: number } | null = null;
  /** The last wait a rate limit caused, short ones included: they set the pace. */
  private limited: { by: RateLimiter; until: number } | null = null;
  private readonly meter = new RateMeter();
  /** Units per message the sync has measured for its own plan; the table's get cost until then. */
  private measuredUnits: number | undefined;
  /**
   * The largest total shown while listing or fetching, across runs: a resumed run lists again
   * from 0 and its total regrows, but the mailbox it estimates is as large as before.
   */
  private planTotal: number;
  /** The furthest progress shown so far, across runs of the task: the bar never goes back. */
  private shown: TaskProgress;

  constructor(
    private readonly lease: TaskLease,
    task: SyncTask,
    private readonly owner: string,
    private readonly publish: SnapshotPublisher,
    private readonly options: TaskRunOptions = {},
  ) {
    this.seq = task.seq;
    this.userId = task.userId;
    this.base = snapshotOf(task);
    this.current = { phase: task.phase, processed: task.processed, total: task.total };
    this.shown = progressOf(this.current);
    this.planTotal = task.total;
  }

  /**
   * The current progress, never behind what was shown: a resumed run starts by listing (0%)
   * and a total that grows as the listing streams would otherwise pull the bar back.
   */
  private progressNow(): TaskProgress {
    const now = progressOf(this.current);
    if (now.percent < this.shown.percent) {
      now.percent = this.shown.percent;
      now.processed = Math.max(
        now.processed,
        Math.min(this.shown.processed, now.total || this.shown.processed),
      );
    }
    this.shown = now;
    return now;
  }

  get taskId(): string {
    return this.base.taskId;
  }

  /** Publishes the claimed state (`active`, with the progress stored so far). */
  async start(): Promise<void> {
    await this.publish(this.snapshot(), this.userId);
  }

  private snapshot(overrides: Partial<TaskSnapshot> = {}): TaskSnapshot {
    const waiting = this.waiting ? { waiting: this.waiting.reason, retryAt: this.waiting.until } : {};
    const now = Date.now();
    const progress = this.progressNow();
    return {
      ...this.base,
      progress,
      ...waiting,
      ...this.pace(progress, now),
      ...overrides,
      at: now,
      seq: ++this.seq,
    };
  }

  /**
   * Rate, what limits it, and the estimate, from the progress shown (the bar's own numbers, so a
   * resumed run's estimate starts where its bar does, not from a listing at 0).
   */
  private pace(
    progress: TaskProgress,
    now: number,
  ): Pick<TaskSnapshot, "rate" | "rateLimitedBy" | "etaAt" | "unitsPerMessage"> {
    this.meter.observe(progress.processed, now);
    const limited = this.limited && now <= this.limited.until + LIMITED_FOR_MS ? this.limited.by : null;
    const pace: Pick<TaskSnapshot, "rate" | "rateLimitedBy" | "etaAt" | "unitsPerMessage"> = {
      rate: this.waiting ? 0 : Math.round((this.meter.rate ?? 0) * 100) / 100,
      rateLimitedBy: limited,
    };
    const plan = this.options.etaPlan;
    if (!plan) return pace;
    const unitsPerMessage = this.measuredUnits ?? plan.unitsPerMessage;
    pace.unitsPerMessage = unitsPerMessage;
    const walking = progress.phase === "listing" || progress.phase === "fetching";
    if (walking) this.planTotal = Math.max(this.planTotal, progress.total);
    const eta = etaAt(unitsPerMessage === plan.unitsPerMessage ? plan : { ...plan, unitsPerMessage }, {
      now,
      left: (walking ? this.planTotal : progress.total) - progress.processed,
      workRemains: progress.phase !== "done",
      // Without a quota limit the observed pace is all there is, however young.
      observedRate: this.waiting
        ? undefined
        : (this.meter.trusted ?? (plan.userUnitsPerSecond > 0 ? undefined : this.meter.rate)),
      pausedUntil: this.waiting?.until,
    });
    if (eta !== undefined) pace.etaAt = eta;
    return pace;
  }

  /** The sink handed to `syncMailbox`. */
  readonly progress: ProgressSink = async (update) => {
    const phaseChanged = update.phase !== this.current.phase;
    this.current = update;
    if (update.unitsPerMessage !== undefined) this.measuredUnits = update.unitsPerMessage;
    // Progress means the wait is over.
    const waitEnded = this.waiting !== null;
    this.waiting = null;
    const interval = this.options.publishIntervalMs ?? 100;
    const now = Date.now();
    if (phaseChanged || waitEnded || now - this.lastPublish >= interval) {
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

  /**
   * The wait hook handed to `syncMailbox`: a long wait is published at once, with its end. Every
   * wait a rate limit causes, short ones included, says what holds the pace.
   */
  readonly wait = (wait: SyncWait): void => {
    if (wait.limitedBy) this.limited = { by: wait.limitedBy, until: wait.until };
    if (wait.until - Date.now() < (this.options.reportWaitsOverMs ?? 2_000)) return;
    this.waiting = {
      reason: wait.limitedBy === "daily_budget" ? "daily_budget" : wait.reason,
      until: wait.until,
    };
    // The pause is counted in the estimate by its end, not as a slow stretch of the rate.
    this.meter.pause();
    this.stopTimer();
    void this.flushProgress().catch(() => {});
  };

  private async flushProgress(): Promise<void> {
    this.lastPublish = Date.now();
    const snapshot = this.snapshot();
    await this.publish(snapshot, this.userId);
    if (Date.now() - this.lastPersist >= (this.options.persistIntervalMs ?? 1_000)) {
      this.lastPersist = Date.now();
      await this.lease.saveProgress(this.taskId, this.owner, snapshot.progress, snapshot.seq);
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

  /**
   * The run stopped, but the task goes on: it waits, queued, with its progress. `retryAt` says
   * when the queue runs it again after a failed attempt; a release without one (the node is
   * stopping, the time slice is over) spends no attempt and runs as soon as a runner is free.
   */
  release(error?: unknown, retryAt?: number): Promise<TaskSnapshot> {
    return this.end("queued", {
      error: error === undefined ? undefined : taskErrorOf(error),
      retryAt: retryAt ? new Date(retryAt) : null,
    });
  }

  /** Writes the run's last state to the row and publishes it, after any pending progress. */
  private async end(
    state: "completed" | "failed" | "queued",
    outcome: { result?: SyncResult; error?: TaskError; retryAt?: Date | null },
  ): Promise<TaskSnapshot> {
    this.stopTimer();
    this.waiting = null;
    const seq = this.seq + 1;
    const task = await this.lease.end(this.taskId, this.owner, state, {
      ...outcome,
      progress: this.progressNow(),
      seq,
    });
    if (!task) throw new LeaseLostError(this.taskId);
    // snapshotOf shows `error` only for a failed task: a released one keeps it in the row alone.
    const snapshot = snapshotOf(task, { seq });
    if (state === "queued" && outcome.retryAt) {
      // Parked until the project's day resets is not a failed attempt: it says so.
      const parked = outcome.error?.code === "daily_budget";
      snapshot.waiting = parked ? "daily_budget" : "retry";
      if (parked) snapshot.rateLimitedBy = "daily_budget";
      snapshot.retryAt = outcome.retryAt.getTime();
    }
    this.seq = snapshot.seq;
    await this.publish(snapshot, this.userId);
    return snapshot;
  }
}

/** What a user may read about a failure: our own codes verbatim, anything else generically. */
export function taskErrorOf(error: unknown): TaskError {
  if (error instanceof AppError) return { code: error.code, message: error.message };
  return { code: "sync_failed", message: "The sync failed unexpectedly. Try again in a moment." };
}
