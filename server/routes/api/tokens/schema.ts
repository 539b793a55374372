import { z } from "zod";
import { CreatedTokenSchema, TokenListSchema } from "../../../../core/contract/schemas";
import { error, json, noContent, route } from "../route";

/** The longest expiry one can ask for; no expiry at all is asked for by leaving it out. */
export const MAX_TOKEN_DAYS = 365;

export const listTokens = route({
  method: "get",
  path: "/api/tokens",
  tag: "tokens",
  auth: "session_or_token",
  summary: "The user's live API tokens (never their secrets)",
  responses: { 200: json(TokenListSchema, "The tokens") },
});

export const createToken = route({
  method: "post",
  path: "/api/tokens",
  tag: "tokens",
  auth: "session",
  summary: "Create an API token; its secret is in this answer only",
  // No body at all counts as `{}` (validate): a token with no name and no expiry.
  body: z.strictObject({
    name: z.string().trim().max(100, "name must be at most 100 characters").optional(),
    expiresInDays: z
      .int("expiresInDays must be a whole number of days")
      .min(1, "expiresInDays must be at least 1")
      .max(MAX_TOKEN_DAYS, `expiresInDays must be at most ${MAX_TOKEN_DAYS}`)
      .nullable()
      .optional()
      .meta({ description: "Days until it stops working; null or absent: never." }),
  }),
  codes: { name: "invalid_name", expiresInDays: "invalid_expiry" },
  responses: {
    201: json(CreatedTokenSchema, "The token, with its secret"),
    400: error("invalid_name, invalid_expiry, or invalid_request (unknown fields, not an object)"),
    403: error("session_required: API tokens cannot mint tokens"),
    409: error("too_many_tokens"),
    429: error("rate_limited"),
  },
});

export const revokeToken = route({
  method: "delete",
  path: "/api/tokens/:id",
  tag: "tokens",
  auth: "session_or_token",
  summary: "Revoke an API token; its sockets close on every node",
  params: z.object({ id: z.string() }),
  responses: {
    204: noContent("Revoked"),
    404: error("not_found: no such token of this user"),
  },
});
