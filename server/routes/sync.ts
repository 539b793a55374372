import { setTimeout as sleep } from "node:timers/promises";
import { type Request, type Response, Router } from "express";
import type { SyncTask } from "../../core/db/models/SyncTask";
import { NotFoundError } from "../../core/errors";
import { isTerminal, rooms, type TaskSnapshot } from "../../core/events";
import { isRedisReady } from "../../core/redis";
import { runSyncTask } from "../../core/services/runSyncTask";
import { snapshotOf } from "../../core/services/TaskService";
import { userIdOf } from "../middleware/authenticate";
import type { WebContext } from "../WebContext";

/** How long a stream follows a task another runner holds before it tries to claim it again. */
const CLAIM_RETRY_MS = 5_000;

const statusUrl = (taskId: string) => `/api/emails/sync/status/${taskId}`;

/**
 * The freshest snapshot of a task: while a worker runs it, the job's progress in Redis (written
 * every step); otherwise, and whenever Redis cannot answer, the task row.
 */
export async function currentSnapshot(ctx: WebContext, task: SyncTask): Promise<TaskSnapshot> {
  const stored = snapshotOf(task);
  if (
    isTerminal(task.state) ||
    task.runner !== "queue" ||
    !ctx.queue ||
    !ctx.redis ||
    !isRedisReady(ctx.redis)
  ) {
    return stored;
  }
  try {
    const job = await ctx.queue.getJob(task.id);
    const live = job?.progress as TaskSnapshot | undefined;
    if (live && typeof live === "object" && live.taskId === task.id && live.seq > stored.seq) return live;
  } catch {
    // Redis went away mid-request: the row is a little older but true.
  }
  return stored;
}

export function syncRoutes(ctx: WebContext): Router {
  const router = Router();

  router.post("/emails/sync", async (req: Request, res: Response) => {
    const { task, joined } = await ctx.dispatcher.request(userIdOf(req));
    res.status(202).json({ taskId: task.id, state: task.state, statusUrl: statusUrl(task.id), joined });
  });

  router.get("/emails/sync/status/:taskId", async (req: Request, res: Response) => {
    const task = await ctx.tasks.findForUser(userIdOf(req), String(req.params.taskId));
    if (!task) throw new NotFoundError("task");
    res.set("Cache-Control", "no-store").json(await currentSnapshot(ctx, task));
  });

  /**
   * The fallback for when the queue cannot take work: the same sync runs inside this request and
   * every snapshot is one NDJSON line. When another runner already has the user's task, the
   * stream follows that task to its end instead of starting a second sync.
   */
  router.post("/emails/sync/stream", async (req: Request, res: Response) => {
    const userId = userIdOf(req);
    const { task } = await ctx.tasks.createOrJoin(userId, "stream");
    res.status(200).set({
      "Content-Type": "application/x-ndjson; charset=utf-8",
      "Cache-Control": "no-store",
      "X-Accel-Buffering": "no",
      "X-Task-Id": task.id,
    });
    res.flushHeaders();
    let open = true;
    res.on("close", () => {
      open = false;
    });
    const write = (snapshot: TaskSnapshot) => {
      if (open) res.write(`${JSON.stringify(snapshot)}\n`);
      ctx.io?.to(rooms.task(task.id)).to(rooms.user(userId)).emit("sync:progress", snapshot);
    };

    // Run the task here; if another runner holds it, follow it, and try again every few
    // seconds in case that runner died and the task went quiet.
    const run = streamTask();
    ctx.streams.add(run);
    try {
      await run;
    } finally {
      ctx.streams.delete(run);
    }
    res.end();

    async function streamTask(): Promise<void> {
      let lastSeq = -1;
      while (open && !ctx.shutdown.aborted) {
        const outcome = await runSyncTask(ctx, { id: task.id, userId }, "stream", write, {
          sync: { quota: ctx.quota?.forUser(userId), signal: ctx.shutdown },
          // This node is stopping: the task goes back to "queued" for a worker or the next request.
          willRetry: () => ctx.shutdown.aborted,
        });
        if (outcome.status !== "claimed-elsewhere") break;
        let finished = false;
        for (let waited = 0; waited < CLAIM_RETRY_MS && open && !ctx.shutdown.aborted; waited += 500) {
          const row = await ctx.tasks.findById(task.id);
          const snapshot = row ? await currentSnapshot(ctx, row) : null;
          if (snapshot && snapshot.seq !== lastSeq) {
            lastSeq = snapshot.seq;
            if (open) res.write(`${JSON.stringify(snapshot)}\n`);
          }
          finished = !snapshot || isTerminal(snapshot.state);
          if (finished) break;
          await sleep(500);
        }
        if (finished || !open || ctx.shutdown.aborted) break;
      }
    }
  });

  return router;
}
