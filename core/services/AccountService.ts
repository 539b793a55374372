import type { Credentials } from "google-auth-library";
import { Op, type Sequelize, type Transaction, UniqueConstraintError } from "sequelize";
import type { Config } from "../config";
import { GmailAccount } from "../db/models/GmailAccount";
import { User } from "../db/models/User";
import { ReauthRequiredError } from "../errors";
import { createGmailClient, createOAuthClient, type GmailClient } from "../gmail/googleClients";
import type { GoogleIdentity } from "../gmail/idToken";
import { type StoredTokens, TokenCipher } from "../gmail/TokenCipher";

/** What `reencryptAll` did: rows sealed again under the current key, and rows no key opens. */
export interface ReencryptReport {
  resealed: number;
  unreadable: number;
}

/** Users and their Gmail connections: the only code that decrypts OAuth tokens. */
export class AccountService {
  private readonly cipher: TokenCipher;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly google: Config["google"],
    encryptionKey: Buffer,
    /** Keys being rotated out (TOKEN_ENCRYPTION_KEYS_OLD): they open, the current key seals. */
    oldKeys: readonly Buffer[] = [],
  ) {
    this.cipher = new TokenCipher(encryptionKey, oldKeys);
  }

  /**
   * The user Google's account id names, inside `transaction` and locked. A user from before ids
   * were kept is found by address once and tied to the id. A user tied to another id is never
   * taken over by address: that address now belongs to another Google account (see 0005).
   */
  private async userFor(identity: GoogleIdentity, transaction: Transaction): Promise<User | null> {
    const bySub = await User.findOne({ where: { googleSub: identity.sub }, transaction, lock: true });
    if (bySub) return bySub;
    const legacy = await User.findOne({
      where: { googleSub: { [Op.is]: null }, email: identity.email },
      transaction,
      lock: true,
    });
    if (legacy) await legacy.update({ googleSub: identity.sub }, { transaction });
    return legacy;
  }

  /**
   * Signs a Google account in: the user is found by Google's account id (or, once, by address for
   * users from before ids were kept) or created, follows an address change, and the token set is
   * stored encrypted. `mailbox` is the Gmail address we sync. Google sends a refresh token only
   * on consent, so an answer without one keeps the stored one.
   */
  async connect(identity: GoogleIdentity, mailbox: string, tokens: Credentials): Promise<User> {
    try {
      return await this.connectOnce(identity, mailbox, tokens);
    } catch (err) {
      // Two first sign-ins of one account at once: the loser of the unique id finds the winner's user.
      if (!(err instanceof UniqueConstraintError)) throw err;
      return this.connectOnce(identity, mailbox, tokens);
    }
  }

  private connectOnce(identity: GoogleIdentity, mailbox: string, tokens: Credentials): Promise<User> {
    const address = mailbox.trim().toLowerCase();
    return this.sequelize.transaction(async (transaction) => {
      let user = await this.userFor(identity, transaction);
      if (!user) {
        user = await User.create({ email: identity.email, googleSub: identity.sub }, { transaction });
      } else if (user.email !== identity.email) {
        await user.update({ email: identity.email }, { transaction });
      }
      const existing = await GmailAccount.findOne({ where: { userId: user.id }, transaction, lock: true });
      const previous = existing ? this.readable(existing.encryptedTokens, user.id) : {};
      const merged: StoredTokens = {
        access_token: tokens.access_token ?? null,
        refresh_token: tokens.refresh_token ?? previous.refresh_token ?? null,
        expiry_date: tokens.expiry_date ?? null,
        scope: tokens.scope ?? null,
        token_type: tokens.token_type ?? null,
      };
      const encryptedTokens = this.cipher.encrypt(merged, user.id);
      if (existing) {
        await existing.update(
          { email: address, encryptedTokens, scope: merged.scope, status: "connected" },
          { transaction },
        );
      } else {
        await GmailAccount.create(
          { userId: user.id, email: address, encryptedTokens, scope: merged.scope, status: "connected" },
          { transaction },
        );
      }
      return user;
    });
  }

  /** The stored token set, or none when no configured key opens it (it was sealed by a retired key). */
  private readable(envelope: string, userId: string): StoredTokens {
    try {
      return this.cipher.decrypt(envelope, userId);
    } catch {
      return {};
    }
  }

  /**
   * Whether signing this Google account in can do without the consent screen: we hold a refresh
   * token for it and nothing says Google stopped honouring it. Google sends a refresh token only
   * on the first grant or on consent, so without one (lost, or reauth_required: revoked, expired,
   * password changed) only `prompt=consent` brings a working one.
   */
  async holdsUsableGrant(identity: GoogleIdentity): Promise<boolean> {
    const user =
      (await User.findOne({ where: { googleSub: identity.sub } })) ??
      (await User.findOne({ where: { googleSub: { [Op.is]: null }, email: identity.email } }));
    return user ? this.grantUsable(user.id) : false;
  }

  /** See holdsUsableGrant; by user id (a signed-in browser's "Reconnect Gmail"). */
  async grantUsable(userId: string): Promise<boolean> {
    const account = await this.findAccount(userId);
    if (account?.status !== "connected") return false;
    return Boolean(this.readable(account.encryptedTokens, userId).refresh_token);
  }

  findUser(userId: string): Promise<User | null> {
    return User.findByPk(userId);
  }

  findAccount(userId: string): Promise<GmailAccount | null> {
    return GmailAccount.findOne({ where: { userId } });
  }

  /**
   * A Gmail client acting for the user. Tokens the library refreshes are written back
   * (encrypted), so the next sync does not refresh again.
   */
  async gmailFor(userId: string): Promise<GmailClient> {
    const account = await this.findAccount(userId);
    if (!account || account.status === "reauth_required") throw new ReauthRequiredError();
    const stored = this.cipher.decrypt(account.encryptedTokens, userId);
    if (!stored.refresh_token && !stored.access_token) throw new ReauthRequiredError();
    if (this.cipher.isStale(account.encryptedTokens))
      await this.reseal(userId, account.encryptedTokens, stored);
    const auth = createOAuthClient(this.google);
    auth.setCredentials({ ...stored, scope: stored.scope ?? undefined });
    auth.on("tokens", (fresh) => {
      const merged: StoredTokens = {
        ...stored,
        ...fresh,
        refresh_token: fresh.refresh_token ?? stored.refresh_token,
      };
      void GmailAccount.update(
        { encryptedTokens: this.cipher.encrypt(merged, userId) },
        // A refresh finishing after a disconnect must not bring the forgotten tokens back.
        { where: { userId, status: "connected" } },
      ).catch(() => {});
    });
    return createGmailClient(auth, this.google.apiRoot);
  }

  /**
   * Seals `tokens` again under the current key, unless the row changed since it was read (a
   * refresh or a sign-in wrote newer tokens, already under the current key).
   */
  private async reseal(userId: string, envelope: string, tokens: StoredTokens): Promise<boolean> {
    const [count] = await GmailAccount.update(
      { encryptedTokens: this.cipher.encrypt(tokens, userId) },
      { where: { userId, encryptedTokens: envelope } },
    );
    return count > 0;
  }

  /**
   * Key rotation's last step (`npm run rotate-keys`): every token set not sealed by the current
   * key is sealed again by it, so the old keys can be retired. Rows no configured key opens are
   * counted, not changed: their owners sign in again.
   */
  async reencryptAll(batchSize = 200): Promise<ReencryptReport> {
    const report: ReencryptReport = { resealed: 0, unreadable: 0 };
    const current = `v2.${this.cipher.currentKeyId}.%`;
    let after: string | undefined;
    for (;;) {
      const rows = await GmailAccount.findAll({
        where: {
          encryptedTokens: { [Op.notLike]: current },
          ...(after === undefined ? {} : { userId: { [Op.gt]: after } }),
        },
        order: [["userId", "ASC"]],
        limit: batchSize,
      });
      if (rows.length === 0) return report;
      for (const row of rows) {
        let tokens: StoredTokens;
        try {
          tokens = this.cipher.decrypt(row.encryptedTokens, row.userId);
        } catch {
          report.unreadable++;
          continue;
        }
        if (await this.reseal(row.userId, row.encryptedTokens, tokens)) report.resealed++;
      }
      after = rows.at(-1)!.userId;
    }
  }

  async markReauthRequired(userId: string): Promise<void> {
    // A disconnected account stays so: the sync that found the grant gone is not news.
    await GmailAccount.update({ status: "reauth_required" }, { where: { userId, status: "connected" } });
  }

  /**
   * Disconnects Gmail: `revoke` gets the tokens held (to revoke the grant at Google); once it has
   * returned, they are forgotten and the account is marked disconnected. The mail stays.
   */
  async disconnect(
    userId: string,
    revoke: (tokens: StoredTokens | null) => Promise<unknown>,
  ): Promise<boolean> {
    const account = await this.findAccount(userId);
    if (!account) return false;
    let held: StoredTokens | null = null;
    try {
      held = this.cipher.decrypt(account.encryptedTokens, userId);
    } catch {
      // Unreadable (a key no longer configured): nothing to revoke with, still forget it.
    }
    await revoke(held);
    await account.update({
      encryptedTokens: this.cipher.encrypt({}, userId),
      scope: null,
      status: "disconnected",
    });
    return true;
  }
}
