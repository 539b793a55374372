import { Op, QueryTypes, type Sequelize, type Transaction, UniqueConstraintError } from "sequelize";
import type { GmailAccount, GmailAccountStatus } from "../db/models/GmailAccount";
import type { User } from "../db/models/User";
import { recordChanges } from "./change.repository";

export type { GmailAccount, User };

/** What `GET /api/me` shows of a user and their Gmail account (none yet: nulls). */
export interface Profile {
  email: string;
  lastSyncAt: Date | null;
  status: GmailAccountStatus | null;
  emailCount: number;
}

/**
 * The account `g` has synced through the deployment whose queue prefix is `:prefix` (its one
 * queue, or a shard `{prefix:n}` of it). Deployments may share a database (each task names its
 * queue, see TaskLease.orphans); background work started without a click (the schedule, watch
 * renewal) stays with the deployment's own users.
 */
/** No sync (or check) of the account's user is queued or running. */
const NO_OPEN_TASK = `NOT EXISTS (SELECT 1 FROM sync_tasks k WHERE k.user_id = g.user_id AND k.state IN ('queued', 'active'))`;

const DEPLOYMENT_TASK = `EXISTS (SELECT 1 FROM sync_tasks d WHERE d.user_id = g.user_id
  AND (d.queue = :prefix OR starts_with(d.queue, :shard)))`;

/** Who signs in, as Google names them. */
export interface SignInIdentity {
  sub: string;
  email: string;
}

/** The token columns a sign-in writes: `previous` is the envelope stored before it, if any. */
export type SealTokens = (
  userId: string,
  previous: string | null,
) => { encryptedTokens: string; scope: string | null };

/** The `users` and `gmail_accounts` tables. Tokens arrive and leave sealed (core/gmail/TokenCipher). */
export class AccountRepository {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly UserModel: typeof User,
    private readonly GmailAccountModel: typeof GmailAccount,
  ) {}

  /**
   * The user Google's account id names, inside `transaction` and locked. A user from before ids
   * were kept is found by address once and tied to the id. A user tied to another id is never
   * taken over by address: that address now belongs to another Google account (see 0005).
   */
  private async userFor(identity: SignInIdentity, transaction: Transaction): Promise<User | null> {
    const bySub = await this.UserModel.findOne({
      where: { googleSub: identity.sub },
      transaction,
      lock: true,
    });
    if (bySub) return bySub;
    const legacy = await this.UserModel.findOne({
      where: { googleSub: { [Op.is]: null }, email: identity.email },
      transaction,
      lock: true,
    });
    if (legacy) await legacy.update({ googleSub: identity.sub }, { transaction });
    return legacy;
  }

  /**
   * A sign-in, in one transaction: the user (found as `userFor` says, or created) follows an
   * address change, and the Gmail account `mailbox` is stored connected with the tokens `seal`
   * makes from the stored ones.
   */
  async signIn(identity: SignInIdentity, mailbox: string, seal: SealTokens): Promise<User> {
    try {
      return await this.signInOnce(identity, mailbox, seal);
    } catch (err) {
      // Two first sign-ins of one account at once: the loser of the unique id finds the winner's user.
      if (!(err instanceof UniqueConstraintError)) throw err;
      return this.signInOnce(identity, mailbox, seal);
    }
  }

  private signInOnce(identity: SignInIdentity, mailbox: string, seal: SealTokens): Promise<User> {
    return this.sequelize.transaction(async (transaction) => {
      let user = await this.userFor(identity, transaction);
      if (!user) {
        user = await this.UserModel.create(
          { email: identity.email, googleSub: identity.sub },
          { transaction },
        );
      } else if (user.email !== identity.email) {
        await user.update({ email: identity.email }, { transaction });
      }
      const existing = await this.GmailAccountModel.findOne({
        where: { userId: user.id },
        transaction,
        lock: true,
      });
      const { encryptedTokens, scope } = seal(user.id, existing?.encryptedTokens ?? null);
      // A new account, or one coming back from re-consent or a disconnect, is news to the feed.
      const news = existing?.status !== "connected";
      if (existing) {
        await existing.update(
          { email: mailbox, encryptedTokens, scope, status: "connected" },
          { transaction },
        );
      } else {
        await this.GmailAccountModel.create(
          { userId: user.id, email: mailbox, encryptedTokens, scope, status: "connected" },
          { transaction },
        );
      }
      // After the account's own write: the feed's counter is the last lock a write takes.
      if (news) await this.recordStateChange(user.id, transaction);
      return user;
    });
  }

  /** The user a sign-in would land on (by Google's id, else a legacy user by address), without writing. */
  async findUserForSignIn(identity: SignInIdentity): Promise<User | null> {
    return (
      (await this.UserModel.findOne({ where: { googleSub: identity.sub } })) ??
      (await this.UserModel.findOne({ where: { googleSub: { [Op.is]: null }, email: identity.email } }))
    );
  }

  findUser(userId: string): Promise<User | null> {
    return this.UserModel.findByPk(userId);
  }

  findAccount(userId: string): Promise<GmailAccount | null> {
    return this.GmailAccountModel.findOne({ where: { userId } });
  }

  /** The user and their account in one round trip, the stored email count included (0007). */
  async profile(userId: string): Promise<Profile | null> {
    const [row] = await this.sequelize.query<{
      email: string;
      last_sync_at: Date | null;
      status: GmailAccountStatus | null;
      email_count: number | null;
    }>(
      `SELECT u.email, g.last_sync_at, g.status, g.email_count
       FROM users u LEFT JOIN gmail_accounts g ON g.user_id = u.id WHERE u.id = :userId`,
      { replacements: { userId }, type: QueryTypes.SELECT },
    );
    if (!row) return null;
    return {
      email: row.email,
      lastSyncAt: row.last_sync_at,
      status: row.status,
      emailCount: Number(row.email_count ?? 0),
    };
  }

  /** Tokens the OAuth client refreshed; only while connected, so a disconnect is never undone. */
  async storeRefreshedTokens(userId: string, encryptedTokens: string): Promise<void> {
    await this.GmailAccountModel.update({ encryptedTokens }, { where: { userId, status: "connected" } });
  }

  /** Replaces the envelope only if it is still `expected` (compare-and-set); answers whether it did. */
  async replaceTokensIf(userId: string, expected: string, encryptedTokens: string): Promise<boolean> {
    const [count] = await this.GmailAccountModel.update(
      { encryptedTokens },
      { where: { userId, encryptedTokens: expected } },
    );
    return count > 0;
  }

  /** Up to `limit` accounts, by user id after `afterUserId`, whose envelope does not match `like`. */
  accountsNotLike(like: string, afterUserId: string | undefined, limit: number): Promise<GmailAccount[]> {
    return this.GmailAccountModel.findAll({
      where: {
        encryptedTokens: { [Op.notLike]: like },
        ...(afterUserId === undefined ? {} : { userId: { [Op.gt]: afterUserId } }),
      },
      order: [["userId", "ASC"]],
      limit,
    });
  }

  /** An `account.state` change of the user, inside `transaction` (which holds their account row). */
  private async recordStateChange(userId: string, transaction: Transaction): Promise<void> {
    await this.sequelize.query(
      `WITH state AS (SELECT 'account.state'::text AS type, NULL::text AS message_id)
       ${recordChanges("state", ":userId")}
       SELECT 1`,
      { replacements: { userId }, transaction },
    );
  }

  /**
   * A connected account whose grant Google no longer honours; a disconnected one stays so. The
   * feed's `account.state` commits with the new state.
   */
  async markReauthRequired(userId: string): Promise<void> {
    await this.sequelize.query(
      `WITH moved AS (
         UPDATE gmail_accounts SET status = 'reauth_required', updated_at = now()
         WHERE user_id = :userId AND status = 'connected'
         RETURNING 'account.state'::text AS type, NULL::text AS message_id)
       ${recordChanges("moved", ":userId")}
       SELECT 1`,
      { replacements: { userId } },
    );
  }

  /**
   * Disconnected: the tokens replaced by `emptyEnvelope`, the scope forgotten. An account that
   * was not disconnected already gets an `account.state` change in the same statement.
   */
  async markDisconnected(userId: string, emptyEnvelope: string): Promise<void> {
    await this.sequelize.query(
      `WITH moved AS (
         UPDATE gmail_accounts g SET encrypted_tokens = :emptyEnvelope, scope = NULL, status = 'disconnected',
                updated_at = now()
         WHERE user_id = :userId
         RETURNING 'account.state'::text AS type, NULL::text AS message_id,
           (SELECT o.status FROM gmail_accounts o WHERE o.user_id = g.user_id) <> 'disconnected' AS moved),
       news AS (SELECT type, message_id FROM moved WHERE moved)
       ${recordChanges("news", ":userId")}
       SELECT 1`,
      { replacements: { userId, emptyEnvelope } },
    );
  }

  // ---- Gmail push and the schedule (migration 0009) ----

  /** What users.watch answered: pushes come until `expiration`; failures before it are over. */
  async saveWatch(userId: string, historyId: string | null, expiration: Date): Promise<void> {
    await this.sequelize.query(
      `UPDATE gmail_accounts SET watch_history_id = :historyId, watch_expiration = :expiration,
              watch_failures = 0, watch_failing_since = NULL, watch_error = NULL
       WHERE user_id = :userId`,
      { replacements: { userId, historyId, expiration } },
    );
  }

  async forgetWatch(userId: string): Promise<void> {
    await this.sequelize.query(
      "UPDATE gmail_accounts SET watch_history_id = NULL, watch_expiration = NULL WHERE user_id = :userId",
      { replacements: { userId } },
    );
  }

  async watchOf(userId: string): Promise<{ historyId: string | null; expiration: Date | null } | null> {
    const [row] = await this.sequelize.query<{
      watch_history_id: string | null;
      watch_expiration: Date | null;
    }>("SELECT watch_history_id, watch_expiration FROM gmail_accounts WHERE user_id = :userId", {
      replacements: { userId },
      type: QueryTypes.SELECT,
    });
    return row ? { historyId: row.watch_history_id, expiration: row.watch_expiration } : null;
  }

  /**
   * Connected accounts that have synced through this deployment's queue (`queuePrefix`; see
   * `DEPLOYMENT_TASK`) whose watch lapses before `before`, or that have none (connected before
   * push was turned on, or a watch call failed): up to `limit`, by user id after `afterUserId`.
   */
  async watchesLapsingBefore(
    queuePrefix: string,
    before: Date,
    afterUserId: string | null,
    limit: number,
  ): Promise<string[]> {
    return this.deploymentAccounts(
      "(g.watch_expiration IS NULL OR g.watch_expiration < :before)",
      { before },
      queuePrefix,
      afterUserId,
      limit,
    );
  }

  /**
   * Accounts the schedule keeps current: connected (not disconnected, not waiting for re-consent),
   * synced once already through this deployment's queue (so the next sync is incremental), with no
   * sync queued or running, whose user used a session or an API token since `since`. Up to
   * `limit`, by user id after `afterUserId`.
   */
  async recentlyActive(
    queuePrefix: string,
    since: Date,
    afterUserId: string | null,
    limit: number,
  ): Promise<string[]> {
    return this.deploymentAccounts(
      `g.history_id IS NOT NULL
         AND (EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = g.user_id AND s.last_seen_at >= :since)
              OR EXISTS (SELECT 1 FROM api_tokens t WHERE t.user_id = g.user_id AND t.last_used_at >= :since))
         AND ${NO_OPEN_TASK}`,
      { since },
      queuePrefix,
      afterUserId,
      limit,
    );
  }

  /**
   * Connected accounts synced once through this deployment's queue whose last completeness check
   * (or, before one, last full sync) is older than `before`, with no task open (the check
   * schedule, docs/health.md): up to `limit`, by user id after `afterUserId`.
   */
  async checksDue(
    queuePrefix: string,
    before: Date,
    afterUserId: string | null,
    limit: number,
  ): Promise<string[]> {
    return this.deploymentAccounts(
      `g.history_id IS NOT NULL AND COALESCE(g.last_check_at, g.last_full_sync_at, g.created_at) < :before
         AND ${NO_OPEN_TASK}`,
      { before },
      queuePrefix,
      afterUserId,
      limit,
    );
  }

  /**
   * A page of the connected accounts of this deployment (`DEPLOYMENT_TASK`) that also meet
   * `where`: up to `limit` user ids, in order, after `afterUserId`.
   */
  private async deploymentAccounts(
    where: string,
    replacements: Record<string, unknown>,
    queuePrefix: string,
    afterUserId: string | null,
    limit: number,
  ): Promise<string[]> {
    const rows = await this.sequelize.query<{ user_id: string }>(
      `SELECT g.user_id FROM gmail_accounts g
       WHERE g.status = 'connected' AND ${DEPLOYMENT_TASK} AND ${where}
         AND (CAST(:after AS uuid) IS NULL OR g.user_id > CAST(:after AS uuid))
       ORDER BY g.user_id LIMIT :limit`,
      {
        replacements: {
          ...replacements,
          after: afterUserId,
          limit,
          prefix: queuePrefix,
          shard: `{${queuePrefix}:`,
        },
        type: QueryTypes.SELECT,
      },
    );
    return rows.map((r) => r.user_id);
  }

  /**
   * Deletes the user; ON DELETE CASCADE takes their account, mail, tasks, sessions and tokens.
   * Answers the ids of the tasks it took that may still have a queue job (open, or created after
   * `jobsSince`), read in the same transaction so a task created meanwhile is not missed.
   */
  deleteUser(userId: string, jobsSince: Date): Promise<string[]> {
    return this.sequelize.transaction(async (transaction) => {
      const tasks = await this.sequelize.query<{ id: string }>(
        `SELECT id FROM sync_tasks
         WHERE user_id = :userId AND (state IN ('queued', 'active') OR created_at > :jobsSince)`,
        { replacements: { userId, jobsSince }, type: QueryTypes.SELECT, transaction },
      );
      await this.UserModel.destroy({ where: { id: userId }, transaction });
      return tasks.map((t) => t.id);
    });
  }
}
