/** What the maintenance worker runs for each job name (the schedules are set in worker/maintenance.ts). */
import { randomUUID } from "node:crypto";
import { DelayedError, type Job } from "bullmq";
import type { CoreContext } from "../core/context";
import type { GmailWatch } from "../core/gmail/watch";
import {
  CHECK_SCHEDULER,
  type MaintenanceQueue,
  PURGE_SCHEDULER,
  PUSH_SYNC_JOB,
  priorityOf,
  SCHEDULED_SYNC_JOB,
  type ScheduleJobData,
  SYNC_SCHEDULER,
  type SyncQueue,
  type UserJobData,
  WATCH_RENEW_SCHEDULER,
} from "../core/queue";
import { CHECK_REQUEST } from "../core/services/AccountHealthService";
import { SyncInProgressError } from "../core/services/TaskService";

/** Most a scheduled sync waits past its run, so a whole schedule does not start in one instant. */
const MAX_JITTER_MS = 5 * 60_000;
const SCHEDULE_PAGE = 500;

/** What the jobs need: the core, both queues, the watch service and the live-sync timings. */
export interface MaintenanceJobDeps {
  ctx: CoreContext;
  queue: MaintenanceQueue;
  syncQueue: SyncQueue;
  watch: GmailWatch;
  debounceMs: number;
  /** The schedule's period; null when push is on or the schedule is off. */
  scheduleEveryMs: number | null;
}

/** The per-user jobs: a debounced sync after pushes, and a scheduled incremental sync. */
function userSyncJobs({ ctx, queue, syncQueue, debounceMs }: MaintenanceJobDeps) {
  /** Creates the user's sync task (or joins the queued one) and makes sure a worker will take it. */
  const requestSync = async (userId: string) => {
    const { task, joined, incremental } = await ctx.tasks.createOrJoin(userId, "queue");
    const priority = priorityOf(incremental);
    const data = { taskId: task.id, userId };
    if (joined) await syncQueue.ensureJob(data, priority);
    else await syncQueue.enqueue(data, priority);
    return { task, joined };
  };

  /** Whether the user's account is one we sync (a push may name a disconnected one). */
  const connected = async (userId: string) =>
    (await ctx.accounts.findAccount(userId))?.status === "connected";

  const pushSync = async (job: Job<UserJobData>, token: string | undefined) => {
    const { userId } = job.data;
    const open = await ctx.tasks.openTaskOf(userId);
    // A running sync may have read Gmail's history before the pushed change: wait for its end.
    if (open?.state === "active" && token) {
      const recheckMs = Math.max(500, debounceMs);
      await queue.keepArmed(userId, recheckMs);
      await job.moveToDelayed(Date.now() + recheckMs, token);
      throw new DelayedError();
    }
    if (!(await queue.takePushes(userId))) return { skipped: "covered" };
    if (!(await connected(userId))) return { skipped: "not_connected" };
    try {
      const { task, joined } = await requestSync(userId);
      // It started between our look and our join: its history read may predate the pushes.
      if (joined && task.state === "active") await queue.returnPushes(userId, debounceMs);
      return { taskId: task.id, joined };
    } catch (err) {
      await queue.returnPushes(userId, debounceMs).catch(() => {});
      throw err;
    }
  };

  const scheduledSync = async (job: Job<UserJobData>) => {
    const { userId } = job.data;
    // A sync already queued or running keeps this account current: the schedule never piles up.
    if (await ctx.tasks.openTaskOf(userId)) return { skipped: "open_task" };
    if (!(await connected(userId))) return { skipped: "not_connected" };
    const { task } = await requestSync(userId);
    return { taskId: task.id };
  };

  return { pushSync, scheduledSync };
}

/** One schedule run: each recently active account gets a `scheduled-sync` at a jittered moment. */
function scheduleRunner({ ctx, queue, scheduleEveryMs }: MaintenanceJobDeps) {
  const { config, logger } = ctx;
  return async (job: Job<Partial<ScheduleJobData>>) => {
    const everyMs = job.data?.everyMs ?? scheduleEveryMs;
    if (!everyMs) return { skipped: "off" };
    if (!(await queue.claimScheduleRun(everyMs))) return { skipped: "not_due" };
    const since = new Date(Date.now() - config.liveSync.activeDays * 86_400_000);
    const jitterMs = Math.min(everyMs / 2, MAX_JITTER_MS);
    const runId = randomUUID().slice(0, 8);
    let after: string | null = null;
    let scheduled = 0;
    for (;;) {
      const users = await ctx.repos.accounts.recentlyActive(config.queuePrefix, since, after, SCHEDULE_PAGE);
      if (users.length === 0) break;
      await queue.scheduleSyncs(
        users.map((userId) => ({ userId, delayMs: Math.floor(Math.random() * jitterMs) })),
        runId,
      );
      scheduled += users.length;
      after = users.at(-1)!;
    }
    if (scheduled) logger.info({ scheduled }, "scheduled incremental syncs for recently active accounts");
    return { scheduled };
  };
}

/**
 * Most checks one hourly run starts: after a deploy every account is due at once, and the checks
 * then spread over the hours (each is about 1 quota unit per 100 messages, paced by the gate).
 */
export const MAX_CHECKS_PER_RUN = 500;

/**
 * One `check-schedule` run: each account whose last completeness check is older than
 * COMPLETENESS_CHECK_DAYS gets one, as a queued task of its own (low priority, like a first sync).
 * An account with a task open is left for a later run.
 */
function checkRunner({ ctx, syncQueue }: MaintenanceJobDeps) {
  const { config, logger } = ctx;
  return async () => {
    const days = config.liveSync.checkEveryDays;
    if (!days) return { skipped: "off" };
    const before = new Date(Date.now() - days * 86_400_000);
    let after: string | null = null;
    let started = 0;
    while (started < MAX_CHECKS_PER_RUN) {
      const due = await ctx.repos.accounts.checksDue(config.queuePrefix, before, after, SCHEDULE_PAGE);
      if (due.length === 0) break;
      for (const userId of due.slice(0, MAX_CHECKS_PER_RUN - started)) {
        try {
          const { task, joined } = await ctx.tasks.createOrJoin(userId, "queue", CHECK_REQUEST);
          const data = { taskId: task.id, userId };
          if (joined) await syncQueue.ensureJob(data, priorityOf(false));
          else await syncQueue.enqueue(data, priorityOf(false));
          started++;
        } catch (err) {
          // A sync opened since the query: this account waits for the next run.
          if (!(err instanceof SyncInProgressError)) throw err;
        }
      }
      after = due.at(-1)!;
    }
    if (started) logger.info({ started }, "started completeness checks");
    return { started };
  };
}

/** The worker's processor: runs the job its name names; an unknown name answers null. */
export function maintenanceJobs(deps: MaintenanceJobDeps) {
  const { ctx, watch } = deps;
  const { logger } = ctx;
  const { pushSync, scheduledSync } = userSyncJobs(deps);
  const scheduleRun = scheduleRunner(deps);
  const checkRun = checkRunner(deps);
  return async (job: Job, token?: string) => {
    switch (job.name) {
      case PURGE_SCHEDULER: {
        const purged = await ctx.sessions.purgeExpired();
        if (purged.sessions || purged.tokens) logger.info(purged, "purged expired sessions and tokens");
        // The change feed's retention (CHANGE_FEED_RETENTION_DAYS) rides on the same schedule.
        const changes = await ctx.changes.prune();
        if (changes) logger.info({ changes }, "pruned the change feed");
        return { ...purged, changes };
      }
      case WATCH_RENEW_SCHEDULER: {
        const report = await watch.renewLapsing();
        if (report.renewed || report.failed) logger.info(report, "renewed gmail watches");
        return report;
      }
      case SYNC_SCHEDULER:
        return scheduleRun(job);
      case CHECK_SCHEDULER:
        return checkRun();
      case PUSH_SYNC_JOB:
        return pushSync(job as Job<UserJobData>, token);
      case SCHEDULED_SYNC_JOB:
        return scheduledSync(job as Job<UserJobData>);
      default:
        return null;
    }
  };
}
