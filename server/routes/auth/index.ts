import { randomBytes } from "node:crypto";
import { parse as parseCookies } from "cookie";
import { type Request, type Response, Router } from "express";
import { GoogleSignIn } from "../../../core/commands/googleSignIn";
import { rooms } from "../../../core/contract";
import { AppError, ValidationError } from "../../../core/errors";
import { gmailWatchOf } from "../../../core/gmail/watch";
import { cookiePolicy, principalOf, requireCsrf } from "../../middleware/authenticate";
import { validate } from "../../middleware/validate";
import type { WebContext } from "../../WebContext";
import { DEFAULT_RETURN, safeReturnTo } from "./returnTo";
import { beginSignIn, signInCallback, signOut } from "./schema";

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
const FLOW_COOKIE_MS = 10 * 60_000;

/** The sign-in's HTTP half: its cookies, redirects and session; Google's half is GoogleSignIn. */
export function authRoutes(ctx: WebContext): Router {
  const router = Router();
  const { session: sessionCookie, options: cookieOptions } = cookiePolicy(ctx.config);
  // Over https the sign-in's own cookies get the __Host- prefix too: only this origin can set them.
  const prefix = cookieOptions.secure ? "__Host-" : "";
  const STATE_COOKIE = `${prefix}oauth_state`;
  const VERIFIER_COOKIE = `${prefix}oauth_pkce`;
  const CONSENT_COOKIE = `${prefix}oauth_consent`;
  const RETURN_COOKIE = `${prefix}oauth_return`;
  const signIn = new GoogleSignIn({
    google: ctx.config.google,
    accounts: ctx.accounts,
    logger: ctx.logger,
    watch: gmailWatchOf(ctx),
  });

  /** Whether the browser's signed-in user is reconnecting a grant Google no longer honours. */
  const reconnecting = async (req: Request, hint: string | undefined): Promise<boolean> => {
    const principal = await principalOf(ctx.sessions, { cookie: req.headers.cookie }, sessionCookie).catch(
      () => null,
    );
    if (!principal || (await ctx.accounts.grantUsable(principal.userId))) return false;
    const user = await ctx.accounts.findUser(principal.userId);
    return !hint || user?.email === hint.toLowerCase();
  };

  router.get("/auth/google", validate(beginSignIn), async (req: Request, res: Response) => {
    const hint = typeof req.query.login_hint === "string" ? req.query.login_hint.trim() : undefined;
    if (hint !== undefined && hint !== "" && !EMAIL.test(hint)) {
      throw new ValidationError("login_hint must be an e-mail address", "invalid_login_hint");
    }
    const forceConsent = req.query.consent === "1" || (await reconnecting(req, hint || undefined));
    // The state ties the callback to this browser: a callback without the matching cookie is refused.
    const { url, state, codeVerifier } = await signIn.start({
      state: randomBytes(24).toString("base64url"),
      loginHint: hint || undefined,
      forceConsent,
    });
    res.cookie(STATE_COOKIE, state, { ...cookieOptions, maxAge: FLOW_COOKIE_MS });
    res.cookie(VERIFIER_COOKIE, codeVerifier, { ...cookieOptions, maxAge: FLOW_COOKIE_MS });
    // Remembered for the callback: if even a forced consent brings no refresh token, say so
    // rather than send the browser round again.
    if (forceConsent) res.cookie(CONSENT_COOKIE, "1", { ...cookieOptions, maxAge: FLOW_COOKIE_MS });
    else res.clearCookie(CONSENT_COOKIE, cookieOptions);
    // The round through consent again (`consent=1`) keeps the path the first leg remembered.
    const returnTo = safeReturnTo(req.query.returnTo);
    if (returnTo) res.cookie(RETURN_COOKIE, returnTo, { ...cookieOptions, maxAge: FLOW_COOKIE_MS });
    else if (req.query.consent !== "1") res.clearCookie(RETURN_COOKIE, cookieOptions);
    res.redirect(302, url);
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
    validate(signInCallback),
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
      const outcome = await signIn.complete({
        code,
        codeVerifier,
        consentForced: cookies[CONSENT_COOKIE] === "1",
      });
      if (outcome.kind === "consent_needed") {
        res.redirect(302, `/auth/google?consent=1&login_hint=${encodeURIComponent(outcome.email)}`);
        return;
      }
      res.clearCookie(CONSENT_COOKIE, cookieOptions);
      res.clearCookie(VERIFIER_COOKIE, cookieOptions);
      // Signing in ends the session this browser had (and its sockets), whoever it belonged to.
      const previous = await ctx.sessions.fromCookie(cookies[sessionCookie]);
      if (previous?.sessionId) await ctx.sessions.destroy(previous.sessionId);
      if (previous?.sessionId) ctx.io?.in(rooms.session(previous.sessionId)).disconnectSockets(true);
      const { cookie } = await ctx.sessions.create(outcome.userId);
      ctx.logger.info({ userId: outcome.userId }, "signed in");
      res.clearCookie(STATE_COOKIE, cookieOptions);
      res.clearCookie(RETURN_COOKIE, cookieOptions);
      res.cookie(sessionCookie, cookie, { ...cookieOptions, maxAge: 30 * 86_400_000 });
      // Checked again: a cookie is the browser's to change.
      res.redirect(302, safeReturnTo(cookies[RETURN_COOKIE]) ?? DEFAULT_RETURN);
    }),
  );

  router.post("/auth/logout", validate(signOut), async (req: Request, res: Response) => {
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
