import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { Op, type WhereOptions } from "sequelize";
import { ApiToken } from "../db/models/ApiToken";
import { Session } from "../db/models/Session";
import { User } from "../db/models/User";
import { AppError } from "../errors";

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
const unexpired = (now: Date): WhereOptions => ({
  [Op.or]: [{ expiresAt: null }, { expiresAt: { [Op.gt]: now } }],
});

/**
 * Browser sessions and API tokens. The cookie holds `<secret>.<hmac>`; the database holds only
 * the secret's SHA-256, so neither a stolen database nor a forged cookie opens a session. A
 * session ends 30 days after sign-in, or earlier after `idleHours` without use.
 */
export class SessionService {
  private readonly idleMs: number;

  constructor(
    private readonly signingSecret: string,
    options: SessionServiceOptions = {},
  ) {
    this.idleMs = (options.idleHours ?? 72) * 3_600_000;
  }

  private sign(value: string): string {
    return createHmac("sha256", this.signingSecret).update(value).digest("base64url");
  }

  /** Conditions a session row must meet to be in force now. */
  private live(now: Date): WhereOptions {
    return { expiresAt: { [Op.gt]: now }, lastSeenAt: { [Op.gt]: new Date(now.getTime() - this.idleMs) } };
  }

  async create(userId: string): Promise<{ cookie: string; session: Session }> {
    const secret = randomBytes(32).toString("base64url");
    const session = await Session.create({
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
    const session = await Session.findOne({ where: { id: sha256(secret), ...this.live(now) } });
    if (!session) return null;
    if (now.getTime() - session.lastSeenAt.getTime() >= TOUCH_EVERY_MS) {
      // Conditional, so that nodes answering the same session at once write it once.
      await Session.update(
        { lastSeenAt: now },
        { where: { id: session.id, lastSeenAt: { [Op.lte]: new Date(now.getTime() - TOUCH_EVERY_MS) } } },
      ).catch(() => {});
    }
    return { userId: session.userId, sessionId: session.id, csrfToken: session.csrfToken, via: "session" };
  }

  async destroy(sessionId: string): Promise<void> {
    await Session.destroy({ where: { id: sessionId } });
  }

  /** Ends every session of the user; answers their ids (their sockets are to be closed). */
  async destroyAllOf(userId: string): Promise<string[]> {
    const rows = await Session.findAll({ where: { userId }, attributes: ["id"] });
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    await Session.destroy({ where: { userId } });
    return ids;
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
    const sequelize = ApiToken.sequelize!;
    return sequelize.transaction(async (transaction) => {
      await User.findByPk(userId, { transaction, lock: transaction.LOCK.UPDATE, attributes: ["id"] });
      const now = new Date();
      const live = await ApiToken.count({ where: { userId, ...unexpired(now) }, transaction });
      if (live >= TOKEN_CAP) {
        throw new AppError(
          "too_many_tokens",
          `You already have ${TOKEN_CAP} API tokens. Revoke one you no longer use first.`,
          409,
        );
      }
      const token = `isk_${randomBytes(32).toString("base64url")}`;
      const expiresAt =
        options.expiresInDays === undefined ? null : new Date(now.getTime() + options.expiresInDays * DAY_MS);
      const row = await ApiToken.create(
        { userId, name, tokenHash: sha256(token), expiresAt },
        { transaction },
      );
      return { token, info: tokenInfo(row) };
    });
  }

  async fromToken(token: string | undefined): Promise<Principal | null> {
    if (!token || token.length > 200) return null;
    const now = new Date();
    const row = await ApiToken.findOne({ where: { tokenHash: sha256(token), ...unexpired(now) } });
    if (!row) return null;
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() >= TOUCH_EVERY_MS) {
      const stale = new Date(now.getTime() - TOUCH_EVERY_MS);
      await ApiToken.update(
        { lastUsedAt: now },
        { where: { id: row.id, [Op.or]: [{ lastUsedAt: null }, { lastUsedAt: { [Op.lte]: stale } }] } },
      ).catch(() => {});
    }
    return { userId: row.userId, tokenId: row.id, via: "token" };
  }

  /** The user's tokens, newest first, expired ones included until the purge job removes them. */
  async listTokens(userId: string): Promise<TokenInfo[]> {
    const rows = await ApiToken.findAll({ where: { userId }, order: [["createdAt", "DESC"]] });
    return rows.map(tokenInfo);
  }

  /** Deletes one of the user's tokens; false when the id is unknown or another user's. */
  async revokeToken(userId: string, tokenId: string): Promise<boolean> {
    if (!UUID.test(tokenId)) return false;
    return (await ApiToken.destroy({ where: { id: tokenId, userId } })) > 0;
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
    const [sessions, tokens] = await Promise.all([
      ids.sessionIds.length
        ? Session.findAll({ where: { id: ids.sessionIds, ...this.live(now) }, attributes: ["id"] })
        : [],
      ids.tokenIds.length
        ? ApiToken.findAll({ where: { id: ids.tokenIds, ...unexpired(now) }, attributes: ["id"] })
        : [],
    ]);
    return {
      sessionIds: new Set(sessions.map((s) => s.id)),
      tokenIds: new Set(tokens.map((t) => t.id)),
    };
  }

  /** Deletes sessions past either expiry and expired API tokens (the maintenance job). */
  async purgeExpired(): Promise<{ sessions: number; tokens: number }> {
    const now = new Date();
    const [sessions, tokens] = await Promise.all([
      Session.destroy({
        where: {
          [Op.or]: [
            { expiresAt: { [Op.lte]: now } },
            { lastSeenAt: { [Op.lte]: new Date(now.getTime() - this.idleMs) } },
          ],
        },
      }),
      ApiToken.destroy({ where: { expiresAt: { [Op.lte]: now } } }),
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
