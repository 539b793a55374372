import { Router } from "express";
import { rooms } from "../../../../core/contract";
import { NotFoundError } from "../../../../core/errors";
import { userIdOf } from "../../../middleware/authenticate";
import { inputOf, validate } from "../../../middleware/validate";
import type { WebContext } from "../../../WebContext";
import { createToken, listTokens, revokeToken } from "./schema";

/**
 * API tokens for scripts: create (shown once, with scopes and an expiry), list (never the
 * secret), revoke (a token only itself).
 */
export function tokenRoutes(ctx: WebContext): Router {
  const router = Router();

  router.get("/tokens", validate(listTokens), async (req, res) => {
    res.json({ tokens: await ctx.sessions.listTokens(userIdOf(req)) });
  });

  // Session only (its declaration; the authentication middleware refuses tokens before the body is read).
  router.post("/tokens", validate(createToken), async (req, res) => {
    const { name, expiresInDays, scopes } = inputOf(req, createToken).body;
    const { token, info } = await ctx.sessions.issueToken(userIdOf(req), name ?? "", {
      expiresInDays: expiresInDays ?? undefined,
      scopes,
    });
    res.status(201).json({ ...info, token });
  });

  router.delete("/tokens/:id", validate(revokeToken), async (req, res) => {
    const id = inputOf(req, revokeToken).params.id;
    if (!(await ctx.sessions.revokeToken(req.principal!, id))) throw new NotFoundError("token");
    // Through the adapter: the token's sockets close on whichever node holds them.
    ctx.io?.in(rooms.token(id)).disconnectSockets(true);
    res.status(204).end();
  });

  return router;
}
