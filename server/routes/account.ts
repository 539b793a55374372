import { type Request, type Response, Router } from "express";
import { deleteAccount } from "../../core/commands/deleteAccount";
import { disconnectGmail } from "../../core/commands/disconnectGmail";
import type { LeavingDeps } from "../../core/commands/leaving";
import { rooms } from "../../core/events";
import { cookiePolicy, userIdOf } from "../middleware/authenticate";
import type { WebContext } from "../WebContext";
import { requireSession } from "./tokens";

export function leavingDeps(ctx: WebContext): LeavingDeps {
  return {
    accounts: ctx.accounts,
    revokeUrl: ctx.config.google.revokeUrl,
    queue: ctx.queue,
    logger: ctx.logger,
    disconnectSockets: (names) => {
      if (names.length) ctx.io?.in(names).disconnectSockets(true);
    },
  };
}

/**
 * Leaving and signing out everywhere. Each needs the browser session (and so its CSRF header):
 * an API token cannot disconnect Gmail, delete the account or sign its owner out.
 */
export function accountRoutes(ctx: WebContext): Router {
  const router = Router();
  const cookie = cookiePolicy(ctx.config);

  router.post("/account/disconnect", async (req: Request, res: Response) => {
    requireSession(req);
    await disconnectGmail(leavingDeps(ctx), userIdOf(req));
    res.status(204).end();
  });

  router.delete("/account", async (req: Request, res: Response) => {
    requireSession(req);
    await deleteAccount(leavingDeps(ctx), userIdOf(req));
    res.clearCookie(cookie.session, cookie.options).status(204).end();
  });

  router.delete("/sessions", async (req: Request, res: Response) => {
    requireSession(req);
    const ended = await ctx.sessions.destroyAllOf(userIdOf(req));
    leavingDeps(ctx).disconnectSockets(ended.map(rooms.session));
    res.clearCookie(cookie.session, cookie.options).status(204).end();
  });

  return router;
}
