import { QueryTypes, type Sequelize } from "sequelize";
import type { ListedPage, ListingState, MailMessage, MailStore, SyncListing } from "../sync/MailStore";

/** An `emails` row as the API reads it. */
export interface EmailRow {
  gmail_id: string;
  thread_id: string;
  from_address: string;
  to_address: string;
  subject: string;
  snippet: string;
  date: Date;
  labels: string[];
  size_estimate: number;
  history_id: string | null;
  headers: Record<string, string>;
}

export type EmailSummaryRow = Omit<EmailRow, "size_estimate" | "history_id" | "headers">;

/**
 * One user's mailbox in PostgreSQL: the `emails` rows and the sync cursor on `gmail_accounts`.
 * It is the sync core's `MailStore` (the PostgreSQL one) and the API's reader of stored mail.
 * Every statement is scoped by the user it was made for, so no call can reach another's mail.
 */
export class EmailRepository implements MailStore {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly userId: string,
  ) {}

  /**
   * A page, newest first, strictly after the keyset position `after` (date, Gmail id); `like`
   * is an ILIKE pattern, matched against the expression of the trigram index (migration 0002)
   * so the planner can use it.
   */
  page(options: { limit: number; after?: { date: string; id: string } | null; like?: string | null }) {
    const where = ["user_id = :userId"];
    if (options.after) where.push("(date, gmail_id) < (:afterDate::timestamptz, :afterId)");
    if (options.like) where.push("(subject || ' ' || from_address || ' ' || snippet) ILIKE :like");
    return this.sequelize.query<EmailSummaryRow>(
      `SELECT gmail_id, thread_id, from_address, to_address, subject, snippet, date, labels
       FROM emails WHERE ${where.join(" AND ")}
       ORDER BY date DESC, gmail_id DESC LIMIT :limit`,
      {
        replacements: {
          userId: this.userId,
          afterDate: options.after?.date ?? null,
          afterId: options.after?.id ?? null,
          like: options.like ?? null,
          limit: options.limit,
        },
        type: QueryTypes.SELECT,
      },
    );
  }

  async find(gmailId: string): Promise<EmailRow | null> {
    const [row] = await this.sequelize.query<EmailRow>(
      "SELECT * FROM emails WHERE user_id = :userId AND gmail_id = :gmailId",
      { replacements: { userId: this.userId, gmailId }, type: QueryTypes.SELECT },
    );
    return row ?? null;
  }

  /** The count the upserts and deletes below keep on the account (0007), not a COUNT(*). */
  async count(): Promise<number> {
    const [row] = await this.sequelize.query<{ n: string }>(
      "SELECT email_count AS n FROM gmail_accounts WHERE user_id = :userId",
      { replacements: { userId: this.userId }, type: QueryTypes.SELECT },
    );
    return Number(row?.n ?? 0);
  }

  // ---- MailStore ----

  async getCursor(): Promise<string | null> {
    const [row] = await this.sequelize.query<{ history_id: string | null }>(
      "SELECT history_id FROM gmail_accounts WHERE user_id = :userId",
      { replacements: { userId: this.userId }, type: QueryTypes.SELECT },
    );
    return row?.history_id ?? null;
  }

  async saveCursor(historyId: string): Promise<void> {
    await this.sequelize.query(
      "UPDATE gmail_accounts SET history_id = :historyId, last_sync_at = now(), updated_at = now() WHERE user_id = :userId",
      { replacements: { userId: this.userId, historyId } },
    );
  }

  async listIds(): Promise<string[]> {
    const rows = await this.sequelize.query<{ gmail_id: string }>(
      "SELECT gmail_id FROM emails WHERE user_id = :userId",
      { replacements: { userId: this.userId }, type: QueryTypes.SELECT },
    );
    return rows.map((r) => r.gmail_id);
  }

  async knownIds(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.sequelize.query<{ gmail_id: string }>(
      "SELECT gmail_id FROM emails WHERE user_id = :userId AND gmail_id = ANY(ARRAY[:ids]::text[])",
      { replacements: { userId: this.userId, ids }, type: QueryTypes.SELECT },
    );
    return new Set(rows.map((r) => r.gmail_id));
  }

  async upsert(messages: MailMessage[]): Promise<{ added: number; updated: number }> {
    if (messages.length === 0) return { added: 0, updated: 0 };
    // One statement per batch; `xmax = 0` tells a fresh insert from an update of an existing row,
    // and the account's email_count grows by the fresh ones in the same statement. ON CONFLICT
    // lets one of two writers of a message insert it, so a message stored twice counts once.
    const rows = await this.sequelize.query<{ inserted: boolean }>(
      `WITH up AS (INSERT INTO emails (user_id, gmail_id, thread_id, from_address, to_address, subject, snippet, date,
                           labels, size_estimate, history_id, headers)
       SELECT :userId, m.gmail_id, m.thread_id, m.from_address, m.to_address, m.subject, m.snippet, m.date,
              ARRAY(SELECT jsonb_array_elements_text(m.labels)), m.size_estimate, m.history_id, m.headers
       FROM jsonb_to_recordset(:batch::jsonb) AS m(
         gmail_id text, thread_id text, from_address text, to_address text, subject text, snippet text,
         date timestamptz, labels jsonb, size_estimate integer, history_id text, headers jsonb)
       ON CONFLICT (user_id, gmail_id) DO UPDATE SET
         thread_id = EXCLUDED.thread_id, from_address = EXCLUDED.from_address, to_address = EXCLUDED.to_address,
         subject = EXCLUDED.subject, snippet = EXCLUDED.snippet, date = EXCLUDED.date, labels = EXCLUDED.labels,
         size_estimate = EXCLUDED.size_estimate, history_id = EXCLUDED.history_id, headers = EXCLUDED.headers,
         updated_at = now()
       RETURNING (xmax = 0) AS inserted),
       counted AS (UPDATE gmail_accounts SET email_count = email_count + (SELECT count(*) FROM up WHERE inserted)
         WHERE user_id = :userId AND EXISTS (SELECT 1 FROM up WHERE inserted))
       SELECT inserted FROM up`,
      {
        replacements: {
          userId: this.userId,
          batch: JSON.stringify(
            messages.map((m) => ({
              gmail_id: m.gmailId,
              thread_id: m.threadId,
              from_address: stripNul(m.from),
              to_address: stripNul(m.to),
              subject: stripNul(m.subject),
              snippet: stripNul(m.snippet),
              date: m.date.toISOString(),
              labels: m.labels,
              size_estimate: m.sizeEstimate,
              history_id: m.historyId,
              headers: Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, stripNul(v)])),
            })),
          ),
        },
        type: QueryTypes.SELECT,
      },
    );
    const added = rows.filter((r) => r.inserted).length;
    return { added, updated: rows.length - added };
  }

  async remove(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    // The account's email_count shrinks by the rows this statement deleted, in the same statement.
    const [row] = await this.sequelize.query<{ n: string }>(
      `WITH gone AS (DELETE FROM emails WHERE user_id = :userId AND gmail_id = ANY(ARRAY[:ids]::text[]) RETURNING 1),
       counted AS (UPDATE gmail_accounts SET email_count = email_count - (SELECT count(*) FROM gone)
         WHERE user_id = :userId AND EXISTS (SELECT 1 FROM gone))
       SELECT count(*) AS n FROM gone`,
      { replacements: { userId: this.userId, ids }, type: QueryTypes.SELECT },
    );
    return Number(row?.n ?? 0);
  }

  async setLabels(changes: Array<{ gmailId: string; labels: string[] }>): Promise<number> {
    if (changes.length === 0) return 0;
    const [, meta] = await this.sequelize.query(
      `UPDATE emails e SET labels = ARRAY(SELECT jsonb_array_elements_text(c.labels)), updated_at = now()
       FROM jsonb_to_recordset(:changes::jsonb) AS c(gmail_id text, labels jsonb)
       WHERE e.user_id = :userId AND e.gmail_id = c.gmail_id`,
      {
        replacements: {
          userId: this.userId,
          changes: JSON.stringify(changes.map((c) => ({ gmail_id: c.gmailId, labels: c.labels }))),
        },
      },
    );
    return (meta as { rowCount?: number }).rowCount ?? 0;
  }

  listing(key: string): SyncListing {
    return new PostgresSyncListing(this.sequelize, this, this.userId, key);
  }
}

/** Messages removed per statement by the deletion pass. */
const SWEEP_BATCH = 1_000;

/**
 * A full sync's listing in sync_listing_pages / sync_listed_ids (migration 0006), scoped by the
 * user like every other statement here. It removes through the repository's `remove`, so whatever
 * `remove` keeps in step with the emails (counts) stays right.
 */
class PostgresSyncListing implements SyncListing {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly repo: EmailRepository,
    private readonly userId: string,
    private readonly key: string,
  ) {}

  private get scope() {
    return { userId: this.userId, key: this.key };
  }

  async state(): Promise<ListingState | null> {
    const [row] = await this.sequelize.query<{
      history_id: string;
      estimate: number;
      pages: string;
      listed: string;
      fetched: string;
    }>(
      `SELECT min(p.history_id) AS history_id, min(p.estimate) AS estimate, count(*) AS pages,
              (SELECT count(*) FROM sync_listed_ids l WHERE l.user_id = :userId AND l.listing_key = :key) AS listed,
              (SELECT count(*) FROM sync_listed_ids l JOIN sync_listing_pages d
                 ON d.user_id = l.user_id AND d.listing_key = l.listing_key AND d.page = l.page AND d.done
               WHERE l.user_id = :userId AND l.listing_key = :key) AS fetched
       FROM sync_listing_pages p WHERE p.user_id = :userId AND p.listing_key = :key`,
      { replacements: this.scope, type: QueryTypes.SELECT },
    );
    if (!row || Number(row.pages) === 0) return null;
    return {
      historyId: row.history_id,
      estimate: Number(row.estimate),
      pages: Number(row.pages),
      listed: Number(row.listed),
      fetched: Number(row.fetched),
    };
  }

  async page(index: number): Promise<ListedPage | null> {
    const [row] = await this.sequelize.query<{
      ids: string[];
      next_page_token: string | null;
      done: boolean;
    }>(
      `SELECT ids, next_page_token, done FROM sync_listing_pages
       WHERE user_id = :userId AND listing_key = :key AND page = :index`,
      { replacements: { ...this.scope, index }, type: QueryTypes.SELECT },
    );
    return row ? { index, ids: row.ids, nextPageToken: row.next_page_token, done: row.done } : null;
  }

  async addPage(
    page: Omit<ListedPage, "done">,
    start: { historyId: string; estimate: number },
  ): Promise<void> {
    // One statement: the page and its ids land together or not at all. An id Gmail listed on an
    // earlier page too (the mailbox changed while we walked it) keeps its first page.
    await this.sequelize.query(
      `WITH p AS (
         INSERT INTO sync_listing_pages (user_id, listing_key, page, ids, next_page_token, history_id, estimate)
         VALUES (:userId, :key, :index, ARRAY(SELECT jsonb_array_elements_text(:ids::jsonb)), :next, :historyId, :estimate)
         ON CONFLICT DO NOTHING RETURNING page, ids)
       INSERT INTO sync_listed_ids (user_id, listing_key, gmail_id, page)
       SELECT :userId, :key, id, p.page FROM p, unnest(p.ids) AS id
       ON CONFLICT DO NOTHING`,
      {
        replacements: {
          ...this.scope,
          index: page.index,
          ids: JSON.stringify(page.ids),
          next: page.nextPageToken,
          historyId: start.historyId,
          estimate: start.estimate,
        },
      },
    );
  }

  async markDone(index: number): Promise<void> {
    await this.sequelize.query(
      "UPDATE sync_listing_pages SET done = true WHERE user_id = :userId AND listing_key = :key AND page = :index",
      { replacements: { ...this.scope, index } },
    );
  }

  /**
   * Walks the stored ids in keyset order, 1,000 at a time, and asks the listing which of them it
   * names: two index lookups per step, whatever the planner believes about a table just filled
   * (an anti-join over fresh, unanalysed statistics can turn into a nested loop of scans).
   */
  async sweep(): Promise<number> {
    let removed = 0;
    let after = "";
    for (;;) {
      const stored = await this.sequelize.query<{ gmail_id: string }>(
        `SELECT gmail_id FROM emails WHERE user_id = :userId AND gmail_id > :after
         ORDER BY gmail_id LIMIT :limit`,
        { replacements: { userId: this.userId, after, limit: SWEEP_BATCH }, type: QueryTypes.SELECT },
      );
      if (stored.length === 0) return removed;
      const ids = stored.map((r) => r.gmail_id);
      after = ids[ids.length - 1]!;
      const listed = await this.sequelize.query<{ gmail_id: string }>(
        `SELECT gmail_id FROM sync_listed_ids
         WHERE user_id = :userId AND listing_key = :key AND gmail_id = ANY(ARRAY[:ids]::text[])`,
        { replacements: { ...this.scope, ids }, type: QueryTypes.SELECT },
      );
      const named = new Set(listed.map((r) => r.gmail_id));
      const gone = ids.filter((id) => !named.has(id));
      if (gone.length) removed += await this.repo.remove(gone);
      if (stored.length < SWEEP_BATCH) return removed;
    }
  }

  async clear(): Promise<void> {
    await this.sequelize.query(
      `WITH ids AS (DELETE FROM sync_listed_ids WHERE user_id = :userId AND listing_key = :key)
       DELETE FROM sync_listing_pages WHERE user_id = :userId AND listing_key = :key`,
      { replacements: this.scope },
    );
  }
}

/** PostgreSQL text cannot hold NUL; a hostile header must not fail the whole batch. */
function stripNul(value: string): string {
  return value.includes("\u0000") ? value.replaceAll("\u0000", "") : value;
}
