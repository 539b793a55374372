/**
 * What an API token may do. A browser session may do everything; a token only what it was given.
 * The reserved names belong to capabilities that declare them on their routes: they are listed
 * here so that there is one list, and a token can be given them ahead of time.
 */
export const TOKEN_SCOPES = ["read", "sync", "changes", "webhooks"] as const;

export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** What each scope allows, in words (the account page and the API description show these). */
export const SCOPE_MEANINGS: Record<TokenScope, string> = {
  read: "Read mail, labels, the account (/api/me), its tokens and task status; receive live progress.",
  sync: "Start syncs, including the streaming sync.",
  changes: "Read the change feed.",
  webhooks: "Manage outbound webhooks.",
};

/**
 * Scopes of a token created without naming any: what every token could do before scopes
 * existed, so scripts that create tokens keep working. The change feed and webhooks have to be
 * asked for.
 */
export const DEFAULT_TOKEN_SCOPES: readonly TokenScope[] = ["read", "sync"];

/** Days a token lasts when its creator names none. */
export const DEFAULT_TOKEN_DAYS = 90;

/** The longest expiry one can ask for. */
export const MAX_TOKEN_DAYS = 365;

/** Each scope once, in the list's own order, whatever order or repeats a caller sent. */
export function normalizeScopes(scopes: readonly TokenScope[]): TokenScope[] {
  return TOKEN_SCOPES.filter((s) => scopes.includes(s));
}
