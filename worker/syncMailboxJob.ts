import { DelayedError, type Job, UnrecoverableError } from "bullmq";
import type { CoreContext } from "../core/context";
import { publishSnapshot, type ServerToClientEvents, type TaskSnapshot } from "../core/events";
import { retryDelayMs, SYNC_JOB_ATTEMPTS, type SyncJobData } from "../core/queue";
import type { GmailQuotaBudget } from "../core/sync/RedisQuotaBudget";
import type { EtaPlan } from "../core/tasks/eta";
import type { RunnerSyncOptions } from "../core/tasks/syncOptionsFor";
import type { RoomEmitter } from "./ShardedEmitter";
import type { WorkerMetrics } from "./WorkerMetrics";

export interface SyncJobDeps {
  ctx: CoreContext;
  /** @socket.io/redis-emitter on a single Redis, worker/ShardedEmitter.ts on a cluster. */
  emitter: RoomEmitter<ServerToClientEvents>;
  /** This worker process's id; each job run holds the task's lease under `<workerId>:<job token>`. */
  workerId: string;
  /** Aborted when the worker is asked to stop: running syncs hand their task back to the queue. */
  shutdown: AbortSignal;
  /** The deployment's sync settings (syncOptionsFor), and a test's own. */
  sync?: RunnerSyncOptions;
  /** Gmail quota shared with every other worker; none means unlimited. */
  quota?: GmailQuotaBudget;
  /**
   * After this long a sync yields its slot if other syncs are waiting (`othersWaiting`), so one
   * huge mailbox cannot hold a worker for half an hour while small ones queue. 0 = never.
   */
  sliceMs?: number;
  othersWaiting?: () => Promise<boolean>;
  metrics?: WorkerMetrics;
  /** What a sync's remaining work costs in quota, for the snapshots' `etaAt`. */
  etaPlan?: EtaPlan;
}

/** Why a run stopped early: the run's time slice is over and others are waiting. */
class TimeSliceOver extends Error {
  constructor() {
    super("time slice over: other syncs are waiting");
    this.name = "TimeSliceOver";
  }
}

/** Aborts `controller` once the slice is over and others are waiting; checks again otherwise. */
function armSlice(deps: SyncJobDeps, controller: AbortController): () => void {
  const { sliceMs, othersWaiting } = deps;
  if (!sliceMs || !othersWaiting) return () => {};
  let timer: NodeJS.Timeout;
  const check = async () => {
    if (controller.signal.aborted) return;
    if (await othersWaiting().catch(() => false)) controller.abort(new TimeSliceOver());
    else timer = setTimeout(check, sliceMs);
  };
  timer = setTimeout(check, sliceMs);
  return () => clearTimeout(timer);
}

/** A job that finds its task held by a live runner asks again just after that lease would lapse. */
const HELD_RECHECK_MARGIN_MS = 250;

/**
 * The `email-sync` job: runs the task through the driver and publishes every snapshot two ways,
 * to the job (live state for polling) and through Redis to the task's and user's Socket.IO rooms;
 * the driver's TaskRun writes the row. Who may run the task is the lease's decision alone.
 */
export function syncMailboxJob(deps: SyncJobDeps) {
  return async (job: Job<SyncJobData>, token?: string): Promise<TaskSnapshot | { skipped: true }> => {
    const { taskId } = job.data;
    const publish = async (snapshot: TaskSnapshot, userId: string) => {
      publishSnapshot(deps.emitter, userId, snapshot);
      await job.updateProgress(snapshot);
    };
    const attempts = job.opts.attempts ?? SYNC_JOB_ATTEMPTS;
    const slice = new AbortController();
    const disarm = armSlice(deps, slice);
    const signal = AbortSignal.any([deps.shutdown, slice.signal]);
    const started = performance.now();
    deps.metrics?.running.inc();
    const outcome = await deps.ctx.driver
      .run(taskId, { owner: `${deps.workerId}:${token ?? job.id}`, runner: "queue" }, publish, {
        sync: deps.sync,
        quotaFor: (userId) => deps.quota?.forUser(userId),
        etaPlan: deps.etaPlan,
        signal,
        retryAt: () =>
          job.attemptsMade + 1 < attempts ? Date.now() + retryDelayMs(job.attemptsMade + 1) : null,
      })
      .finally(() => {
        disarm();
        deps.metrics?.running.dec();
      });
    deps.metrics?.record(outcome, (performance.now() - started) / 1000);

    switch (outcome.status) {
      case "gone":
      case "lost":
        // Finished already, deleted, or taken over by a runner that carries on.
        return { skipped: true };
      case "held":
        // A live runner (a stream) has it. Ask again once its lease could have lapsed: should
        // that runner die, this job takes the task over within one lease time.
        if (!token) return { skipped: true };
        await job.moveToDelayed(outcome.until + HELD_RECHECK_MARGIN_MS, token);
        throw new DelayedError();
      case "released":
        // Stopping, or yielding the slot, is not the task's fault: hand it back without spending
        // an attempt, behind the syncs that were waiting. The next run skips what is stored.
        if (!token) return { skipped: true };
        await job.moveToDelayed(Date.now() + (deps.shutdown.aborted ? 1_000 : 0), token);
        throw new DelayedError();
      case "parked":
        // The day's budget is spent for first syncs: the job sleeps in BullMQ's delayed set until
        // Google's reset, holding no worker slot, and spends no attempt.
        if (!token) return { skipped: true };
        await job.moveToDelayed(outcome.until, token);
        throw new DelayedError();
      case "retrying":
        // BullMQ's backoff runs it again at the `retryAt` the task row already shows.
        throw outcome.error instanceof Error ? outcome.error : new Error(String(outcome.error));
      case "finished":
        if (outcome.snapshot.state === "failed") {
          throw new UnrecoverableError(outcome.snapshot.error?.message ?? "sync failed");
        }
        return outcome.snapshot;
    }
  };
}
