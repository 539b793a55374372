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

  router.post("/tokens", async (req: Request, res: Response) => {
    const raw = (req.body as { name?: unknown } | undefined)?.name;
    const name = typeof raw === "string" ? raw.trim().slice(0, 100) : "";
    const { token, id } = await ctx.sessions.issueToken(userIdOf(req), name);
    res.status(201).json({ id, token, name });
  });

  return router;
}
