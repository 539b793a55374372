import { timingSafeEqual } from "node:crypto";
import { parse as parseCookies } from "cookie";
import type { NextFunction, Request, Response } from "express";
import type { Config } from "../../core/config";
import { AppError, ForbiddenError, NotFoundError, UnauthorizedError } from "../../core/errors";
import { hasScope, type Principal, type SessionService } from "../../core/services/SessionService";
import { ROUTES } from "../openapi";
import { type RouteSchema, routeFinder } from "../routes/api/route";

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

/** The declared route of a request, if any (its schema.ts carries `auth` and `scope`). */
export type DeclaredRouteOf = (method: string, path: string) => RouteSchema | undefined;

let everyRoute: DeclaredRouteOf | undefined;
/** Every route of the web process, looked up by method and path (server/openapi.ts's ROUTES). */
const declaredRoute: DeclaredRouteOf = (method, path) => {
  everyRoute ??= routeFinder(ROUTES);
  return everyRoute(method, path);
};

/**
 * What the route's declaration allows this caller. A session may call every route but none
 * declared `auth: "none"` needs it; a token only `session_or_token` routes whose scope it holds.
 * A token on a path no route declares gets the 404 it would get further on: every route Express
 * serves is declared (server/openapi.unit.test.ts), so an undeclared one can only be unknown,
 * and a token never reaches a handler whose needs nobody wrote down.
 */
export function authorize(principal: Principal, route: RouteSchema | undefined): void {
  if (principal.via === "session") return;
  if (!route) throw new NotFoundError("route");
  if (route.auth !== "session_or_token") {
    throw new ForbiddenError(
      "session_required",
      "Sign in with a browser session to do this; API tokens cannot.",
    );
  }
  if (route.scope && !hasScope(principal, route.scope)) {
    throw new ForbiddenError(
      "insufficient_scope",
      `This API token lacks the "${route.scope}" scope. Create a token with it from the account page.`,
    );
  }
}

/**
 * A signed-in session or an API token, else 401 (`token_expired` for a token that ran out, so a
 * script can say why); then the route's declared auth and scope (`authorize`). `declared` finds
 * the route: by default among every declared route, by method and full path.
 */
export function requireAuth(
  sessions: SessionService,
  sessionCookie: string,
  declared: DeclaredRouteOf = declaredRoute,
) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const bearer = bearerOf(req.headers.authorization);
    const principal = bearer
      ? await sessions.resolveToken(bearer)
      : await principalOf(sessions, { cookie: req.headers.cookie }, sessionCookie);
    if (principal === "expired") throw new TokenExpiredError();
    if (!principal) throw new UnauthorizedError();
    req.principal = principal;
    authorize(principal, declared(req.method === "HEAD" ? "GET" : req.method, req.baseUrl + req.path));
    next();
  };
}

/** A token that exists but has run out: 401 like an unknown one, with its own code. */
export class TokenExpiredError extends AppError {
  constructor() {
    super("token_expired", "This API token has expired. Create a new one from the account page.", 401);
  }
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
