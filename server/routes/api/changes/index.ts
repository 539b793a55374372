import type { Request, Response } from "express";
import { Router } from "express";
import type { Change } from "../../../../core/contract";
import { AppError, ValidationError } from "../../../../core/errors";
import { pageJson } from "../../../../core/services/ChangeFeedService";
import { userIdOf } from "../../../middleware/authenticate";
import { followerSlot, rateLimitsFor } from "../../../middleware/rateLimit";
import { inputOf, validate } from "../../../middleware/validate";
import type { WebContext } from "../../../WebContext";
import { listChanges } from "./schema";

/**
 * How long a waiting follower trusts the wake-up signal alone before it reads the feed again:
 * signals are fire-and-forget, and some writers (a sign-in, a disconnect) send none. Not a tight
 * loop: one indexed read per follower every few seconds at most.
 */
const RECHECK_MS = 5_000;
/** A comment line this often keeps proxies from closing a quiet event stream. */
const KEEP_ALIVE_MS = 15_000;

/** `Last-Event-ID`, when a reconnecting EventSource sends one: it wins over `since`. */
function lastEventId(req: Request): number | undefined {
  const raw = req.get("last-event-id");
  if (raw === undefined || raw.trim() === "") return undefined;
  if (!/^\d{1,15}$/.test(raw.trim())) {
    throw new ValidationError("Last-Event-ID is not a seq this feed sent", "invalid_cursor");
  }
  return Number(raw.trim());
}

/** Whether the client asked for Server-Sent Events rather than JSON. */
const wantsEvents = (req: Request) => (req.get("accept") ?? "").toLowerCase().includes("text/event-stream");

/** Aborted when the client leaves or the node stops. */
function requestLife(ctx: WebContext, res: Response): AbortSignal {
  const closed = new AbortController();
  res.on("close", () => closed.abort());
  return AbortSignal.any([closed.signal, ctx.shutdown]);
}

/** The change feed (docs/changes.md): a page, a long-poll (`wait`), or an event stream. */
export function changeRoutes(ctx: WebContext): Router {
  const router = Router();

  const held = followerSlot(
    rateLimitsFor(ctx),
    (req) => wantsEvents(req) || inputOf(req, listChanges).query.wait > 0,
  );

  router.get("/changes", validate(listChanges), held, async (req, res) => {
    const userId = userIdOf(req);
    const query = inputOf(req, listChanges).query;
    const since = lastEventId(req) ?? query.since;
    if (wantsEvents(req)) return streamChanges(ctx, req, res, userId, since, query.limit);

    const deadline = Date.now() + query.wait * 1000;
    const life = requestLife(ctx, res);
    for (;;) {
      const left = deadline - Date.now();
      // Listening before reading: a change committed between the read and the wait still wakes it.
      const woken = left > 0 ? ctx.changeSignal.wait(userId, Math.min(RECHECK_MS, left), life) : null;
      const page = await ctx.changes.read(userId, since, query.limit);
      if (page.count > 0 || !woken || life.aborted) {
        res.type("application/json").send(pageJson(page));
        return;
      }
      await woken;
    }
  });

  return router;
}

/**
 * Server-Sent Events: every change after `since` as an event whose `id:` is its seq, then each new
 * one as it commits, until the client leaves. The first read happens before the headers, so a
 * bad or expired cursor still gets its JSON 400/410.
 */
async function streamChanges(
  ctx: WebContext,
  _req: Request,
  res: Response,
  userId: string,
  since: number,
  limit: number,
): Promise<void> {
  const life = requestLife(ctx, res);
  // Listening before each read that may come up empty: a change committed between that read and
  // the wait still wakes it (an extra read at worst).
  let woken = ctx.changeSignal.wait(userId, RECHECK_MS, life);
  let page = await ctx.changes.read(userId, since, limit);
  res.status(200).set({
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Accel-Buffering": "no",
  });
  res.flushHeaders();

  const send = async (text: string) => {
    // Backpressure: a slow reader holds the loop, not the node's memory.
    if (!res.write(text)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off("drain", done);
          life.removeEventListener("abort", done);
          resolve();
        };
        res.once("drain", done);
        life.addEventListener("abort", done, { once: true });
      });
    }
  };
  const event = (change: Change) => `id: ${change.seq}\ndata: ${JSON.stringify(change)}\n\n`;

  let cursor = since;
  let quietSince = Date.now();
  try {
    for (;;) {
      if (life.aborted) break;
      if (page.count) {
        await send((JSON.parse(page.changesJson) as Change[]).map(event).join(""));
        quietSince = Date.now();
      }
      cursor = page.next;
      if (!page.more) {
        if (Date.now() - quietSince >= KEEP_ALIVE_MS) {
          await send(": keep-alive\n\n");
          quietSince = Date.now();
        }
        await woken;
        if (life.aborted) break;
        woken = ctx.changeSignal.wait(userId, RECHECK_MS, life);
      }
      page = await ctx.changes.read(userId, cursor, limit);
    }
  } catch (err) {
    // Headers are gone: the error travels as an event, then the stream ends.
    const code = err instanceof AppError ? err.code : "internal";
    if (!(err instanceof AppError)) ctx.logger.error({ err, userId }, "change stream failed");
    const message = err instanceof AppError ? err.message : "Something went wrong on our side.";
    if (!life.aborted) res.write(`event: error\ndata: ${JSON.stringify({ error: { code, message } })}\n\n`);
  }
  res.end();
}
