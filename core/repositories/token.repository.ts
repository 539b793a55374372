import { Op, type Sequelize, type WhereOptions } from "sequelize";
import type { TokenScope } from "../auth/scopes";
import type { ApiToken } from "../db/models/ApiToken";
import type { User } from "../db/models/User";

export type { ApiToken };

const unexpired = (now: Date): WhereOptions => ({
  [Op.or]: [{ expiresAt: null }, { expiresAt: { [Op.gt]: now } }],
});

/**
 * The `api_tokens` table (hashes only). Every token written here has an expiry; a row without
 * one (written before expiries existed, none left after migration 0012) lasts until revoked.
 */
export class TokenRepository {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly ApiTokenModel: typeof ApiToken,
    private readonly UserModel: typeof User,
  ) {}

  /**
   * A new token, unless the user already holds `cap` unexpired ones (null then). The user's row
   * is locked while counting, so concurrent requests cannot both take the last place.
   */
  createUnderCap(
    values: { userId: string; name: string; tokenHash: string; scopes: TokenScope[]; expiresAt: Date },
    cap: number,
    now: Date,
  ): Promise<ApiToken | null> {
    return this.sequelize.transaction(async (transaction) => {
      await this.UserModel.findByPk(values.userId, {
        transaction,
        lock: transaction.LOCK.UPDATE,
        attributes: ["id"],
      });
      const live = await this.ApiTokenModel.count({
        where: { userId: values.userId, ...unexpired(now) },
        transaction,
      });
      if (live >= cap) return null;
      return this.ApiTokenModel.create(values, { transaction });
    });
  }

  /** The token with this hash, expired or not: an expired token is told apart from an unknown one. */
  findByHash(tokenHash: string): Promise<ApiToken | null> {
    return this.ApiTokenModel.findOne({ where: { tokenHash } });
  }

  /** Sets last use to `now` unless someone wrote it after `staleBefore`, so racing nodes write once. */
  async touch(id: string, now: Date, staleBefore: Date): Promise<void> {
    await this.ApiTokenModel.update(
      { lastUsedAt: now },
      { where: { id, [Op.or]: [{ lastUsedAt: null }, { lastUsedAt: { [Op.lte]: staleBefore } }] } },
    );
  }

  /** The user's tokens, newest first, expired ones included. */
  listOf(userId: string): Promise<ApiToken[]> {
    return this.ApiTokenModel.findAll({ where: { userId }, order: [["createdAt", "DESC"]] });
  }

  /** Deletes one of the user's tokens; false when none of theirs has that id. */
  async deleteOf(userId: string, id: string): Promise<boolean> {
    return (await this.ApiTokenModel.destroy({ where: { id, userId } })) > 0;
  }

  /** Which of `ids` are unexpired. */
  async liveIds(ids: string[], now: Date): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.ApiTokenModel.findAll({
      where: { id: ids, ...unexpired(now) },
      attributes: ["id"],
    });
    return rows.map((r) => r.id);
  }

  /** Deletes expired tokens; answers how many. */
  deleteExpired(now: Date): Promise<number> {
    return this.ApiTokenModel.destroy({ where: { expiresAt: { [Op.lte]: now } } });
  }
}
