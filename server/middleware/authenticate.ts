import { timingSafeEqual } from "node:crypto";
import { parse as parseCookies } from "cookie";
import type { NextFunction, Request, Response } from "express";
import type { Config } from "../../core/config";
import { ForbiddenError, UnauthorizedError } from "../../core/errors";
import type { Principal, SessionService } from "../../core/services/SessionService";

/** The session cookie's name over plain http (development, tests, a local demo). */
export const SESSION_COOKIE = "isid";
/**
 * Its name over https, which production requires. Browsers store a `__Host-` cookie only when it
 * is Secure, has Path=/ and no Domain, so neither a sibling subdomain nor a plain-http page can
 * plant or shadow the session.
 */
export const HOST_SESSION_COOKIE = "__Host-isid";

export interface CookiePolicy {
  /** Name of the session cookie. */
  session: string;
  /** Attributes of every cookie the app sets. */
  options: { httpOnly: true; sameSite: "lax"; secure: boolean; path: "/" };
}

/** Secure, `__Host-` cookies whenever the app is served over https (production requires it, demo aside). */
export function cookiePolicy(config: Pick<Config, "publicUrl">): CookiePolicy {
  const secure = config.publicUrl.startsWith("https://");
  return {
    session: secure ? HOST_SESSION_COOKIE : SESSION_COOKIE,
    options: { httpOnly: true, sameSite: "lax", secure, path: "/" },
  };
}

declare global {
  namespace Express {
    interface Request {
      principal?: Principal;
    }
  }
}

export function bearerOf(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)$/i);
  return match?.[1];
}

/** Resolves a principal from the session cookie or a bearer token, whichever the request has. */
export async function principalOf(
  sessions: SessionService,
  headers: { cookie?: string; authorization?: string },
  sessionCookie: string,
): Promise<Principal | null> {
  const bearer = bearerOf(headers.authorization);
  if (bearer) return sessions.fromToken(bearer);
  const cookies = headers.cookie ? parseCookies(headers.cookie) : {};
  return sessions.fromCookie(cookies[sessionCookie]);
}

/** Every /api route: a signed-in session or an API token, else 401. */
export function requireAuth(sessions: SessionService, sessionCookie: string) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const principal = await principalOf(sessions, req.headers, sessionCookie);
    if (!principal) throw new UnauthorizedError();
    req.principal = principal;
    next();
  };
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * A cookie can be sent by any site's form; a header cannot. Cookie-authenticated writes must
 * echo the session's CSRF token in X-CSRF-Token. Bearer requests carry no ambient credential.
 */
export function requireCsrf(req: Request, _res: Response, next: NextFunction): void {
  const p = req.principal;
  if (p?.via === "session" && UNSAFE.has(req.method)) {
    const sent = Buffer.from(String(req.get("x-csrf-token") ?? ""));
    const expected = Buffer.from(p.csrfToken ?? "");
    if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
      throw new ForbiddenError("csrf_failed", "Missing or wrong X-CSRF-Token header (GET /api/me gives it).");
    }
  }
  next();
}

/** The signed-in user's id; only valid behind requireAuth. */
export function userIdOf(req: Request): string {
  return req.principal!.userId;
}
