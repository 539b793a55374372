import { Router } from "express";
import { deleteAccount as deleteAccountCommand } from "../../../../core/commands/deleteAccount";
import { disconnectGmail as disconnectGmailCommand } from "../../../../core/commands/disconnectGmail";
import type { LeavingDeps } from "../../../../core/commands/leaving";
import { rooms } from "../../../../core/contract";
import { gmailWatchOf } from "../../../../core/gmail/watch";
import { cookiePolicy, userIdOf } from "../../../middleware/authenticate";
import { validate } from "../../../middleware/validate";
import type { WebContext } from "../../../WebContext";
import { requireSession } from "../requireSession";
import { deleteAccount, disconnectGmail, signOutEverywhere } from "./schema";

export function leavingDeps(ctx: WebContext): LeavingDeps {
  return {
    accounts: ctx.accounts,
    revokeUrl: ctx.config.google.revokeUrl,
    queue: ctx.queue,
    logger: ctx.logger,
    watch: gmailWatchOf(ctx),
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

  router.post("/account/disconnect", validate(disconnectGmail), async (req, res) => {
    requireSession(req);
    await disconnectGmailCommand(leavingDeps(ctx), userIdOf(req));
    res.status(204).end();
  });

  router.delete("/account", validate(deleteAccount), async (req, res) => {
    requireSession(req);
    await deleteAccountCommand(leavingDeps(ctx), userIdOf(req));
    await ctx.sessions.userDeleted(userIdOf(req));
    res.clearCookie(cookie.session, cookie.options).status(204).end();
  });

  router.delete("/sessions", validate(signOutEverywhere), async (req, res) => {
    requireSession(req);
    const ended = await ctx.sessions.destroyAllOf(userIdOf(req));
    leavingDeps(ctx).disconnectSockets(ended.map(rooms.session));
    res.clearCookie(cookie.session, cookie.options).status(204).end();
  });

  return router;
}
