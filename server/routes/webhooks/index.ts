import express, { type NextFunction, type Request, type Response, Router } from "express";
import { AppError, ValidationError } from "../../../core/errors";
import { PushKeysUnavailableError, PushTokenError, PushTokenVerifier } from "../../../core/gmail/pushToken";
import { Limit } from "../../middleware/rateLimit";
import { inputOf, validate } from "../../middleware/validate";
import type { WebContext } from "../../WebContext";
import { ReplayGuard } from "./replayGuard";
import { GmailNotification, gmailPush } from "./schema";

/** Google's answer is Pub/Sub's cue: anything but 2xx (or a slow answer) is delivered again later. */
function refuse(
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
): AppError {
  return new AppError(code, message, status, extra);
}

/** Push on, within the address's limit, and carrying Google's token for us; before the body is read. */
function pushGate(ctx: WebContext) {
  const push = ctx.config.gmailPush;
  const verifier = new PushTokenVerifier(push);
  const limit = new Limit("gmail-push", ctx.config.rateLimits.gmailPush, {
    redis: ctx.redis,
    prefix: ctx.config.queuePrefix,
    logger: ctx.logger,
  });
  return async (req: Request, res: Response, next: NextFunction) => {
    if (!push.topic) throw refuse(404, "not_found", "Gmail push is not configured here.");
    const refusal = await limit.take(req.ip ?? "unknown");
    if (refusal) {
      res.set("Retry-After", String(refusal.retryAfter));
      throw refuse(
        429,
        "rate_limited",
        `Too many pushes from this address. Try again in ${refusal.retryAfter} s.`,
      );
    }
    try {
      await verifier.verify(req.headers.authorization);
    } catch (err) {
      if (err instanceof PushKeysUnavailableError) {
        throw refuse(
          503,
          "google_unavailable",
          "Google's signing keys could not be fetched; deliver again later.",
        );
      }
      if (err instanceof PushTokenError) {
        ctx.logger.info({ reason: err.reason, ip: req.ip }, "gmail push refused");
        throw refuse(401, "invalid_push_token", "The push's bearer token was not accepted.");
      }
      throw err;
    }
    next();
  };
}

/** Queues a debounced sync for everyone syncing the mailbox; says whether anyone does. */
function pushAction(ctx: WebContext) {
  const { maintenance } = ctx;
  const unavailable = () =>
    refuse(503, "queue_unavailable", "The sync queue cannot be reached; deliver again later.");
  return async (emailAddress: string): Promise<"queued" | "unknown_address"> => {
    // Noting the push and finding who syncs the mailbox are one statement (account health).
    const userIds = await ctx.repos.health.pushArrived(emailAddress);
    if (userIds.length === 0) return "unknown_address";
    if (!maintenance) throw unavailable();
    try {
      await Promise.all(
        userIds.map((userId) => maintenance.notePush(userId, ctx.config.liveSync.debounceMs)),
      );
    } catch (err) {
      ctx.logger.warn({ err }, "gmail push could not be queued");
      throw unavailable();
    }
    return "queued";
  };
}

/**
 * `POST /webhooks/gmail`: Gmail's Pub/Sub push. Checks, in this order and before reading the
 * body: push is on (404), the caller's address is within RATE_LIMIT_GMAIL_PUSH (429), the OIDC
 * token is Google's, for our audience and (when configured) from our push service account (401).
 * Then the notification names a mailbox; each connected account syncing it gets a debounced
 * `push-sync` (core/queue/MaintenanceQueue.ts), and the answer is 204 at once: no Gmail call and
 * no sync run in the request. An address nobody here syncs is acknowledged too (204), so Pub/Sub
 * stops delivering it. A push whose `messageId` was seen within the replay window (ReplayGuard)
 * is acknowledged and does nothing: a captured push, token and all, cannot be replayed.
 * `res.locals.gmailPush` names the outcome for the metrics (`inbox_sync_gmail_pushes_total`).
 */
export function webhookRoutes(ctx: WebContext): Router {
  const router = Router();
  const replays = new ReplayGuard(ctx.redis, `${ctx.config.queuePrefix}:gmail-push:seen:`, ctx.logger);
  const act = pushAction(ctx);

  router.post(
    "/webhooks/gmail",
    pushGate(ctx),
    express.json({ limit: "64kb" }),
    validate(gmailPush),
    async (req: Request, res: Response) => {
      const { message } = inputOf(req, gmailPush).body;
      let notification: { emailAddress: string };
      try {
        const decoded = JSON.parse(Buffer.from(message.data, "base64").toString("utf8"));
        notification = GmailNotification.parse(decoded);
      } catch {
        throw new ValidationError(
          "message.data must be base64 of Gmail's {emailAddress, historyId}.",
          "invalid_push",
        );
      }
      const messageId = message.messageId ?? message.message_id;
      if (!messageId) {
        throw new ValidationError(
          "message.messageId is required: Pub/Sub gives every push one.",
          "invalid_push",
        );
      }
      const seen = await replays.claim(messageId);
      if (seen) {
        // Acknowledged, so Pub/Sub stops; acted on once already (or by whoever replays it).
        res.locals.gmailPush = "replayed";
        ctx.logger.info({ messageId, ip: req.ip }, "gmail push replayed: ignored");
        res.status(204).end();
        return;
      }
      try {
        res.locals.gmailPush = await act(notification.emailAddress);
      } catch (err) {
        // Pub/Sub delivers it again: that delivery must act.
        await replays.release(messageId);
        throw err;
      }
      res.status(204).end();
    },
  );

  return router;
}
