import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import { type NextFunction, type Request, type Response, Router } from "express";
import { AppError, ForbiddenError } from "../../core/errors";
import { requireAuth } from "../middleware/authenticate";
import type { WebContext } from "../WebContext";

export const ADMIN_PATH = "/admin/queues";

/** Bull Board over the sync queue, for the accounts named in ADMIN_EMAILS only. */
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
  router.use(ADMIN_PATH, requireAuth(ctx.sessions), requireAdmin);

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
  createBullBoard({ queues: [new BullMQAdapter(ctx.queue, { readOnlyMode: false })], serverAdapter });
  router.use(ADMIN_PATH, serverAdapter.getRouter());
  return router;
}
