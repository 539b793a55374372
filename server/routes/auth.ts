import { randomBytes } from "node:crypto";
import { parse as parseCookies } from "cookie";
import { type Request, type Response, Router } from "express";
import type { Credentials } from "google-auth-library";
import { AppError, ReauthRequiredError, ValidationError } from "../../core/errors";
import { rooms } from "../../core/events";
import {
  consentUrl,
  createGmailClient,
  createOAuthClient,
  grantsGmailRead,
} from "../../core/gmail/googleClients";
import { CertsUnavailableError, type GoogleIdentity, IdTokenVerifier } from "../../core/gmail/idToken";
import { gmailCall } from "../../core/sync/gmailCall";
import { cookiePolicy, principalOf, requireCsrf } from "../middleware/authenticate";
import type { WebContext } from "../WebContext";

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
const FLOW_COOKIE_MS = 10 * 60_000;

const SCOPE_MISSING_MESSAGE =
  "inbox-sync needs read access to Gmail: tick the Gmail box on Google's consent screen.";

export function authRoutes(ctx: WebContext): Router {
  const router = Router();
  const { session: sessionCookie, options: cookieOptions } = cookiePolicy(ctx.config);
  // Over https the sign-in's own cookies get the __Host- prefix too: only this origin can set them.
  const prefix = cookieOptions.secure ? "__Host-" : "";
  const STATE_COOKIE = `${prefix}oauth_state`;
  const VERIFIER_COOKIE = `${prefix}oauth_pkce`;
  const CONSENT_COOKIE = `${prefix}oauth_consent`;
  const identities = new IdTokenVerifier(ctx.config.google);

  /** Whether the browser's signed-in user is reconnecting a grant Google no longer honours. */
  const reconnecting = async (req: Request, hint: string | undefined): Promise<boolean> => {
    const principal = await principalOf(ctx.sessions, { cookie: req.headers.cookie }, sessionCookie).catch(
      () => null,
    );
    if (!principal || (await ctx.accounts.grantUsable(principal.userId))) return false;
    const user = await ctx.accounts.findUser(principal.userId);
    return !hint || user?.email === hint.toLowerCase();
  };

  router.get("/auth/google", async (req: Request, res: Response) => {
    const hint = typeof req.query.login_hint === "string" ? req.query.login_hint.trim() : undefined;
    if (hint !== undefined && hint !== "" && !EMAIL.test(hint)) {
      throw new ValidationError("login_hint must be an e-mail address", "invalid_login_hint");
    }
    const oauth = createOAuthClient(ctx.config.google);
    // The state ties the callback to this browser: a callback without the matching cookie is refused.
    const state = randomBytes(24).toString("base64url");
    // PKCE: the verifier stays in this browser, Google sees only its hash. A code that leaks
    // (a log, a referrer, another app on the redirect) cannot be exchanged without it.
    const { codeVerifier, codeChallenge } = await oauth.generateCodeVerifierAsync();
    const forceConsent = req.query.consent === "1" || (await reconnecting(req, hint || undefined));
    res.cookie(STATE_COOKIE, state, { ...cookieOptions, maxAge: FLOW_COOKIE_MS });
    res.cookie(VERIFIER_COOKIE, codeVerifier, { ...cookieOptions, maxAge: FLOW_COOKIE_MS });
    // Remembered for the callback: if even a forced consent brings no refresh token, say so
    // rather than send the browser round again.
    if (forceConsent) res.cookie(CONSENT_COOKIE, "1", { ...cookieOptions, maxAge: FLOW_COOKIE_MS });
    else res.clearCookie(CONSENT_COOKIE, cookieOptions);
    res.redirect(
      302,
      consentUrl(oauth, state, { loginHint: hint || undefined, forceConsent, codeChallenge: codeChallenge! }),
    );
  });

  /** Who signed in, from the ID token of Google's token answer (see core/gmail/idToken.ts). */
  const identify = async (idToken: string | null | undefined): Promise<GoogleIdentity> => {
    try {
      return await identities.verify(idToken);
    } catch (err) {
      if (err instanceof CertsUnavailableError) {
        ctx.logger.warn("Google's signing certificates could not be fetched during sign-in");
        throw new AppError(
          "google_unavailable",
          "Google did not answer. Try signing in again in a moment.",
          502,
        );
      }
      ctx.logger.warn(
        { reason: err instanceof Error ? err.message : String(err) },
        "ID token refused at sign-in",
      );
      throw new ValidationError(
        "Google's answer did not prove which account signed in. Sign in again.",
        "oauth_identity_invalid",
      );
    }
  };

  /**
   * A browser that lands here from Google gets a page, not JSON: failures go back to the app,
   * which says what happened in words. Scripts that ask for JSON get the usual error body.
   */
  const backToApp =
    (handler: (req: Request, res: Response) => Promise<void>) => async (req: Request, res: Response) => {
      try {
        await handler(req, res);
      } catch (err) {
        if (err instanceof AppError && req.accepts(["json", "html"]) === "html") {
          res.redirect(302, `/?auth_error=${encodeURIComponent(err.code)}`);
          return;
        }
        throw err;
      }
    };

  router.get(
    "/auth/google/callback",
    backToApp(async (req: Request, res: Response) => {
      const { code, state, error } = req.query;
      if (typeof error === "string") throw new ValidationError(`Google declined: ${error}`, "oauth_denied");
      const cookies = parseCookies(req.headers.cookie ?? "");
      const expected = cookies[STATE_COOKIE];
      const codeVerifier = cookies[VERIFIER_COOKIE];
      if (typeof state !== "string" || !expected || state !== expected || !codeVerifier) {
        throw new ValidationError(
          "The sign-in link expired or was not started here. Sign in again.",
          "oauth_state_mismatch",
        );
      }
      if (typeof code !== "string" || code.length === 0 || code.length > 2048) {
        throw new ValidationError("The callback has no authorization code.", "oauth_code_missing");
      }
      const oauth = createOAuthClient(ctx.config.google);
      let tokens: Credentials;
      try {
        ({ tokens } = await oauth.getToken({ code, codeVerifier }));
      } catch {
        throw new ValidationError(
          "Google did not accept the authorization code. Sign in again.",
          "oauth_exchange_failed",
        );
      }
      // Google's answer lists what the person granted; unticking Gmail leaves it out.
      if (!grantsGmailRead(tokens.scope))
        throw new ValidationError(SCOPE_MISSING_MESSAGE, "gmail_scope_missing");
      const identity = await identify(tokens.id_token);
      oauth.setCredentials(tokens);
      let email: string | null | undefined;
      try {
        const gmail = createGmailClient(oauth, ctx.config.google.apiRoot);
        email = (await gmailCall(() => gmail.users.getProfile({ userId: "me" }), { attempts: 3 })).data
          .emailAddress;
      } catch (err) {
        if (err instanceof ReauthRequiredError)
          throw new ValidationError(SCOPE_MISSING_MESSAGE, "gmail_scope_missing");
        ctx.logger.warn({ err }, "Gmail profile lookup failed during sign-in");
        throw new AppError(
          "gmail_unavailable",
          "Gmail did not answer. Try signing in again in a moment.",
          502,
        );
      }
      if (!email) throw new ValidationError("Gmail did not say which account this is.", "oauth_no_email");

      if (!tokens.refresh_token && !(await ctx.accounts.holdsUsableGrant(identity))) {
        // A returning Google account whose refresh token we lost, never kept, or saw refused
        // (reauth_required): only the consent screen makes Google issue another.
        if (cookies[CONSENT_COOKIE] === "1") {
          throw new ValidationError(
            "Google did not grant lasting access to Gmail, so syncing in the background cannot work. Sign in again.",
            "oauth_offline_denied",
          );
        }
        res.redirect(302, `/auth/google?consent=1&login_hint=${encodeURIComponent(identity.email)}`);
        return;
      }
      res.clearCookie(CONSENT_COOKIE, cookieOptions);
      res.clearCookie(VERIFIER_COOKIE, cookieOptions);
      const user = await ctx.accounts.connect(identity, email, tokens);
      // Signing in ends the session this browser had (and its sockets), whoever it belonged to.
      const previous = await ctx.sessions.fromCookie(parseCookies(req.headers.cookie ?? "")[sessionCookie]);
      if (previous?.sessionId) await ctx.sessions.destroy(previous.sessionId);
      if (previous?.sessionId) ctx.io?.in(rooms.session(previous.sessionId)).disconnectSockets(true);
      const { cookie } = await ctx.sessions.create(user.id);
      ctx.logger.info({ userId: user.id }, "signed in");
      res.clearCookie(STATE_COOKIE, cookieOptions);
      res.cookie(sessionCookie, cookie, { ...cookieOptions, maxAge: 30 * 86_400_000 });
      res.redirect(302, "/");
    }),
  );

  router.post("/auth/logout", async (req: Request, res: Response) => {
    const principal = await principalOf(ctx.sessions, { cookie: req.headers.cookie }, sessionCookie);
    // Another site must not be able to sign the user out: the CSRF header is required here too.
    req.principal = principal ?? undefined;
    requireCsrf(req, res, () => {});
    if (principal?.sessionId) {
      await ctx.sessions.destroy(principal.sessionId);
      ctx.io?.in(rooms.session(principal.sessionId)).disconnectSockets(true);
    }
    res.clearCookie(sessionCookie, cookieOptions);
    res.status(204).end();
  });

  return router;
}
