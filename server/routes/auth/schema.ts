import { z } from "zod";
import { error, noContent, route } from "../api/route";

/**
 * The sign-in is a browser's round trip through Google: each parameter is checked by the route,
 * in order, with its own code (a repeated one counts as absent, as Express's parser leaves it).
 */
const fromGoogle = z.union([z.string(), z.array(z.string())]).optional();

const redirect = (description: string) => ({ description, headers: { Location: "Where to go next" } });

export const beginSignIn = route({
  method: "get",
  path: "/auth/google",
  tag: "sign-in",
  auth: "none",
  summary: "Start signing in with Google: a redirect to Google's consent page (PKCE, state cookie)",
  query: z.object({
    login_hint: fromGoogle.meta({
      description: "The Google account to suggest: an e-mail address (else 400 invalid_login_hint).",
    }),
    consent: fromGoogle.meta({ description: "`1` shows Google's consent screen even to a returning user." }),
    returnTo: fromGoogle.meta({
      description:
        "The app's path to land on once signed in (e.g. `/mail/<id>`). Only a same-origin path is kept; " +
        "anything else (another host, `//host`, a backslash, `/auth/…`) is ignored and the browser lands on `/`.",
    }),
  }),
  responses: {
    302: redirect("To Google's consent page"),
    400: error("invalid_login_hint"),
    429: error("rate_limited"),
  },
});

export const signInCallback = route({
  method: "get",
  path: "/auth/google/callback",
  tag: "sign-in",
  auth: "none",
  summary: "Google's redirect back: sets the session cookie and sends the browser to the app",
  description:
    "A browser (Accept: text/html) that fails here is sent to `/?auth_error=<code>`; a script gets the JSON error.",
  query: z.object({
    code: fromGoogle.meta({ description: "The authorization code" }),
    state: fromGoogle.meta({ description: "Must match this browser's state cookie" }),
    error: fromGoogle.meta({ description: "Set by Google when the person declined" }),
  }),
  responses: {
    302: redirect(
      "To the app (signed in: the path `returnTo` asked for, else `/`; or `/?auth_error=<code>`), or round again through consent",
    ),
    400: error(
      "oauth_denied, oauth_state_mismatch, oauth_code_missing, oauth_exchange_failed, gmail_scope_missing, " +
        "oauth_identity_invalid, oauth_no_email, oauth_offline_denied",
    ),
    429: error("rate_limited"),
    502: error("google_unavailable or gmail_unavailable"),
  },
});

export const signOut = route({
  method: "post",
  path: "/auth/logout",
  tag: "sign-in",
  auth: "session",
  summary: "End this browser's session (needs X-CSRF-Token)",
  responses: { 204: noContent("Signed out; the session cookie is cleared"), 403: error("csrf_failed") },
});
