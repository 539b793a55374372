import { z } from "zod";
import { DEFAULT_TOKEN_DAYS, DEFAULT_TOKEN_SCOPES, MAX_TOKEN_DAYS } from "../../../../core/auth/scopes";
import { CreatedTokenSchema, TokenListSchema, TokenScopeSchema } from "../../../../core/contract/schemas";
import { error, json, noContent, route } from "../route";

export { MAX_TOKEN_DAYS };

export const listTokens = route({
  method: "get",
  path: "/api/tokens",
  tag: "tokens",
  auth: "session_or_token",
  scope: "read",
  summary: "The user's API tokens (never their secrets), with their scopes and expiry",
  responses: { 200: json(TokenListSchema, "The tokens") },
});

export const createToken = route({
  method: "post",
  path: "/api/tokens",
  tag: "tokens",
  auth: "session",
  summary: "Create an API token; its secret is in this answer only",
  // No body at all counts as `{}` (validate): a token with no name and the defaults.
  body: z.strictObject({
    name: z.string().trim().max(100, "name must be at most 100 characters").optional(),
    expiresInDays: z
      .int("expiresInDays must be a whole number of days")
      .min(1, "expiresInDays must be at least 1")
      .max(MAX_TOKEN_DAYS, `expiresInDays must be at most ${MAX_TOKEN_DAYS}`)
      .nullable()
      .optional()
      .meta({
        description: `Days until it stops working, 1–${MAX_TOKEN_DAYS}; absent or null: ${DEFAULT_TOKEN_DAYS}. Every token expires.`,
      }),
    scopes: z
      .array(TokenScopeSchema)
      .max(20, "scopes lists each scope at most once")
      .optional()
      .meta({
        description: `What it may do; absent: ${JSON.stringify(DEFAULT_TOKEN_SCOPES)}. Repeats are ignored; [] makes a token that can only revoke itself.`,
      }),
  }),
  codes: { name: "invalid_name", expiresInDays: "invalid_expiry", scopes: "invalid_scope" },
  responses: {
    201: json(CreatedTokenSchema, "The token, with its secret, scopes and expiry"),
    400: error(
      "invalid_name, invalid_expiry, invalid_scope (not a list of known scopes), or invalid_request (unknown fields, not an object)",
    ),
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
  // A script cleaning up after itself needs no scope; other tokens are the session's to revoke.
  scope: null,
  summary: "Revoke an API token (a token may revoke only itself); its sockets close on every node",
  params: z.object({ id: z.string() }),
  responses: {
    204: noContent("Revoked"),
    403: error("session_required: an API token tried to revoke another token"),
    404: error("not_found: no such token of this user"),
  },
});
