import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { AppError } from "../errors";
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
  via: "session" | "token";
}

/** What the API shows of a token: never the secret, nor its hash. */
export interface TokenInfo {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
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

  constructor(
    private readonly sessions: SessionRepository,
    private readonly tokens: TokenRepository,
    private readonly signingSecret: string,
    options: SessionServiceOptions = {},
  ) {
    this.idleMs = (options.idleHours ?? 72) * 3_600_000;
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
    const now = new Date();
    const session = await this.sessions.findLive(sha256(secret), now, this.idleMs);
    if (!session) return null;
    if (now.getTime() - session.lastSeenAt.getTime() >= TOUCH_EVERY_MS) {
      // Conditional, so that nodes answering the same session at once write it once.
      await this.sessions.touch(session.id, now, new Date(now.getTime() - TOUCH_EVERY_MS)).catch(() => {});
    }
    return { userId: session.userId, sessionId: session.id, csrfToken: session.csrfToken, via: "session" };
  }

  async destroy(sessionId: string): Promise<void> {
    await this.sessions.delete(sessionId);
  }

  /** Ends every session of the user; answers their ids (their sockets are to be closed). */
  async destroyAllOf(userId: string): Promise<string[]> {
    return this.sessions.deleteAllOf(userId);
  }

  /**
   * A new API token; the plain value is returned once and never stored. At most TOKEN_CAP live
   * tokens per user: the user's row is locked while counting, so concurrent requests cannot
   * both take the last place.
   */
  async issueToken(
    userId: string,
    name: string,
    options: { expiresInDays?: number } = {},
  ): Promise<{ token: string; info: TokenInfo }> {
    const now = new Date();
    const token = `isk_${randomBytes(32).toString("base64url")}`;
    const expiresAt =
      options.expiresInDays === undefined ? null : new Date(now.getTime() + options.expiresInDays * DAY_MS);
    const row = await this.tokens.createUnderCap(
      { userId, name, tokenHash: sha256(token), expiresAt },
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
    if (!token || token.length > 200) return null;
    const now = new Date();
    const row = await this.tokens.findLiveByHash(sha256(token), now);
    if (!row) return null;
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() >= TOUCH_EVERY_MS) {
      await this.tokens.touch(row.id, now, new Date(now.getTime() - TOUCH_EVERY_MS)).catch(() => {});
    }
    return { userId: row.userId, tokenId: row.id, via: "token" };
  }

  /** The user's tokens, newest first, expired ones included until the purge job removes them. */
  async listTokens(userId: string): Promise<TokenInfo[]> {
    return (await this.tokens.listOf(userId)).map(tokenInfo);
  }

  /** Deletes one of the user's tokens; false when the id is unknown or another user's. */
  async revokeToken(userId: string, tokenId: string): Promise<boolean> {
    if (!UUID.test(tokenId)) return false;
    return this.tokens.deleteOf(userId, tokenId);
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
  };
}
