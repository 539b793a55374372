import { Router } from "express";
import type { Me } from "../../../../core/contract";
import { NotFoundError } from "../../../../core/errors";
import { userIdOf } from "../../../middleware/authenticate";
import { validate } from "../../../middleware/validate";
import type { WebContext } from "../../../WebContext";
import { getMe } from "./schema";

export function meRoutes(ctx: WebContext): Router {
  const router = Router();

  router.get("/me", validate(getMe), async (req, res) => {
    const userId = userIdOf(req);
    const [user, account, emailCount] = await Promise.all([
      ctx.accounts.findUser(userId),
      ctx.accounts.findAccount(userId),
      ctx.emails.count(userId),
    ]);
    if (!user) throw new NotFoundError("user");
    const me: Me = {
      email: user.email,
      lastSyncAt: account?.lastSyncAt?.toISOString() ?? null,
      emailCount,
      gmailStatus: account?.status ?? "reauth_required",
      csrfToken: req.principal?.csrfToken ?? null,
    };
    res.json(me);
  });

  return router;
}
