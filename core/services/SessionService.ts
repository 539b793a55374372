import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { Op } from "sequelize";
import { ApiToken } from "../db/models/ApiToken";
import { Session } from "../db/models/Session";

const SESSION_DAYS = 30;
const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");

export interface Principal {
  userId: string;
  /** Set for cookie sessions; API-token callers have none and need no CSRF token. */
  sessionId?: string;
  csrfToken?: string;
  via: "session" | "token";
}

/**
 * Browser sessions and API tokens. The cookie holds `<secret>.<hmac>`; the database holds only
 * the secret's SHA-256, so neither a stolen database nor a forged cookie opens a session.
 */
export class SessionService {
  constructor(private readonly signingSecret: string) {}

  private sign(value: string): string {
    return createHmac("sha256", this.signingSecret).update(value).digest("base64url");
  }

  async create(userId: string): Promise<{ cookie: string; session: Session }> {
    const secret = randomBytes(32).toString("base64url");
    const session = await Session.create({
      id: sha256(secret),
      userId,
      csrfToken: randomBytes(24).toString("base64url"),
      expiresAt: new Date(Date.now() + SESSION_DAYS * 86_400_000),
    });
    return { cookie: `${secret}.${this.sign(secret)}`, session };
  }

  /** The session behind a cookie value, or null when it is forged, unknown or expired. */
  async fromCookie(cookie: string | undefined): Promise<Principal | null> {
    if (!cookie) return null;
    const dot = cookie.lastIndexOf(".");
    if (dot <= 0) return null;
    const secret = cookie.slice(0, dot);
    const expected = Buffer.from(this.sign(secret));
    const given = Buffer.from(cookie.slice(dot + 1));
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    const session = await Session.findOne({
      where: { id: sha256(secret), expiresAt: { [Op.gt]: new Date() } },
    });
    if (!session) return null;
    return { userId: session.userId, sessionId: session.id, csrfToken: session.csrfToken, via: "session" };
  }

  async destroy(sessionId: string): Promise<void> {
    await Session.destroy({ where: { id: sessionId } });
  }

  /** A new API token; the plain value is returned once and never stored. */
  async issueToken(userId: string, name: string): Promise<{ token: string; id: string }> {
    const token = `isk_${randomBytes(32).toString("base64url")}`;
    const row = await ApiToken.create({ userId, name, tokenHash: sha256(token) });
    return { token, id: row.id };
  }

  async fromToken(token: string | undefined): Promise<Principal | null> {
    if (!token || token.length > 200) return null;
    const row = await ApiToken.findOne({ where: { tokenHash: sha256(token) } });
    if (!row) return null;
    void row.update({ lastUsedAt: new Date() }).catch(() => {});
    return { userId: row.userId, via: "token" };
  }
}
