import { setTimeout as sleep } from "node:timers/promises";
import type { CoreContext } from "../context";
import { DailyBudgetSpentError, ReauthRequiredError } from "../errors";
import { isTerminal, type TaskSnapshot } from "../events";
import type { QuotaGate } from "../sync/QuotaGate";
import { type SyncOptions, syncMailbox } from "../sync/syncMailbox";
import { LeaseKeeper, LeaseLostError } from "./LeaseKeeper";
import { claimVerdict, type LeaseHolder, type TaskLease } from "./TaskLease";
import { type SnapshotPublisher, TaskRun, type TaskRunOptions } from "./TaskRun";
import type { TaskStatus } from "./TaskStatus";

export interface DriveOptions extends TaskRunOptions {
  sync?: Omit<SyncOptions, "signal" | "quota" | "onWait">;
  /** The Gmail quota gate for the task's user; none means unlimited. */
  quotaFor?: (userId: string) => QuotaGate | undefined;
  /** Aborted when the runner must stop (its process is stopping, its time slice is over). */
  signal?: AbortSignal;
  /**
   * After a failed attempt: when the task runs again (ms since the epoch), or null when this
   * failure ends it. The queue says "after its backoff" while attempts remain; a stream, never.
   */
  retryAt?: (error: unknown) => number | null;
}

export type DriveOutcome =
  /** Another runner holds a live lease until `until`. */
  | { status: "held"; until: number }
  /** Finished already, or deleted with its account: nothing to do. */
  | { status: "gone" }
  | { status: "finished"; snapshot: TaskSnapshot }
  /** Handed back as queued because `signal` aborted: no attempt spent. */
  | { status: "released"; snapshot: TaskSnapshot }
  /**
   * A first sync met the project's daily budget: the task waits, queued, until `until` (Google's
   * reset) with no attempt spent, and resumes its listing where it stopped.
   */
  | { status: "parked"; snapshot: TaskSnapshot; until: number }
  /** The attempt failed; the task waits, queued, until `retryAt`. */
  | { status: "retrying"; snapshot: TaskSnapshot; error: unknown }
  /** The lease was lost mid-run (taken over, or the task deleted): this run stopped and wrote nothing more. */
  | { status: "lost" };

/** How often a stream that follows another runner's task reads its state. */
const FOLLOW_POLL_MS = 500;

/**
 * Runs sync tasks under their lease, the same way for both runners: a worker's job and a web
 * node's stream. It claims the task (`TaskLease`), keeps the lease alive (`LeaseKeeper`), runs
 * `syncMailbox` for the user the task row names, and writes the run's end as the lease holder.
 * It knows nothing of HTTP, queues or sockets: the caller says where snapshots go.
 */
export class TaskDriver {
  constructor(
    private readonly ctx: Pick<CoreContext, "accounts" | "logger" | "repos">,
    private readonly lease: TaskLease,
  ) {}

  /** One run: claim, sync, end. Answers why it stopped. */
  async run(
    taskId: string,
    holder: LeaseHolder,
    publish: SnapshotPublisher,
    options: DriveOptions = {},
  ): Promise<DriveOutcome> {
    const claimedAt = Date.now();
    const claim = await this.lease.claim(taskId, holder);
    if (!claim.ok)
      return claim.reason === "held" ? { status: "held", until: claim.until } : { status: "gone" };
    const { task } = claim;
    // The user comes from the claimed row, never from a job payload or a request.
    const { userId } = task;
    const log = this.ctx.logger.child({ taskId, userId, runner: holder.runner });
    if (claim.takeover) log.info("took over a task whose previous holder stopped renewing its lease");

    const keeper = new LeaseKeeper(taskId, {
      renew: () => this.lease.renew(taskId, holder.owner),
      claimedAt,
      leaseMs: this.lease.leaseMs,
    });
    const signal = options.signal ? AbortSignal.any([keeper.signal, options.signal]) : keeper.signal;
    const run = new TaskRun(this.lease, task, holder.owner, publish, options);
    const started = Date.now();
    try {
      await run.start();
      const gmail = await this.ctx.accounts.gmailFor(userId);
      const store = this.ctx.repos.emailsOf(userId);
      // What the task was asked to sync (POST /api/emails/sync's body, or "what the mirror
      // covers now" for a sync nobody chose for); a caller's scope wins.
      const stored = claim.options;
      const scope =
        options.sync?.scope ??
        (stored.current ? "current" : { newerThanDays: stored.newerThanDays, labelIds: stored.labelIds });
      const quota = options.quotaFor?.(userId);
      const {
        historyId: _h,
        fullBecause,
        gmailTotal,
        ...result
      } = await syncMailbox(gmail, store, run.progress, {
        ...options.sync,
        scope,
        // A completeness check lists the mirror's whole scope again rather than replaying history.
        forceFull: stored.check === true || options.sync?.forceFull,
        quota,
        // The listing is the task's: a later run of this task (a time slice, a takeover) resumes it.
        listingKey: taskId,
        signal,
        onWait: run.wait,
      });
      log.info({ result, fullBecause, ms: Date.now() - started }, "sync completed");
      // A finished first sync stops competing for the day's first-sync budget: what it did not
      // spend of its fair share goes to the users still running.
      if (result.mode === "full") await quota?.fullSyncEnded?.();
      const snapshot = await run.complete(result);
      // For the account's health view; the sync itself is done whether or not this is written.
      await this.ctx.repos.health
        .syncFinished(userId, {
          mode: result.mode,
          fullBecause: stored.check ? "check" : fullBecause,
          gmailTotal,
          check: stored.check ? { taskId, missing: result.added, extra: result.deleted } : undefined,
        })
        .catch((err: unknown) => log.warn({ err }, "could not record the sync for the account's health"));
      // A full sync drops its listing itself; an incremental one may follow a run that died
      // between saving the cursor and dropping it, and drops what that run left.
      if (result.mode !== "full") await this.forgetListing(userId, taskId, log);
      return { status: "finished", snapshot };
    } catch (error) {
      return await this.afterFailure(error, run, keeper, userId, taskId, log, options);
    } finally {
      keeper.stop();
    }
  }

  /** A finished task leaves no listing behind. */
  private async forgetListing(userId: string, taskId: string, log: CoreContext["logger"]): Promise<void> {
    await this.ctx.repos
      .emailsOf(userId)
      .listing(taskId)
      .clear()
      .catch((err: unknown) => log.warn({ err }, "could not clear the task's listing"));
  }

  private async afterFailure(
    error: unknown,
    run: TaskRun,
    keeper: LeaseKeeper,
    userId: string,
    taskId: string,
    log: CoreContext["logger"],
    options: DriveOptions,
  ): Promise<DriveOutcome> {
    try {
      if (keeper.signal.aborted || error instanceof LeaseLostError) {
        log.warn("lost the task's lease; its new holder carries on");
        return { status: "lost" };
      }
      if (error instanceof ReauthRequiredError) {
        await this.ctx.accounts.markReauthRequired(userId);
        log.warn("sync failed: Gmail grant revoked or expired");
        const snapshot = await run.fail(error);
        await this.forgetListing(userId, taskId, log);
        return { status: "finished", snapshot };
      }
      if (options.signal?.aborted) {
        log.info("run stopped; the task goes back to the queue");
        return { status: "released", snapshot: await run.release() };
      }
      if (error instanceof DailyBudgetSpentError) {
        log.info({ until: error.until }, "first sync parked until the daily quota resets");
        return { status: "parked", snapshot: await run.release(error, error.until), until: error.until };
      }
      const retryAt = options.retryAt?.(error) ?? null;
      if (retryAt !== null) {
        log.warn({ err: error, retryAt }, "sync attempt failed; it will be retried");
        return { status: "retrying", snapshot: await run.release(error, retryAt), error };
      }
      log.error({ err: error }, "sync failed");
      const snapshot = await run.fail(error);
      await this.forgetListing(userId, taskId, log);
      return { status: "finished", snapshot };
    } catch (endError) {
      if (endError instanceof LeaseLostError) return { status: "lost" };
      throw endError;
    }
  }

  /**
   * The streaming fallback's whole life: run the task here; while another runner holds it,
   * follow it (every snapshot goes to `publish`) and take it over if that runner's lease lapses.
   * Ends when the task has finished, or when `signal` aborts (the client left, the node stops).
   */
  async stream(
    taskId: string,
    holder: LeaseHolder,
    publish: SnapshotPublisher,
    status: TaskStatus,
    options: DriveOptions & { signal: AbortSignal },
  ): Promise<DriveOutcome> {
    for (;;) {
      const outcome = await this.run(taskId, holder, publish, options);
      if (outcome.status !== "held" && outcome.status !== "lost") return outcome;
      if (!(await this.follow(taskId, publish, status, options.signal))) return outcome;
    }
  }

  /**
   * Publishes another runner's snapshots until the task can be claimed (answers true) or has
   * finished, or `signal` aborts (false).
   */
  private async follow(
    taskId: string,
    publish: SnapshotPublisher,
    status: TaskStatus,
    signal: AbortSignal,
  ): Promise<boolean> {
    let lastSeq = -1;
    let lastWaiting: string | undefined;
    while (!signal.aborted) {
      const row = await this.ctx.repos.tasks.findById(taskId);
      if (!row) return false;
      const snapshot = await status.snapshot(row);
      if (snapshot.seq !== lastSeq || snapshot.waiting !== lastWaiting) {
        lastSeq = snapshot.seq;
        lastWaiting = snapshot.waiting;
        await publish(snapshot, row.userId);
      }
      if (isTerminal(row.state)) return false;
      const verdict = claimVerdict(
        {
          state: row.state,
          leaseOwner: row.leaseOwner,
          leaseExpiresAt: row.leaseExpiresAt?.getTime() ?? null,
        },
        Date.now(),
      );
      if (verdict.ok) return true;
      await sleep(FOLLOW_POLL_MS, undefined, { signal }).catch(() => {});
    }
    return false;
  }
}
