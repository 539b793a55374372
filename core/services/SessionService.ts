import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { CachedPrincipal, Invalidation, PrincipalCache } from "../auth/PrincipalCache";
import { DEFAULT_TOKEN_DAYS, DEFAULT_TOKEN_SCOPES, normalizeScopes, type TokenScope } from "../auth/scopes";
import { AppError, ForbiddenError } from "../errors";
import type { Session, SessionRepository } from "../repositories/session.repository";
import type { ApiToken, TokenRepository } from "../repositories/token.repository";

export const SESSION_DAYS = 30;
/** Live (unexpired) API tokens one user may hold. */
export const TOKEN_CAP = 20;
/**
 * A session's last_seen_at and a token's last_used_at are written at most this often: a busy
 * script or tab must not turn every read into a write. The idle expiry is hours, so a minute's
 * slack does not matter.
 */
export const TOUCH_EVERY_MS = 60_000;

const DAY_MS = 86_400_000;
const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface Principal {
  userId: string;
  /** Set for cookie sessions; API-token callers have none and need no CSRF token. */
  sessionId?: string;
  csrfToken?: string;
  /** Set for API-token callers: its sockets sit in `rooms.token(tokenId)`. */
  tokenId?: string;
  /** Set for API-token callers: what the token may do. A session may do everything. */
  scopes?: TokenScope[];
  via: "session" | "token";
}

/** Whether the caller may do what `scope` covers: a session always, a token when it was given it. */
export function hasScope(principal: Principal, scope: TokenScope): boolean {
  return principal.via === "session" || (principal.scopes ?? []).includes(scope);
}

/** What the API shows of a token: never the secret, nor its hash. */
export interface TokenInfo {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  scopes: TokenScope[];
}

/** What to issue: both optional (DEFAULT_TOKEN_DAYS, DEFAULT_TOKEN_SCOPES). */
export interface TokenOptions {
  /** Days until it stops working. */
  expiresInDays?: number;
  /** What it may do; empty is allowed (a token that can only list nothing and revoke itself). */
  scopes?: readonly TokenScope[];
}

export interface SessionServiceOptions {
  /** Hours a session may go unused before it ends. */
  idleHours?: number;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * Browser sessions and API tokens. The cookie holds `<secret>.<hmac>`; the database holds only
 * the secret's SHA-256, so neither a stolen database nor a forged cookie opens a session. A
 * session ends 30 days after sign-in, or earlier after `idleHours` without use.
 */
export class SessionService {
  private readonly idleMs: number;
  private cache: PrincipalCache | null = null;
  private announce: (what: Invalidation) => Promise<void> = async () => {};

  constructor(
    private readonly sessions: SessionRepository,
    private readonly tokens: TokenRepository,
    private readonly signingSecret: string,
    options: SessionServiceOptions = {},
  ) {
    this.idleMs = (options.idleHours ?? 72) * 3_600_000;
  }

  /**
   * Web nodes resolve sessions and tokens through `cache`; `announce` must drop what ended from
   * every node's cache (core/auth/AuthInvalidation.ts) before it resolves.
   */
  useCache(cache: PrincipalCache, announce: (what: Invalidation) => Promise<void>): void {
    this.cache = cache;
    this.announce = announce;
  }

  /** This node's principal cache, if it has one (tests look at its hit count). */
  get principalCache(): PrincipalCache | null {
    return this.cache;
  }

  /** Every node drops what ended from its cache, this one first. */
  private async ended(what: Invalidation): Promise<void> {
    this.cache?.forget(what);
    await this.announce(what);
  }

  /** A deleted user: their sessions and tokens went with them (ON DELETE CASCADE). */
  async userDeleted(userId: string): Promise<void> {
    await this.ended({ users: [userId] });
  }

  /** A cached principal, if it is still in force by both clocks (absolute and idle). */
  private cached(key: string, now: number, idleMs: number | null): CachedPrincipal | undefined {
    const hit = this.cache?.get(key);
    if (!hit) return undefined;
    if (hit.expiresAt && hit.expiresAt.getTime() <= now) return undefined;
    // lastSeenAt is a lower bound: a session that looks idle here may have been used on another
    // node, so the database decides.
    if (idleMs !== null && hit.lastSeenAt && hit.lastSeenAt.getTime() <= now - idleMs) return undefined;
    return hit;
  }

  private sign(value: string): string {
    return createHmac("sha256", this.signingSecret).update(value).digest("base64url");
  }

  async create(userId: string): Promise<{ cookie: string; session: Session }> {
    const secret = randomBytes(32).toString("base64url");
    const session = await this.sessions.create({
      id: sha256(secret),
      userId,
      csrfToken: randomBytes(24).toString("base64url"),
      expiresAt: new Date(Date.now() + SESSION_DAYS * DAY_MS),
      lastSeenAt: new Date(),
    });
    return { cookie: `${secret}.${this.sign(secret)}`, session };
  }

  /** The session behind a cookie value, or null when it is forged, unknown, expired or idle too long. */
  async fromCookie(cookie: string | undefined): Promise<Principal | null> {
    if (!cookie) return null;
    const dot = cookie.lastIndexOf(".");
    if (dot <= 0) return null;
    const secret = cookie.slice(0, dot);
    const expected = Buffer.from(this.sign(secret));
    const given = Buffer.from(cookie.slice(dot + 1));
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    const id = sha256(secret);
    const key = `s:${id}`;
    const now = new Date();
    const at = now.getTime();
    const hit = this.cached(key, at, this.idleMs);
    if (hit) {
      if (at - hit.touchedAt >= TOUCH_EVERY_MS) {
        hit.touchedAt = at;
        const staleBefore = new Date(at - TOUCH_EVERY_MS);
        const wrote = await this.sessions.touch(id, now, staleBefore).catch(() => false);
        // Not written: another node wrote it within the minute, so it is at least staleBefore.
        hit.lastSeenAt = wrote ? now : staleBefore;
      }
      return { ...hit.principal };
    }
    const epoch = this.cache?.epoch() ?? 0;
    const session = await this.sessions.findLive(id, now, this.idleMs);
    if (!session) return null;
    let lastSeenAt = session.lastSeenAt;
    let touchedAt = lastSeenAt.getTime();
    if (at - session.lastSeenAt.getTime() >= TOUCH_EVERY_MS) {
      touchedAt = at;
      // Conditional, so that nodes answering the same session at once write it once.
      const staleBefore = new Date(at - TOUCH_EVERY_MS);
      const wrote = await this.sessions.touch(session.id, now, staleBefore).catch(() => false);
      lastSeenAt = wrote ? now : staleBefore;
    }
    const principal: Principal = {
      userId: session.userId,
      sessionId: session.id,
      csrfToken: session.csrfToken,
      via: "session",
    };
    this.cache?.set(key, { principal, expiresAt: session.expiresAt, lastSeenAt, touchedAt }, epoch);
    return { ...principal };
  }

  async destroy(sessionId: string): Promise<void> {
    await this.sessions.delete(sessionId);
    await this.ended({ sessions: [sessionId] });
  }

  /** Ends every session of the user; answers their ids (their sockets are to be closed). */
  async destroyAllOf(userId: string): Promise<string[]> {
    const ended = await this.sessions.deleteAllOf(userId);
    if (ended.length) await this.ended({ sessions: ended });
    return ended;
  }

  /**
   * A new API token; the plain value is returned once and never stored. At most TOKEN_CAP live
   * tokens per user: the user's row is locked while counting, so concurrent requests cannot
   * both take the last place.
   */
  async issueToken(
    userId: string,
    name: string,
    options: TokenOptions = {},
  ): Promise<{ token: string; info: TokenInfo }> {
    const now = new Date();
    const token = `isk_${randomBytes(32).toString("base64url")}`;
    const expiresAt = new Date(now.getTime() + (options.expiresInDays ?? DEFAULT_TOKEN_DAYS) * DAY_MS);
    const scopes = normalizeScopes(options.scopes ?? DEFAULT_TOKEN_SCOPES);
    const row = await this.tokens.createUnderCap(
      { userId, name, tokenHash: sha256(token), scopes, expiresAt },
      TOKEN_CAP,
      now,
    );
    if (!row) {
      throw new AppError(
        "too_many_tokens",
        `You already have ${TOKEN_CAP} API tokens. Revoke one you no longer use first.`,
        409,
      );
    }
    return { token, info: tokenInfo(row) };
  }

  async fromToken(token: string | undefined): Promise<Principal | null> {
    const resolved = await this.resolveToken(token);
    return resolved === "expired" ? null : resolved;
  }

  /** Like fromToken, but says "expired" for a token that exists and has run out. */
  async resolveToken(token: string | undefined): Promise<Principal | "expired" | null> {
    if (!token || token.length > 200) return null;
    const hash = sha256(token);
    const key = `t:${hash}`;
    const now = new Date();
    const at = now.getTime();
    const hit = this.cached(key, at, null);
    if (hit) {
      if (at - hit.touchedAt >= TOUCH_EVERY_MS) {
        hit.touchedAt = at;
        await this.tokens.touch(hit.principal.tokenId!, now, new Date(at - TOUCH_EVERY_MS)).catch(() => {});
      }
      return { ...hit.principal };
    }
    const epoch = this.cache?.epoch() ?? 0;
    const row = await this.tokens.findByHash(hash);
    if (!row) return null;
    if (row.expiresAt && row.expiresAt.getTime() <= at) return "expired";
    let touchedAt = row.lastUsedAt?.getTime() ?? at;
    if (!row.lastUsedAt || at - row.lastUsedAt.getTime() >= TOUCH_EVERY_MS) {
      touchedAt = at;
      await this.tokens.touch(row.id, now, new Date(at - TOUCH_EVERY_MS)).catch(() => {});
    }
    const principal: Principal = { userId: row.userId, tokenId: row.id, scopes: row.scopes, via: "token" };
    this.cache?.set(key, { principal, expiresAt: row.expiresAt, lastSeenAt: null, touchedAt }, epoch);
    return { ...principal };
  }

  /** The user's tokens, newest first, expired ones included until the purge job removes them. */
  async listTokens(userId: string): Promise<TokenInfo[]> {
    return (await this.tokens.listOf(userId)).map(tokenInfo);
  }

  /**
   * Deletes one of the caller's tokens; false when the id is unknown or another user's. A token
   * may revoke itself only: one that leaked must not be able to cut off its owner's other scripts.
   */
  async revokeToken(by: Principal, tokenId: string): Promise<boolean> {
    if (by.via === "token" && by.tokenId !== tokenId) {
      throw new ForbiddenError(
        "session_required",
        "An API token may revoke only itself; revoke other tokens from a browser session.",
      );
    }
    if (!UUID.test(tokenId)) return false;
    const deleted = await this.tokens.deleteOf(by.userId, tokenId);
    if (deleted) await this.ended({ tokens: [tokenId] });
    return deleted;
  }

  /**
   * Of the given sessions and tokens, those still in force. Web nodes ask this periodically for
   * their open sockets, so a socket outlives neither its session nor its token.
   */
  async stillValid(ids: { sessionIds: string[]; tokenIds: string[] }): Promise<{
    sessionIds: Set<string>;
    tokenIds: Set<string>;
  }> {
    const now = new Date();
    const [sessionIds, tokenIds] = await Promise.all([
      this.sessions.liveIds(ids.sessionIds, now, this.idleMs),
      this.tokens.liveIds(ids.tokenIds, now),
    ]);
    return { sessionIds: new Set(sessionIds), tokenIds: new Set(tokenIds) };
  }

  /** Deletes sessions past either expiry and expired API tokens (the maintenance job). */
  async purgeExpired(): Promise<{ sessions: number; tokens: number }> {
    const now = new Date();
    const [sessions, tokens] = await Promise.all([
      this.sessions.deleteExpired(now, this.idleMs),
      this.tokens.deleteExpired(now),
    ]);
    return { sessions, tokens };
  }
}

function tokenInfo(row: ApiToken): TokenInfo {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: iso(row.lastUsedAt),
    expiresAt: iso(row.expiresAt),
    scopes: row.scopes,
  };
}
