import { type Request, type Response, Router } from "express";
import { NotFoundError, ValidationError } from "../../core/errors";
import { userIdOf } from "../middleware/authenticate";
import type { WebContext } from "../WebContext";

const GMAIL_ID = /^[A-Za-z0-9_-]{1,128}$/;

function single(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new ValidationError(`${name} must be given once, as text`);
  return value;
}

export function emailRoutes(ctx: WebContext): Router {
  const router = Router();

  router.get("/emails", async (req: Request, res: Response) => {
    const rawLimit = single(req.query.limit, "limit");
    const limit = rawLimit === undefined ? 50 : Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) {
      throw new ValidationError("limit must be a whole number from 1 to 200", "invalid_limit");
    }
    const cursor = single(req.query.cursor, "cursor") || undefined;
    if (cursor && cursor.length > 500)
      throw new ValidationError("cursor is not one this API issued", "invalid_cursor");
    const q = single(req.query.q, "q")?.trim() || undefined;
    if (q && q.length > 200) throw new ValidationError("q must be at most 200 characters", "invalid_query");
    res.json(await ctx.emails.list(userIdOf(req), { limit, cursor, q: q?.replaceAll("\u0000", "") }));
  });

  router.get("/emails/:id", async (req: Request, res: Response) => {
    const id = String(req.params.id);
    if (!GMAIL_ID.test(id)) throw new ValidationError("id is not a Gmail message id", "invalid_id");
    const email = await ctx.emails.get(userIdOf(req), id);
    if (!email) throw new NotFoundError("email");
    res.json(email);
  });

  return router;
}
