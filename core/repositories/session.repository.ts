import { Op } from "sequelize";
import type { Session } from "../db/models/Session";

export type { Session };

/** The `sessions` table. A session is live until `expiresAt` and while used within `idleMs`. */
export class SessionRepository {
  constructor(private readonly SessionModel: typeof Session) {}

  private live(now: Date, idleMs: number) {
    return { expiresAt: { [Op.gt]: now }, lastSeenAt: { [Op.gt]: new Date(now.getTime() - idleMs) } };
  }

  create(values: { id: string; userId: string; csrfToken: string; expiresAt: Date; lastSeenAt: Date }) {
    return this.SessionModel.create(values);
  }

  findLive(id: string, now: Date, idleMs: number): Promise<Session | null> {
    return this.SessionModel.findOne({ where: { id, ...this.live(now, idleMs) } });
  }

  /**
   * Sets last use to `now` unless someone wrote it after `staleBefore`, so racing nodes write once.
   * Answers whether this call wrote it.
   */
  async touch(id: string, now: Date, staleBefore: Date): Promise<boolean> {
    const [count] = await this.SessionModel.update(
      { lastSeenAt: now },
      { where: { id, lastSeenAt: { [Op.lte]: staleBefore } } },
    );
    return count > 0;
  }

  async delete(id: string): Promise<void> {
    await this.SessionModel.destroy({ where: { id } });
  }

  /** Deletes every session of the user; answers their ids. */
  async deleteAllOf(userId: string): Promise<string[]> {
    const rows = await this.SessionModel.findAll({ where: { userId }, attributes: ["id"] });
    if (rows.length === 0) return [];
    await this.SessionModel.destroy({ where: { userId } });
    return rows.map((r) => r.id);
  }

  /** Which of `ids` are live. */
  async liveIds(ids: string[], now: Date, idleMs: number): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.SessionModel.findAll({
      where: { id: ids, ...this.live(now, idleMs) },
      attributes: ["id"],
    });
    return rows.map((r) => r.id);
  }

  /** Deletes sessions past either expiry; answers how many. */
  deleteExpired(now: Date, idleMs: number): Promise<number> {
    return this.SessionModel.destroy({
      where: {
        [Op.or]: [
          { expiresAt: { [Op.lte]: now } },
          { lastSeenAt: { [Op.lte]: new Date(now.getTime() - idleMs) } },
        ],
      },
    });
  }
}
