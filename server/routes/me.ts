import { type Request, type Response, Router } from "express";
import { NotFoundError } from "../../core/errors";
import { userIdOf } from "../middleware/authenticate";
import type { WebContext } from "../WebContext";

export function meRoutes(ctx: WebContext): Router {
  const router = Router();

  router.get("/me", async (req: Request, res: Response) => {
    const userId = userIdOf(req);
    const [user, account, emailCount] = await Promise.all([
      ctx.accounts.findUser(userId),
      ctx.accounts.findAccount(userId),
      ctx.emails.count(userId),
    ]);
    if (!user) throw new NotFoundError("user");
    res.json({
      email: user.email,
      lastSyncAt: account?.lastSyncAt?.toISOString() ?? null,
      emailCount,
      gmailStatus: account?.status ?? "reauth_required",
      csrfToken: req.principal?.csrfToken ?? null,
    });
  });

  return router;
}
