import type { Credentials } from "google-auth-library";
import type { Sequelize } from "sequelize";
import type { Config } from "../config";
import { GmailAccount } from "../db/models/GmailAccount";
import { User } from "../db/models/User";
import { ReauthRequiredError } from "../errors";
import { createGmailClient, createOAuthClient, type GmailClient } from "../gmail/googleClients";
import { type StoredTokens, TokenCipher } from "../gmail/TokenCipher";

/** Users and their Gmail connections: the only code that decrypts OAuth tokens. */
export class AccountService {
  private readonly cipher: TokenCipher;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly google: Config["google"],
    encryptionKey: Buffer,
  ) {
    this.cipher = new TokenCipher(encryptionKey);
  }

  /**
   * Signs a Gmail account in: the user is found or created by address and the token set is
   * stored encrypted. Google sends a refresh token only on consent, so an answer without one
   * keeps the stored one.
   */
  async connect(email: string, tokens: Credentials): Promise<User> {
    const address = email.trim().toLowerCase();
    return this.sequelize.transaction(async (transaction) => {
      const [user] = await User.findOrCreate({ where: { email: address }, transaction });
      const existing = await GmailAccount.findOne({ where: { userId: user.id }, transaction, lock: true });
      const previous = existing ? this.cipher.decrypt(existing.encryptedTokens, user.id) : {};
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

  /** Whether we hold a refresh token for this Gmail address (Google sends one only once). */
  async holdsRefreshToken(email: string): Promise<boolean> {
    const user = await User.findOne({ where: { email: email.trim().toLowerCase() } });
    const account = user ? await GmailAccount.findOne({ where: { userId: user.id } }) : null;
    if (!user || !account) return false;
    try {
      return Boolean(this.cipher.decrypt(account.encryptedTokens, user.id).refresh_token);
    } catch {
      return false;
    }
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
