import { Router } from "express";
import type { Me } from "../../../../core/contract";
import { NotFoundError } from "../../../../core/errors";
import { userIdOf } from "../../../middleware/authenticate";
import { validate } from "../../../middleware/validate";
import type { WebContext } from "../../../WebContext";
import { nextCheck } from "./nextCheck";
import { getMe } from "./schema";

export function meRoutes(ctx: WebContext): Router {
  const router = Router();

  router.get("/me", validate(getMe), async (req, res) => {
    // One query: the user, their account and the email count the sync keeps (no COUNT(*)).
    const profile = await ctx.accounts.profile(userIdOf(req));
    if (!profile) throw new NotFoundError("user");
    const gmailStatus = profile.status ?? "reauth_required";
    const me: Me = {
      email: profile.email,
      lastSyncAt: profile.lastSyncAt?.toISOString() ?? null,
      emailCount: profile.emailCount,
      gmailStatus,
      ...nextCheck({
        pushOn: ctx.config.gmailPush.topic !== null,
        scheduleIntervalSeconds: ctx.config.liveSync.scheduleIntervalSeconds,
        gmailStatus,
        lastSyncAt: profile.lastSyncAt ?? null,
        now: Date.now(),
      }),
      csrfToken: req.principal?.csrfToken ?? null,
    };
    res.json(me);
  });

  return router;
}
