import type { CoreContext } from "../context";
import type { TaskRunner } from "../db/models/SyncTask";
import { ReauthRequiredError } from "../errors";
import type { TaskSnapshot } from "../events";
import { PostgresMailStore } from "../sync/PostgresMailStore";
import { type SyncOptions, syncMailbox } from "../sync/syncMailbox";
import { type SnapshotPublisher, TaskRun, type TaskRunOptions } from "./TaskRun";

export interface RunSyncTaskOptions extends TaskRunOptions {
  sync?: SyncOptions;
  /**
   * Decides whether a failure ends the task or leaves it queued for another attempt. The queue
   * worker says yes while attempts remain; the streaming fallback never retries.
   */
  willRetry?: (error: unknown) => boolean;
}

export type RunSyncOutcome =
  | { status: "claimed-elsewhere" }
  | { status: "finished"; snapshot: TaskSnapshot }
  | { status: "retrying"; snapshot: TaskSnapshot; error: unknown };

/**
 * Runs one sync task from claim to final state: the Gmail client for its user, the PostgreSQL
 * store, and `syncMailbox` with a sink that publishes wherever the caller says.
 */
export async function runSyncTask(
  ctx: CoreContext,
  task: { id: string; userId: string },
  runner: TaskRunner,
  publish: SnapshotPublisher,
  options: RunSyncTaskOptions = {},
): Promise<RunSyncOutcome> {
  const run = new TaskRun(ctx.tasks, task.id, publish, options);
  if (!(await run.start(runner))) return { status: "claimed-elsewhere" };
  const log = ctx.logger.child({ taskId: task.id, userId: task.userId, runner });
  const started = Date.now();
  try {
    const gmail = await ctx.accounts.gmailFor(task.userId);
    const store = new PostgresMailStore(ctx.sequelize, task.userId);
    const { historyId: _h, ...result } = await syncMailbox(gmail, store, run.progress, options.sync);
    log.info({ result, ms: Date.now() - started }, "sync completed");
    return { status: "finished", snapshot: await run.complete(result) };
  } catch (error) {
    if (error instanceof ReauthRequiredError) {
      await ctx.accounts.markReauthRequired(task.userId);
      log.warn("sync failed: Gmail grant revoked or expired");
      return { status: "finished", snapshot: await run.fail(error) };
    }
    if (options.willRetry?.(error)) {
      log.warn({ err: error }, "sync attempt failed; the queue will retry");
      return { status: "retrying", snapshot: await run.requeue(error), error };
    }
    log.error({ err: error }, "sync failed");
    return { status: "finished", snapshot: await run.fail(error) };
  }
}
