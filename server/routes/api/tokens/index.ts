import { Router } from "express";
import { rooms } from "../../../../core/contract";
import { NotFoundError } from "../../../../core/errors";
import { userIdOf } from "../../../middleware/authenticate";
import { inputOf, validate } from "../../../middleware/validate";
import type { WebContext } from "../../../WebContext";
import { requireSession } from "../requireSession";
import { createToken, listTokens, revokeToken } from "./schema";

/** API tokens for scripts: create (shown once), list (never the secret), revoke. */
export function tokenRoutes(ctx: WebContext): Router {
  const router = Router();

  router.get("/tokens", validate(listTokens), async (req, res) => {
    res.json({ tokens: await ctx.sessions.listTokens(userIdOf(req)) });
  });

  router.post(
    "/tokens",
    (req, _res, next) => {
      // Before the body is looked at: a token gets 403 whatever it sent.
      requireSession(req);
      next();
    },
    validate(createToken),
    async (req, res) => {
      const { name, expiresInDays } = inputOf(req, createToken).body;
      const { token, info } = await ctx.sessions.issueToken(userIdOf(req), name ?? "", {
        expiresInDays: expiresInDays ?? undefined,
      });
      res.status(201).json({ ...info, token });
    },
  );

  router.delete("/tokens/:id", validate(revokeToken), async (req, res) => {
    const id = inputOf(req, revokeToken).params.id;
    if (!(await ctx.sessions.revokeToken(userIdOf(req), id))) throw new NotFoundError("token");
    // Through the adapter: the token's sockets close on whichever node holds them.
    ctx.io?.in(rooms.token(id)).disconnectSockets(true);
    res.status(204).end();
  });

  return router;
}
