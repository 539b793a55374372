import { Router } from "express";
import { NotFoundError } from "../../../../core/errors";
import { userIdOf } from "../../../middleware/authenticate";
import { inputOf, validate } from "../../../middleware/validate";
import type { WebContext } from "../../../WebContext";
import { getEmail, listEmails } from "./schema";

export function emailRoutes(ctx: WebContext): Router {
  const router = Router();

  router.get("/emails", validate(listEmails), async (req, res) => {
    const { limit, cursor, q } = inputOf(req, listEmails).query;
    res.json(
      await ctx.emails.list(userIdOf(req), {
        limit,
        cursor: cursor || undefined,
        q: q ? q.replaceAll("\u0000", "") : undefined,
      }),
    );
  });

  router.get("/emails/:id", validate(getEmail), async (req, res) => {
    const email = await ctx.emails.get(userIdOf(req), inputOf(req, getEmail).params.id);
    if (!email) throw new NotFoundError("email");
    res.json(email);
  });

  return router;
}
