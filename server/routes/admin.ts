import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import { type NextFunction, type Request, type Response, Router } from "express";
import { AppError, ForbiddenError } from "../../core/errors";
import { cookiePolicy, requireAuth, requireCsrf } from "../middleware/authenticate";
import { adminContentSecurityPolicy } from "../middleware/securityHeaders";
import type { WebContext } from "../WebContext";

export const ADMIN_PATH = "/admin/queues";

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Bull Board can retry, promote, clean and remove jobs. Browsers send Origin on every
 * cross-origin request and on same-origin writes: a request from another site is refused
 * before its cookie is even looked at.
 */
function sameOriginOnly(publicUrl: string) {
  const origin = new URL(publicUrl).origin;
  return (req: Request, _res: Response, next: NextFunction) => {
    const sent = req.get("origin");
    if (sent !== undefined && sent !== origin) {
      throw new ForbiddenError("cross_origin", `The queue dashboard answers only pages of ${origin}.`);
    }
    next();
  };
}

/**
 * A cookie-authenticated write must prove it comes from the dashboard: Bull Board's own page
 * sends our Origin (checked above); a script sends the session's X-CSRF-Token instead. API
 * tokens carry no ambient credential and need neither.
 */
function requireOriginOrCsrf(publicUrl: string) {
  const origin = new URL(publicUrl).origin;
  return (req: Request, res: Response, next: NextFunction) => {
    if (!UNSAFE.has(req.method) || req.principal?.via !== "session" || req.get("origin") === origin) {
      return next();
    }
    requireCsrf(req, res, next);
  };
}

/**
 * Bull Board over the sync queue (every shard of it, each a queue of its own on the board), for
 * the accounts named in ADMIN_EMAILS only.
 */
export function adminRoutes(ctx: WebContext): Router {
  const router = Router();
  const admins = new Set(ctx.config.adminEmails);

  const requireAdmin = async (req: Request, _res: Response, next: NextFunction) => {
    const user = await ctx.accounts.findUser(req.principal!.userId);
    if (!user || !admins.has(user.email.toLowerCase())) {
      throw new ForbiddenError("not_admin", "The queue dashboard is for administrators (ADMIN_EMAILS).");
    }
    next();
  };
  router.use(
    ADMIN_PATH,
    adminContentSecurityPolicy(ctx.config),
    sameOriginOnly(ctx.config.publicUrl),
    requireAuth(ctx.sessions, cookiePolicy(ctx.config).session),
    requireAdmin,
    requireOriginOrCsrf(ctx.config.publicUrl),
  );

  if (!ctx.queue) {
    router.use(ADMIN_PATH, () => {
      throw new AppError(
        "queue_unavailable",
        "No queue is configured: this node runs in streaming-fallback mode.",
        503,
      );
    });
    return router;
  }
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(ADMIN_PATH);
  // With its retry/clean/remove actions.
  const queues = ctx.queue
    .dashboardViews()
    .map(({ queue, ...view }) => new BullMQAdapter(queue, { readOnlyMode: false, ...view }));
  createBullBoard({ queues, serverAdapter });
  router.use(ADMIN_PATH, serverAdapter.getRouter());
  return router;
}
