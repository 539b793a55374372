import type { Emitter } from "@socket.io/redis-emitter";
import { DelayedError, type Job, UnrecoverableError } from "bullmq";
import type { CoreContext } from "../core/context";
import { isTerminal, rooms, type ServerToClientEvents, type TaskSnapshot } from "../core/events";
import { SYNC_JOB_ATTEMPTS, type SyncJobData } from "../core/queue";
import { runSyncTask } from "../core/services/runSyncTask";
import type { GmailQuota } from "../core/sync/RedisQuotaGate";
import type { SyncOptions } from "../core/sync/syncMailbox";
import type { WorkerMetrics } from "./WorkerMetrics";

export interface SyncJobDeps {
  ctx: CoreContext;
  emitter: Emitter<ServerToClientEvents>;
  /** Aborted when the worker is asked to stop: running syncs hand their task back to the queue. */
  shutdown: AbortSignal;
  sync?: SyncOptions;
  /** Gmail quota shared with every other worker; none means unlimited. */
  quota?: GmailQuota;
  /**
   * After this long a sync yields its slot if other syncs are waiting (`othersWaiting`), so one
   * huge mailbox cannot hold a worker for half an hour while small ones queue. 0 = never.
   */
  sliceMs?: number;
  othersWaiting?: () => Promise<boolean>;
  metrics?: WorkerMetrics;
}

/** Why a run stopped early: the worker is stopping, or the run's time slice is over. */
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

/**
 * The `email-sync` job: runs the task's sync and publishes every snapshot three ways — to the
 * job (live state for polling), through Redis to the task's and user's Socket.IO rooms, and
 * (throttled, by TaskRun) to the task row.
 */
/** How often a job whose task another runner holds asks again. */
const CLAIM_RETRY_MS = 30_000;

export function syncMailboxJob(deps: SyncJobDeps) {
  return async (job: Job<SyncJobData>, token?: string): Promise<TaskSnapshot | { skipped: true }> => {
    const { taskId, userId } = job.data;
    const publish = async (snapshot: TaskSnapshot) => {
      deps.emitter.to(rooms.task(taskId)).to(rooms.user(userId)).emit("sync:progress", snapshot);
      await job.updateProgress(snapshot);
    };
    const attempts = job.opts.attempts ?? SYNC_JOB_ATTEMPTS;
    const slice = new AbortController();
    const disarm = armSlice(deps, slice);
    const signal = AbortSignal.any([deps.shutdown, slice.signal]);
    const started = performance.now();
    deps.metrics?.running.inc();
    const outcome = await runSyncTask(deps.ctx, { id: taskId, userId }, "queue", publish, {
      sync: { ...deps.sync, quota: deps.quota?.forUser(userId), signal },
      willRetry: () => signal.aborted || job.attemptsMade + 1 < attempts,
    }).finally(() => {
      disarm();
      deps.metrics?.running.dec();
    });
    deps.metrics?.record(outcome, (performance.now() - started) / 1000);

    if (outcome.status === "claimed-elsewhere") {
      // Finished already, or run right now by the streaming fallback. In the second case the
      // job waits and asks again: should that web node die, the task goes quiet and this job
      // takes it over, instead of the task sitting "active" with nobody running it.
      const task = await deps.ctx.tasks.findById(taskId);
      if (!task || isTerminal(task.state) || !token) return { skipped: true };
      await job.moveToDelayed(Date.now() + CLAIM_RETRY_MS, token);
      throw new DelayedError();
    }
    if (outcome.status === "retrying") {
      if (signal.aborted && token) {
        // Stopping, or yielding the slot, is not the task's fault: hand it back without spending
        // an attempt, behind the syncs that were waiting. Whatever was stored stays, and the next
        // run skips it.
        await job.moveToDelayed(Date.now() + (deps.shutdown.aborted ? 1_000 : 0), token);
        throw new DelayedError();
      }
      throw outcome.error instanceof Error ? outcome.error : new Error(String(outcome.error));
    }
    if (outcome.snapshot.state === "failed") {
      throw new UnrecoverableError(outcome.snapshot.error?.message ?? "sync failed");
    }
    return outcome.snapshot;
  };
}
