import { QueryTypes, type Sequelize } from "sequelize";
/**
 * What one read of the feed finds, all from one snapshot. The changes come as the API's JSON,
 * built by PostgreSQL: a page is sent on as it is, without a JavaScript object per change.
 */
export interface ChangePage {
  /** Up to `limit` changes after the cursor, in seq order: a JSON array of the API's `Change`. */
  json: string;
  /** How many changes `json` holds, and the seq of the last one (null when none). */
  count: number;
  last: number | null;
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

/** The `changes` and `change_feeds` tables (migration 0015): reading one user's feed, and retention. */
export class ChangeRepository {
  constructor(private readonly sequelize: Sequelize) {}

  /**
   * Up to `limit` of the user's changes after `since`, as the API's JSON with `accountId` (the
   * user's Gmail account's id, as GET /api/accounts gives it), and the
   * feed's head and how far it was pruned, in one statement (one snapshot: the head counts exactly
   * what the page can see). `messageId` is left out where there is none; `at` is ISO-8601 UTC to
   * the millisecond, as `Date.toISOString` writes it. The objects are concatenated rather than
   * built with json_build_object, half the database's work per page; `type` is one of
   * CHANGE_TYPES (no character to escape) and the ids go through to_json.
   */
  async read(userId: string, since: number, limit: number): Promise<ChangePage> {
    const [row] = await this.sequelize.query<{
      head: string | null;
      pruned: string | null;
      count: string;
      last: string | null;
      json: string;
    }>(
      `WITH page AS (
         SELECT seq, type, message_id, at FROM changes
         WHERE user_id = $userId AND seq > $since ORDER BY seq LIMIT $limit)
       , account AS (SELECT to_json(id::text)::text AS id FROM gmail_accounts WHERE user_id = $userId)
       SELECT f.last_seq AS head, f.pruned_through AS pruned,
              (SELECT count(*) FROM page) AS count, (SELECT max(seq) FROM page) AS last,
              (SELECT '[' || coalesce(string_agg(
                  '{"seq":' || seq || ',"type":"' || type || '","accountId":' || coalesce((SELECT id FROM account), 'null')
                  || coalesce(',"messageId":' || to_json(message_id), '')
                  || ',"at":"' || to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"}',
                  ',' ORDER BY seq), '') || ']'
               FROM page) AS json
       FROM (SELECT 1) one LEFT JOIN change_feeds f ON f.user_id = $userId`,
      { bind: { userId, since, limit }, type: QueryTypes.SELECT },
    );
    return {
      json: row?.json ?? "[]",
      count: Number(row?.count ?? 0),
      last: row?.last == null ? null : Number(row.last),
      head: Number(row?.head ?? 0),
      prunedThrough: Number(row?.pruned ?? 0),
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
