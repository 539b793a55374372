import { type Request, type Response, Router } from "express";
import { z } from "zod";
import { ForbiddenError, NotFoundError, ValidationError } from "../../core/errors";
import { rooms } from "../../core/events";
import { userIdOf } from "../middleware/authenticate";
import type { WebContext } from "../WebContext";

/** The longest expiry one can ask for; no expiry at all is asked for by leaving it out. */
export const MAX_TOKEN_DAYS = 365;

const createBody = z.strictObject({
  name: z.string().trim().max(100, "name must be at most 100 characters").optional(),
  expiresInDays: z
    .int("expiresInDays must be a whole number of days")
    .min(1, "expiresInDays must be at least 1")
    .max(MAX_TOKEN_DAYS, `expiresInDays must be at most ${MAX_TOKEN_DAYS}`)
    .nullable()
    .optional(),
});

const FIELD_CODES: Record<string, string> = { name: "invalid_name", expiresInDays: "invalid_expiry" };

/** A zod failure as our 400: the first problem, in words, with a code per field. */
export function validationErrorOf(error: z.ZodError): ValidationError {
  const issue = error.issues[0]!;
  const field = issue.code === "unrecognized_keys" ? undefined : String(issue.path[0] ?? "");
  const message =
    issue.code === "unrecognized_keys"
      ? `Unknown field${issue.keys.length > 1 ? "s" : ""}: ${issue.keys.join(", ")}`
      : field
        ? issue.message
        : "The body must be a JSON object.";
  return new ValidationError(message, (field && FIELD_CODES[field]) || "invalid_request");
}

/**
 * Minting tokens (and the account actions in account.ts) need the browser session: a token that
 * leaked must not be able to make itself a successor that survives its own revocation.
 */
export function requireSession(req: Request): void {
  if (req.principal?.via !== "session") {
    throw new ForbiddenError(
      "session_required",
      "Sign in with a browser session to do this; API tokens cannot.",
    );
  }
}

/** API tokens for scripts: create (shown once), list (never the secret), revoke. */
export function tokenRoutes(ctx: WebContext): Router {
  const router = Router();

  router.get("/tokens", async (req: Request, res: Response) => {
    res.set("Cache-Control", "no-store").json({ tokens: await ctx.sessions.listTokens(userIdOf(req)) });
  });

  router.post("/tokens", async (req: Request, res: Response) => {
    requireSession(req);
    const parsed = createBody.safeParse(req.body ?? {});
    if (!parsed.success) throw validationErrorOf(parsed.error);
    const name = parsed.data.name ?? "";
    const { token, info } = await ctx.sessions.issueToken(userIdOf(req), name, {
      expiresInDays: parsed.data.expiresInDays ?? undefined,
    });
    res
      .status(201)
      .set("Cache-Control", "no-store")
      .json({ ...info, token });
  });

  router.delete("/tokens/:id", async (req: Request, res: Response) => {
    const id = String(req.params.id);
    if (!(await ctx.sessions.revokeToken(userIdOf(req), id))) throw new NotFoundError("token");
    // Through the adapter: the token's sockets close on whichever node holds them.
    ctx.io?.in(rooms.token(id)).disconnectSockets(true);
    res.status(204).end();
  });

  return router;
}
