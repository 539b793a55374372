import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import { type NextFunction, type Request, type Response, Router } from "express";
import { AppError, ForbiddenError } from "../../core/errors";
import { cookiePolicy, requireAuth, requireCsrf } from "../middleware/authenticate";
import { bearerGate, countFailedBearer, rateLimitsFor } from "../middleware/rateLimit";
import { adminContentSecurityPolicy } from "../middleware/securityHeaders";
import type { WebContext } from "../WebContext";
import { adminQueues } from "./ops/schema";

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
 * A write must prove it comes from the dashboard: Bull Board's own page sends our Origin
 * (checked above); a script with the session sends its X-CSRF-Token instead.
 */
function requireOriginOrCsrf(publicUrl: string) {
  const origin = new URL(publicUrl).origin;
  return (req: Request, res: Response, next: NextFunction) => {
    if (!UNSAFE.has(req.method) || req.get("origin") === origin) return next();
    requireCsrf(req, res, next);
  };
}

/**
 * Who administers: the users whose Google account id (`sub`, stored on the user at sign-in) is in
 * ADMIN_SUBS. Without ADMIN_SUBS, the addresses of ADMIN_EMAILS, as before; an address can pass
 * to someone new at Google, so ADMIN_SUBS, once set, alone decides.
 */
export function adminRule(config: { adminSubs: string[]; adminEmails: string[] }) {
  const subs = new Set(config.adminSubs);
  const emails = new Set(config.adminEmails);
  return (user: { email: string; googleSub: string | null }): boolean =>
    subs.size > 0
      ? user.googleSub !== null && subs.has(user.googleSub)
      : emails.has(user.email.toLowerCase());
}

/**
 * Bull Board over the sync queue (every shard of it, each a queue of its own on the board), for
 * administrators (adminRule) in a browser session only. Its declaration (ops/schema.ts,
 * `auth: "session"`) covers every page and call under it: an API token, however good, gets 403
 * `session_required`; a bad one passes the same failed-token limit as /api (bearerGate before,
 * countFailedBearer after), so the dashboard is no place to guess tokens unlimited.
 */
export function adminRoutes(ctx: WebContext): Router {
  const router = Router();
  const isAdmin = adminRule(ctx.config);
  const limits = rateLimitsFor(ctx);

  const requireAdmin = async (req: Request, _res: Response, next: NextFunction) => {
    const user = await ctx.accounts.findUser(req.principal!.userId);
    if (!user || !isAdmin(user)) {
      throw new ForbiddenError(
        "not_admin",
        ctx.config.adminSubs.length > 0
          ? `The queue dashboard is for administrators (ADMIN_SUBS). Your Google account id is ${user?.googleSub ?? "not known yet: sign in again"}.`
          : "The queue dashboard is for administrators (ADMIN_EMAILS, or ADMIN_SUBS by Google account id).",
      );
    }
    next();
  };
  router.use(
    ADMIN_PATH,
    adminContentSecurityPolicy(ctx.config),
    sameOriginOnly(ctx.config.publicUrl),
    bearerGate(limits),
    requireAuth(ctx.sessions, cookiePolicy(ctx.config).session, () => adminQueues),
    countFailedBearer(limits),
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
