import { randomBytes } from "node:crypto";
import { parse as parseCookies } from "cookie";
import { type Request, type Response, Router } from "express";
import type { Credentials } from "google-auth-library";
import { AppError, ReauthRequiredError, ValidationError } from "../../core/errors";
import { rooms } from "../../core/events";
import { consentUrl, createGmailClient, createOAuthClient } from "../../core/gmail/googleClients";
import { gmailCall } from "../../core/sync/gmailCall";
import { cookiePolicy, principalOf, requireCsrf } from "../middleware/authenticate";
import type { WebContext } from "../WebContext";

const STATE_COOKIE = "oauth_state";
const CONSENT_COOKIE = "oauth_consent";
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

export function authRoutes(ctx: WebContext): Router {
  const router = Router();
  const { session: sessionCookie, options: cookieOptions } = cookiePolicy(ctx.config);

  router.get("/auth/google", (req: Request, res: Response) => {
    const hint = typeof req.query.login_hint === "string" ? req.query.login_hint.trim() : undefined;
    if (hint !== undefined && hint !== "" && !EMAIL.test(hint)) {
      throw new ValidationError("login_hint must be an e-mail address", "invalid_login_hint");
    }
    // The state ties the callback to this browser: a callback without the matching cookie is refused.
    const state = randomBytes(24).toString("base64url");
    const forceConsent = req.query.consent === "1";
    res.cookie(STATE_COOKIE, state, { ...cookieOptions, maxAge: 10 * 60_000 });
    // Remembered for the callback: if even a forced consent brings no refresh token, say so
    // rather than send the browser round again.
    if (forceConsent) res.cookie(CONSENT_COOKIE, "1", { ...cookieOptions, maxAge: 10 * 60_000 });
    else res.clearCookie(CONSENT_COOKIE, cookieOptions);
    res.redirect(
      302,
      consentUrl(createOAuthClient(ctx.config.google), state, { loginHint: hint || undefined, forceConsent }),
    );
  });

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
      const expected = parseCookies(req.headers.cookie ?? "")[STATE_COOKIE];
      if (typeof state !== "string" || !expected || state !== expected) {
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
        ({ tokens } = await oauth.getToken(code));
      } catch {
        throw new ValidationError(
          "Google did not accept the authorization code. Sign in again.",
          "oauth_exchange_failed",
        );
      }
      oauth.setCredentials(tokens);
      let email: string | null | undefined;
      try {
        const gmail = createGmailClient(oauth, ctx.config.google.apiRoot);
        email = (await gmailCall(() => gmail.users.getProfile({ userId: "me" }), { attempts: 3 })).data
          .emailAddress;
      } catch (err) {
        if (err instanceof ReauthRequiredError) {
          throw new ValidationError(
            "inbox-sync needs read access to Gmail: tick the Gmail box on Google's consent screen.",
            "gmail_scope_missing",
          );
        }
        ctx.logger.warn({ err }, "Gmail profile lookup failed during sign-in");
        throw new AppError(
          "gmail_unavailable",
          "Gmail did not answer. Try signing in again in a moment.",
          502,
        );
      }
      if (!email) throw new ValidationError("Gmail did not say which account this is.", "oauth_no_email");

      if (!tokens.refresh_token && !(await ctx.accounts.holdsRefreshToken(email))) {
        // A returning Google account whose refresh token we lost (or never kept): only the
        // consent screen makes Google issue another.
        if (parseCookies(req.headers.cookie ?? "")[CONSENT_COOKIE] === "1") {
          throw new ValidationError(
            "Google did not grant lasting access to Gmail, so syncing in the background cannot work. Sign in again.",
            "oauth_offline_denied",
          );
        }
        res.redirect(302, `/auth/google?consent=1&login_hint=${encodeURIComponent(email)}`);
        return;
      }
      res.clearCookie(CONSENT_COOKIE, cookieOptions);
      const user = await ctx.accounts.connect(email, tokens);
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
