import type { Credentials } from "google-auth-library";
import type { Config } from "../config";
import { ReauthRequiredError } from "../errors";
import { createGmailClient, createOAuthClient, type GmailClient } from "../gmail/googleClients";
import type { GoogleIdentity } from "../gmail/idToken";
import { type StoredTokens, TokenCipher } from "../gmail/TokenCipher";
import type { AccountRepository, GmailAccount, Profile, User } from "../repositories/account.repository";

/** What `reencryptAll` did: rows sealed again under the current key, and rows no key opens. */
export interface ReencryptReport {
  resealed: number;
  unreadable: number;
}

/** Users and their Gmail connections: the only code that decrypts OAuth tokens. */
export class AccountService {
  private readonly cipher: TokenCipher;

  constructor(
    private readonly accounts: AccountRepository,
    private readonly google: Config["google"],
    encryptionKey: Buffer,
    /** Keys being rotated out (TOKEN_ENCRYPTION_KEYS_OLD): they open, the current key seals. */
    oldKeys: readonly Buffer[] = [],
  ) {
    this.cipher = new TokenCipher(encryptionKey, oldKeys);
  }

  /**
   * Signs a Google account in: the user is found by Google's account id (or, once, by address for
   * users from before ids were kept) or created, follows an address change, and the token set is
   * stored encrypted. `mailbox` is the Gmail address we sync. Google sends a refresh token only
   * on consent, so an answer without one keeps the stored one.
   */
  connect(identity: GoogleIdentity, mailbox: string, tokens: Credentials): Promise<User> {
    return this.accounts.signIn(identity, mailbox.trim().toLowerCase(), (userId, stored) => {
      const previous = stored ? this.readable(stored, userId) : {};
      const merged: StoredTokens = {
        access_token: tokens.access_token ?? null,
        refresh_token: tokens.refresh_token ?? previous.refresh_token ?? null,
        expiry_date: tokens.expiry_date ?? null,
        scope: tokens.scope ?? null,
        token_type: tokens.token_type ?? null,
      };
      return { encryptedTokens: this.cipher.encrypt(merged, userId), scope: merged.scope ?? null };
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
    const user = await this.accounts.findUserForSignIn(identity);
    return user ? this.grantUsable(user.id) : false;
  }

  /** See holdsUsableGrant; by user id (a signed-in browser's "Reconnect Gmail"). */
  async grantUsable(userId: string): Promise<boolean> {
    const account = await this.findAccount(userId);
    if (account?.status !== "connected") return false;
    return Boolean(this.readable(account.encryptedTokens, userId).refresh_token);
  }

  /**
   * Deletes the user and, by cascade, everything of theirs (core/commands/deleteAccount.ts).
   * Answers the ids of their tasks that may still have a queue job: the open ones and those
   * created after `jobsSince`.
   */
  deleteUser(userId: string, jobsSince: Date): Promise<string[]> {
    return this.accounts.deleteUser(userId, jobsSince);
  }

  findUser(userId: string): Promise<User | null> {
    return this.accounts.findUser(userId);
  }

  findAccount(userId: string): Promise<GmailAccount | null> {
    return this.accounts.findAccount(userId);
  }

  /** What `GET /api/me` shows, in one query. */
  profile(userId: string): Promise<Profile | null> {
    return this.accounts.profile(userId);
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
      // A refresh finishing after a disconnect must not bring the forgotten tokens back.
      void this.accounts.storeRefreshedTokens(userId, this.cipher.encrypt(merged, userId)).catch(() => {});
    });
    return createGmailClient(auth, this.google.apiRoot);
  }

  /**
   * Seals `tokens` again under the current key, unless the row changed since it was read (a
   * refresh or a sign-in wrote newer tokens, already under the current key).
   */
  private reseal(userId: string, envelope: string, tokens: StoredTokens): Promise<boolean> {
    return this.accounts.replaceTokensIf(userId, envelope, this.cipher.encrypt(tokens, userId));
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
      const rows = await this.accounts.accountsNotLike(current, after, batchSize);
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
    await this.accounts.markReauthRequired(userId);
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
    await this.accounts.markDisconnected(userId, this.cipher.encrypt({}, userId));
    return true;
  }
}
