import { randomUUID } from "node:crypto";
import { Router } from "express";
import { publishSnapshot, type TaskSnapshot } from "../../../../core/contract";
import { NotFoundError } from "../../../../core/errors";
import type { TaskOptions } from "../../../../core/repositories/task.repository";
import type { SyncRequest } from "../../../../core/services/TaskService";
import { etaPlanOf } from "../../../../core/tasks/eta";
import { syncOptionsFor } from "../../../../core/tasks/syncOptionsFor";
import { userIdOf } from "../../../middleware/authenticate";
import { inputOf, validate } from "../../../middleware/validate";
import type { WebContext } from "../../../WebContext";
import { startSync, streamSync, syncStatus } from "./schema";

const statusUrl = (taskId: string) => `/api/emails/sync/status/${taskId}`;

/**
 * A body that chooses nothing (none, or `{}`) is the whole mailbox and joins whatever is open; a
 * choice joins only an open task with the same choice.
 */
const chosen = (body: TaskOptions): SyncRequest =>
  body.newerThanDays === undefined && body.labelIds === undefined
    ? { options: {}, strict: false }
    : { options: body, strict: true };

/** What the sync routes report to this node's metrics. */
export interface SyncRouteMetrics {
  /** One batch request of a streamed sync refused as absent (404, 405, 501). */
  countBatchFallback?: (status: number) => void;
}

export function syncRoutes(ctx: WebContext, metrics: SyncRouteMetrics = {}): Router {
  const router = Router();

  router.post("/emails/sync", validate(startSync), async (req, res) => {
    const { task, joined, options } = await ctx.dispatcher.request(
      userIdOf(req),
      chosen(inputOf(req, startSync).body),
    );
    res
      .status(202)
      .json({ taskId: task.id, state: task.state, statusUrl: statusUrl(task.id), joined, options });
  });

  router.get("/emails/sync/status/:taskId", validate(syncStatus), async (req, res) => {
    const task = await ctx.tasks.findForUser(userIdOf(req), inputOf(req, syncStatus).params.taskId);
    if (!task) throw new NotFoundError("task");
    res.json(await ctx.status.snapshot(task));
  });

  /**
   * The fallback for when no worker can take the task: the same sync runs inside this request,
   * under the task's lease, and every snapshot is one NDJSON line. While another runner holds the
   * user's task the stream follows it, and takes it over should that runner's lease lapse.
   */
  router.post("/emails/sync/stream", validate(streamSync), async (req, res) => {
    const userId = userIdOf(req);
    // `?taskId=` takes over that task (a client whose worker died) and never starts another.
    const input = inputOf(req, streamSync);
    const wanted = input.query.taskId;
    const task =
      wanted === undefined
        ? (await ctx.tasks.createOrJoin(userId, "stream", chosen(input.body))).task
        : await ctx.tasks.findForUser(userId, wanted);
    if (!task) throw new NotFoundError("task");
    res.status(200).set({
      "Content-Type": "application/x-ndjson; charset=utf-8",
      "X-Accel-Buffering": "no",
      "X-Task-Id": task.id,
    });
    res.flushHeaders();
    const closed = new AbortController();
    res.on("close", () => closed.abort());
    // Without Redis there is no other node to signal, and Socket.IO's in-memory adapter warns on
    // every server-side emit: this node's sockets alone.
    const io = ctx.io;
    const via = io && !ctx.redis ? { to: (room: string | string[]) => io.to(room) } : io;
    const write = (snapshot: TaskSnapshot) => {
      if (!closed.signal.aborted) res.write(`${JSON.stringify(snapshot)}\n`);
      publishSnapshot(via, userId, snapshot);
      // Socket.IO's server-side emit reaches the other nodes only: this node's followers too.
      ctx.changeSignal.notify(userId);
    };

    const run = ctx.driver.stream(
      task.id,
      { owner: `${ctx.nodeId}:${randomUUID().slice(0, 8)}`, runner: "stream" },
      write,
      ctx.status,
      {
        quotaFor: (id) => ctx.quota?.forUser(id),
        etaPlan: etaPlanOf(ctx.config.gmailQuotaTable),
        // The same settings as a worker's.
        sync: syncOptionsFor(ctx.config, { logger: ctx.logger, count: metrics.countBatchFallback }),
        // The client left, or this node is stopping: the task goes back to "queued", and a
        // worker (or the client's next stream) resumes it where it stopped.
        signal: AbortSignal.any([closed.signal, ctx.shutdown]),
      },
    );
    ctx.streams.add(run);
    try {
      const outcome = await run;
      // A task that had already finished: its last state is the stream's one line.
      if (outcome.status === "gone") {
        const row = await ctx.tasks.findById(task.id);
        if (row) write(await ctx.status.snapshot(row));
      }
      // The project's daily budget parked it: the last line said `waiting: "daily_budget"` and
      // `retryAt`, and the stream ends rather than hold a request open for hours. A worker
      // resumes it at the reset, or the client's stream does (docs/quota.md).
      if (outcome.status === "parked")
        await ctx.dispatcher.resumeAt({ taskId: task.id, userId }, outcome.until);
    } finally {
      ctx.streams.delete(run);
    }
    res.end();
  });

  return router;
}
