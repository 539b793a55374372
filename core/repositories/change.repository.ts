import { QueryTypes, type Sequelize } from "sequelize";
import type { ChangeType } from "../changeTypes";

export type { ChangeType };

/** One row of `changes` (migration 0013). */
export interface ChangeRow {
  seq: number;
  type: ChangeType;
  /** The Gmail id, on `message.*` changes. */
  messageId: string | null;
  at: Date;
}

/** What one read of the feed finds, all from one snapshot. */
export interface ChangePage {
  /** Up to `limit` changes after the cursor, in seq order. */
  changes: ChangeRow[];
  /** The user's last seq: every change up to it is committed and visible to this read. */
  head: number;
  /** The highest seq the retention job removed; a cursor below it has lost changes. */
  prunedThrough: number;
}

/**
 * The SQL that records the rows of the CTE `source` (columns `type text, message_id text`) as
 * changes of the user `user` (a placeholder: `$userId` or `:userId`), to be appended to a
 * statement's WITH list: `WITH ins AS (…), src AS (SELECT … FROM ins)${recordChanges("src", "$userId")} SELECT …`.
 *
 * It takes its numbers from the user's `change_feeds` row in the same statement, so the changes
 * commit (or vanish) with the write that made them. That row's lock, held to commit, orders the
 * user's writers: a writer numbers its changes only after the previous one committed, so a
 * follower that sees seq n also sees every seq below it, and there are no gaps (ADR 0015).
 *
 * The counter row is the last lock a write takes: `source` (and `after`, a CTE such as the
 * account's count update, that must run first) are read before it, so two writers of one user
 * can never each hold what the other waits for.
 */
export function recordChanges(source: string, user: string, after?: string): string {
  const first = after ? `WHERE (SELECT count(*) FROM ${after}) >= 0` : "";
  return `,
    feed_seq AS (
      INSERT INTO change_feeds AS f (user_id, last_seq)
      SELECT CAST(${user} AS uuid), count(*) FROM ${source} ${first} HAVING count(*) > 0
      ON CONFLICT (user_id) DO UPDATE SET last_seq = f.last_seq + excluded.last_seq
      RETURNING last_seq),
    feed_rows AS (
      INSERT INTO changes (user_id, seq, type, message_id)
      SELECT CAST(${user} AS uuid), s.last_seq - n.total + n.i, n.type, n.message_id
      FROM feed_seq s,
           (SELECT type, message_id, row_number() OVER () AS i, count(*) OVER () AS total FROM ${source}) n)`;
}

/** The `changes` and `change_feeds` tables (migration 0013): reading one user's feed, and retention. */
export class ChangeRepository {
  constructor(private readonly sequelize: Sequelize) {}

  /**
   * Up to `limit` of the user's changes after `since`, with the feed's head and how far it was
   * pruned, in one statement (one snapshot: the head counts exactly what the page can see).
   */
  async read(userId: string, since: number, limit: number): Promise<ChangePage> {
    const rows = await this.sequelize.query<{
      head: string | null;
      pruned: string | null;
      seq: string | null;
      type: ChangeType | null;
      message_id: string | null;
      at: Date | null;
    }>(
      `SELECT f.last_seq AS head, f.pruned_through AS pruned, c.seq, c.type, c.message_id, c.at
       FROM (SELECT 1) one
       LEFT JOIN change_feeds f ON f.user_id = $userId
       LEFT JOIN LATERAL (
         SELECT seq, type, message_id, at FROM changes
         WHERE user_id = $userId AND seq > $since ORDER BY seq LIMIT $limit) c ON true
       ORDER BY c.seq`,
      { bind: { userId, since, limit }, type: QueryTypes.SELECT },
    );
    const first = rows[0];
    return {
      head: Number(first?.head ?? 0),
      prunedThrough: Number(first?.pruned ?? 0),
      changes: rows
        .filter((r) => r.seq !== null)
        .map((r) => ({ seq: Number(r.seq), type: r.type!, messageId: r.message_id, at: r.at! })),
    };
  }

  /**
   * Removes every user's changes older than `before`. Per user it removes a prefix of the feed
   * (every seq up to the highest one older than `before`; `at` is the writing transaction's start
   * and need not grow with seq), and records it in `pruned_through`, so a cursor inside the
   * removed part is told so (410) rather than silently skipping. Answers how many rows went.
   */
  async prune(before: Date): Promise<number> {
    const [row] = await this.sequelize.query<{ n: string }>(
      `WITH cut AS (SELECT user_id, max(seq) AS upto FROM changes WHERE at < :before GROUP BY user_id),
       moved AS (
         UPDATE change_feeds f SET pruned_through = cut.upto FROM cut
         WHERE f.user_id = cut.user_id AND f.pruned_through < cut.upto
         RETURNING f.user_id, f.pruned_through),
       gone AS (
         DELETE FROM changes c USING moved
         WHERE c.user_id = moved.user_id AND c.seq <= moved.pruned_through RETURNING 1)
       SELECT count(*) AS n FROM gone`,
      { replacements: { before }, type: QueryTypes.SELECT },
    );
    return Number(row?.n ?? 0);
  }
}
