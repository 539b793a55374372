import { QueryTypes, type Sequelize } from "sequelize";
import { ValidationError } from "../errors";
import { attachmentCount } from "../sync/attachmentCount";
import type {
  ListedPage,
  ListingState,
  MailAttachment,
  MailCoverage,
  MailLabel,
  MailMessage,
  MailStore,
  SyncListing,
  SyncScope,
} from "../sync/MailStore";
import { recordChanges } from "./change.repository";
import { type LabelInfo, LabelRepository } from "./label.repository";

/** An attachment as a message lists it (`emails.attachments`); its data stays in Gmail. */
export type AttachmentMeta = MailAttachment;

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
  /** The decoded text/plain body; null when the message has none or it is not fetched yet. */
  text_body: string | null;
  /** The text/html body as sent (not sanitised); null when none or not fetched yet. */
  html_body: string | null;
  attachments: AttachmentMeta[];
  /** The attachments it shows as files (core/sync/attachmentCount.ts), stored on write (0013). */
  attachment_count: number;
  /** False for rows stored before bodies were (migration 0008) until a sync back-fills them. */
  body_fetched: boolean;
}

export type EmailSummaryRow = Omit<
  EmailRow,
  "size_estimate" | "history_id" | "headers" | "text_body" | "html_body" | "attachments" | "body_fetched"
>;

/** What `list` reads: a page of summaries and the cursor of the next page. */
export interface EmailListOptions {
  /** Rows per page (the caller bounds it). */
  limit: number;
  /** A `nextCursor` an earlier `list` answered; anything else is a ValidationError (invalid_cursor). */
  cursor?: string | null;
  /**
   * Full-text search in websearch syntax (`websearch_to_tsquery('simple', q)`): words (all must
   * match), "a phrase", `a OR b`, `-word` to exclude. Matches subject, sender, snippet and the
   * text body (its first 100,000 characters), ranked subject > sender > snippet > body. When it
   * matches nothing (or holds no word, e.g. "@"), a case-insensitive substring match on subject,
   * sender and snippet answers instead, newest first.
   */
  q?: string | null;
  /** Only messages carrying this Gmail label id (e.g. "INBOX", "Label_1"). */
  label?: string | null;
  /** Only messages of this Gmail thread. */
  threadId?: string | null;
}

const SUMMARY_COLUMNS =
  "gmail_id, thread_id, from_address, to_address, subject, snippet, date, labels, attachment_count";
const DETAIL_COLUMNS = `${SUMMARY_COLUMNS}, size_estimate, history_id, headers, text_body, html_body, attachments, body_fetched`;

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
      `SELECT ${SUMMARY_COLUMNS}
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

  /** One message with its bodies, attachment listing, thread and labels, or null. */
  async find(gmailId: string): Promise<EmailRow | null> {
    const [row] = await this.sequelize.query<EmailRow>(
      `SELECT ${DETAIL_COLUMNS} FROM emails WHERE user_id = :userId AND gmail_id = :gmailId`,
      { replacements: { userId: this.userId, gmailId }, type: QueryTypes.SELECT },
    );
    return row ?? null;
  }

  /**
   * A page of the user's mail, filtered by label and thread, searched by `q` (see
   * EmailListOptions.q). Without `q`: newest first, keyset on (date, gmail id), the cursor
   * EmailService has always issued. With `q`: best match first, keyset on (rank, date, gmail id),
   * so no page repeats or skips a row while the sync inserts others; the rank is carried in the
   * cursor as the exact float8 PostgreSQL computed. A substring-fallback search pages with the
   * plain (date, id) cursor.
   */
  async list(options: EmailListOptions): Promise<{ rows: EmailSummaryRow[]; nextCursor: string | null }> {
    const cursor = options.cursor ? decodeListCursor(options.cursor) : null;
    const q = options.q?.trim() || null;
    const where = ["user_id = :userId"];
    if (options.label) where.push("labels @> ARRAY[:label]::text[]");
    if (options.threadId) where.push("thread_id = :threadId");
    const replacements: Record<string, unknown> = {
      userId: this.userId,
      label: options.label ?? null,
      threadId: options.threadId ?? null,
      limit: options.limit + 1,
      q,
    };
    const finish = (rows: Array<EmailSummaryRow & { rank?: number }>, ranked: boolean) => {
      const more = rows.length > options.limit;
      const page = more ? rows.slice(0, options.limit) : rows;
      const last = page[page.length - 1];
      const nextCursor = more && last ? encodeListCursor(last, ranked ? Number(last.rank) : null) : null;
      return { rows: page.map(({ rank: _r, ...row }) => row as EmailSummaryRow), nextCursor };
    };

    if (q && (!cursor || cursor.rank !== null)) {
      const ranked = [...where, "search_vector @@ query"];
      if (cursor) {
        ranked.push(
          "(ts_rank_cd(search_vector, query)::float8, date, gmail_id) < (:rank::float8, :afterDate::timestamptz, :afterId)",
        );
        Object.assign(replacements, { rank: cursor.rank, afterDate: cursor.date, afterId: cursor.id });
      }
      const rows = await this.sequelize.query<EmailSummaryRow & { rank: number }>(
        `SELECT ${SUMMARY_COLUMNS}, ts_rank_cd(search_vector, query)::float8 AS rank
         FROM emails, websearch_to_tsquery('simple', :q) AS query
         WHERE ${ranked.join(" AND ")}
         ORDER BY rank DESC, date DESC, gmail_id DESC LIMIT :limit`,
        { replacements, type: QueryTypes.SELECT },
      );
      // Words found: that is the answer. None on a first page: the substring search below.
      if (rows.length > 0 || cursor) return finish(rows, true);
    }
    if (cursor) {
      where.push("(date, gmail_id) < (:afterDate::timestamptz, :afterId)");
      Object.assign(replacements, { afterDate: cursor.date, afterId: cursor.id });
    }
    if (q) {
      // The expression of the trigram index (migration 0002), so the planner can use it.
      where.push("(subject || ' ' || from_address || ' ' || snippet) ILIKE :like");
      replacements.like = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    }
    const rows = await this.sequelize.query<EmailSummaryRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM emails WHERE ${where.join(" AND ")}
       ORDER BY date DESC, gmail_id DESC LIMIT :limit`,
      { replacements, type: QueryTypes.SELECT },
    );
    return finish(rows, false);
  }

  /** The user's Gmail labels as the last sync saw them. */
  labels(): Promise<LabelInfo[]> {
    return new LabelRepository(this.sequelize, this.userId).list();
  }

  /**
   * The listing of one attachment of one of the user's stored messages, or null: what to check
   * before fetching the attachment's data from Gmail for this user.
   */
  async attachmentMeta(gmailId: string, attachmentId: string): Promise<AttachmentMeta | null> {
    const [row] = await this.sequelize.query<{ a: AttachmentMeta }>(
      `SELECT a FROM emails, jsonb_array_elements(attachments) AS a
       WHERE user_id = :userId AND gmail_id = :gmailId AND a->>'attachmentId' = :attachmentId
       LIMIT 1`,
      { replacements: { userId: this.userId, gmailId, attachmentId }, type: QueryTypes.SELECT },
    );
    return row?.a ?? null;
  }

  /**
   * How many stored messages carry one label: a COUNT over the user's rows (no index on labels),
   * asked only when a person opens that label, so the sync's writes pay nothing for it.
   */
  async countWithLabel(label: string): Promise<number> {
    const [row] = await this.sequelize.query<{ n: string }>(
      "SELECT count(*) AS n FROM emails WHERE user_id = :userId AND labels @> ARRAY[:label]::text[]",
      { replacements: { userId: this.userId, label }, type: QueryTypes.SELECT },
    );
    return Number(row?.n ?? 0);
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
    // The feed's `sync.finished` commits with the cursor: a follower that sees it sees the sync's
    // every change before it.
    await this.sequelize.query(
      `WITH saved AS (
         UPDATE gmail_accounts SET history_id = :historyId, last_sync_at = now(), updated_at = now()
         WHERE user_id = :userId RETURNING 'sync.finished'::text AS type, NULL::text AS message_id)
       ${recordChanges("saved", ":userId")}
       SELECT 1`,
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
    // A row without its body (stored before 0008) is not known: a full sync fetches it again.
    const rows = await this.sequelize.query<{ gmail_id: string }>(
      "SELECT gmail_id FROM emails WHERE user_id = :userId AND gmail_id = ANY(ARRAY[:ids]::text[]) AND body_fetched",
      { replacements: { userId: this.userId, ids }, type: QueryTypes.SELECT },
    );
    return new Set(rows.map((r) => r.gmail_id));
  }

  async coverage(): Promise<MailCoverage> {
    const [row] = await this.sequelize.query<{
      sync_scope: SyncScope | null;
      history_id: string | null;
      missing: boolean;
    }>(
      `SELECT a.sync_scope, a.history_id,
              EXISTS (SELECT 1 FROM emails WHERE user_id = :userId AND NOT body_fetched) AS missing
       FROM (SELECT 1) one LEFT JOIN gmail_accounts a ON a.user_id = :userId`,
      { replacements: { userId: this.userId }, type: QueryTypes.SELECT },
    );
    return {
      scope: row?.sync_scope ?? null,
      cursor: row?.history_id ?? null,
      bodiesMissing: Boolean(row?.missing),
    };
  }

  async saveFullListing(scope: SyncScope | null, historyId: string): Promise<void> {
    await this.sequelize.query(
      `WITH saved AS (
         UPDATE gmail_accounts SET sync_scope = :scope::jsonb, history_id = :historyId,
                last_sync_at = now(), updated_at = now()
         WHERE user_id = :userId RETURNING 'sync.finished'::text AS type, NULL::text AS message_id)
       ${recordChanges("saved", ":userId")}
       SELECT 1`,
      { replacements: { userId: this.userId, historyId, scope: scope ? JSON.stringify(scope) : null } },
    );
  }

  saveLabels(labels: MailLabel[]): Promise<void> {
    return new LabelRepository(this.sequelize, this.userId).replace(labels);
  }

  async upsert(messages: MailMessage[]): Promise<{ added: number; updated: number }> {
    if (messages.length === 0) return { added: 0, updated: 0 };
    // PostgreSQL refuses a batch that writes one row twice; say so before anything is written.
    if (new Set(messages.map((m) => m.gmailId)).size !== messages.length) {
      throw new Error("upsert: a batch names one Gmail id twice; nothing was written");
    }
    const rows = messages.map(toRow);
    // Insert first, with the count in the same statement: `RETURNING` names exactly the rows this
    // statement inserted (ON CONFLICT DO NOTHING lets one of two concurrent writers of a message
    // insert it), so email_count grows by the fresh ones only and a message stored twice counts
    // once. Not `RETURNING (xmax = 0)` of an ON CONFLICT DO UPDATE: PostgreSQL refuses system
    // columns in the RETURNING of a partitioned table (migration 0010).
    // The values travel as one bound JSON parameter, not spliced into the SQL text: PostgreSQL then
    // neither lexes a body-sized literal nor does the driver escape one. With the update below left
    // out for new mail, writing 10,000 simulated messages in batches of 50 took a fifth less time
    // than as one statement with inlined values (23 → 18 ms a batch, alternated runs;
    // bench/bare/writePath.ts measures the write as it is now).
    const inserted = await this.sequelize.query<{ gmail_id: string }>(
      `WITH batch AS (SELECT m.* FROM jsonb_to_recordset($batch::jsonb) AS m(${ROW_TYPE})),
       ins AS (
         INSERT INTO emails (user_id, gmail_id, thread_id, from_address, to_address, subject, snippet, date,
                             labels, size_estimate, history_id, headers, text_body, html_body, attachments, attachment_count,
                             body_fetched)
         SELECT $userId, b.gmail_id, b.thread_id, b.from_address, b.to_address, b.subject, b.snippet, b.date,
                ARRAY(SELECT jsonb_array_elements_text(b.labels)), b.size_estimate, b.history_id, b.headers,
                b.text_body, b.html_body, b.attachments, b.attachment_count, b.body_fetched
         FROM batch b
         ON CONFLICT (user_id, gmail_id) DO NOTHING
         RETURNING gmail_id),
       counted AS (UPDATE gmail_accounts SET email_count = email_count + (SELECT count(*) FROM ins)
         WHERE user_id = $userId AND EXISTS (SELECT 1 FROM ins) RETURNING 1),
       added AS (SELECT 'message.added'::text AS type, gmail_id AS message_id FROM ins)
       ${recordChanges("added", "$userId", "counted")}
       SELECT gmail_id FROM ins`,
      { bind: { userId: this.userId, batch: JSON.stringify(rows) }, type: QueryTypes.SELECT },
    );
    if (inserted.length === rows.length) return { added: inserted.length, updated: 0 };
    // The rest were stored already (a re-fetch, a back-filled body, another writer's copy): refresh
    // them in a second statement. A full sync's batches are all new, so it skips this one, which
    // otherwise probes the table once per row and finds nothing. Were the process to die between
    // the two, the page is not marked done and the resume writes it again.
    const fresh = new Set(inserted.map((r) => r.gmail_id));
    const rest = rows.filter((r) => !fresh.has(r.gmail_id));
    // A refresh is news to the feed only when it moved the message's labels (RELABELLED).
    const updated = await this.sequelize.query<{ gmail_id: string }>(
      `WITH upd AS (
         UPDATE emails e SET
           thread_id = b.thread_id, from_address = b.from_address, to_address = b.to_address,
           subject = b.subject, snippet = b.snippet, date = b.date,
           labels = ARRAY(SELECT jsonb_array_elements_text(b.labels)),
           size_estimate = b.size_estimate, history_id = b.history_id, headers = b.headers,
           text_body = b.text_body, html_body = b.html_body, attachments = b.attachments,
           attachment_count = b.attachment_count, body_fetched = b.body_fetched, updated_at = now()
         FROM jsonb_to_recordset($batch::jsonb) AS b(${ROW_TYPE})
         WHERE e.user_id = $userId AND e.gmail_id = b.gmail_id
         RETURNING e.gmail_id, ${RELABELLED}),
       relabelled AS (SELECT 'message.labels'::text AS type, gmail_id AS message_id FROM upd WHERE relabelled)
       ${recordChanges("relabelled", "$userId")}
       SELECT gmail_id FROM upd`,
      { bind: { userId: this.userId, batch: JSON.stringify(rest) }, type: QueryTypes.SELECT },
    );
    return { added: inserted.length, updated: updated.length };
  }

  async remove(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    // The account's email_count shrinks by the rows this statement deleted, in the same statement.
    const [row] = await this.sequelize.query<{ n: string }>(
      `WITH gone AS (DELETE FROM emails WHERE user_id = :userId AND gmail_id = ANY(ARRAY[:ids]::text[]) RETURNING gmail_id),
       counted AS (UPDATE gmail_accounts SET email_count = email_count - (SELECT count(*) FROM gone)
         WHERE user_id = :userId AND EXISTS (SELECT 1 FROM gone) RETURNING 1),
       deleted AS (SELECT 'message.deleted'::text AS type, gmail_id AS message_id FROM gone)
       ${recordChanges("deleted", ":userId", "counted")}
       SELECT count(*) AS n FROM gone`,
      { replacements: { userId: this.userId, ids }, type: QueryTypes.SELECT },
    );
    return Number(row?.n ?? 0);
  }

  async setLabels(changes: Array<{ gmailId: string; labels: string[] }>): Promise<number> {
    if (changes.length === 0) return 0;
    // Every stored row counts (the history named it); only a real move is news to the feed.
    const [row] = await this.sequelize.query<{ n: string }>(
      `WITH upd AS (
         UPDATE emails e SET labels = ARRAY(SELECT jsonb_array_elements_text(c.labels)), updated_at = now()
         FROM jsonb_to_recordset(:changes::jsonb) AS c(gmail_id text, labels jsonb)
         WHERE e.user_id = :userId AND e.gmail_id = c.gmail_id
         RETURNING e.gmail_id, ${RELABELLED}),
       relabelled AS (SELECT 'message.labels'::text AS type, gmail_id AS message_id FROM upd WHERE relabelled)
       ${recordChanges("relabelled", ":userId")}
       SELECT count(*) AS n FROM upd`,
      {
        replacements: {
          userId: this.userId,
          changes: JSON.stringify(changes.map((c) => ({ gmail_id: c.gmailId, labels: c.labels }))),
        },
        type: QueryTypes.SELECT,
      },
    );
    return Number(row?.n ?? 0);
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
  async sweep(within?: SyncScope): Promise<number> {
    // Which stored rows the listing could have named (see SyncListing.sweep): all of them for a
    // listing of the whole mailbox; inside a scope, those with its labels and, for a day scope,
    // those no older than the oldest stored message the listing names.
    const inside: string[] = [];
    const bounds: Record<string, unknown> = {};
    if (within?.labelIds?.length) {
      inside.push("labels @> ARRAY[:labels]::text[]");
      bounds.labels = within.labelIds;
    }
    if (within?.newerThanDays !== undefined) {
      const [row] = await this.sequelize.query<{ floor: Date | null }>(
        `SELECT min(e.date) AS floor FROM sync_listed_ids l
         JOIN emails e ON e.user_id = l.user_id AND e.gmail_id = l.gmail_id
         WHERE l.user_id = :userId AND l.listing_key = :key`,
        { replacements: this.scope, type: QueryTypes.SELECT },
      );
      if (!row?.floor) return 0;
      inside.push("date >= :floor");
      bounds.floor = row.floor;
    }
    const filter = inside.map((c) => ` AND ${c}`).join("");
    let removed = 0;
    let after = "";
    for (;;) {
      // The keyset walks every stored id; the scope filters each batch, so a batch of fewer
      // rows than asked is not the end.
      const batch = await this.sequelize.query<{ gmail_id: string; inside: boolean }>(
        `SELECT gmail_id, ${filter ? `(true${filter})` : "true"} AS inside FROM emails
         WHERE user_id = :userId AND gmail_id > :after
         ORDER BY gmail_id LIMIT :limit`,
        {
          replacements: { userId: this.userId, after, limit: SWEEP_BATCH, ...bounds },
          type: QueryTypes.SELECT,
        },
      );
      if (batch.length === 0) return removed;
      after = batch[batch.length - 1]!.gmail_id;
      const stored = batch.filter((r) => r.inside);
      if (stored.length === 0) {
        if (batch.length < SWEEP_BATCH) return removed;
        continue;
      }
      const ids = stored.map((r) => r.gmail_id);
      const listed = await this.sequelize.query<{ gmail_id: string }>(
        `SELECT gmail_id FROM sync_listed_ids
         WHERE user_id = :userId AND listing_key = :key AND gmail_id = ANY(ARRAY[:ids]::text[])`,
        { replacements: { ...this.scope, ids }, type: QueryTypes.SELECT },
      );
      const named = new Set(listed.map((r) => r.gmail_id));
      const gone = ids.filter((id) => !named.has(id));
      if (gone.length) removed += await this.repo.remove(gone);
      if (batch.length < SWEEP_BATCH) return removed;
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

/**
 * In the RETURNING of an UPDATE of `emails e`: whether the row's labels moved. The subquery reads
 * the statement's snapshot, which still holds the row as it was before this update.
 */
const RELABELLED = `e.labels IS DISTINCT FROM
  (SELECT o.labels FROM emails o WHERE o.user_id = e.user_id AND o.gmail_id = e.gmail_id) AS relabelled`;

/** The columns of one message as `upsert` sends it, in `jsonb_to_recordset`'s terms. */
const ROW_TYPE = `gmail_id text, thread_id text, from_address text, to_address text, subject text, snippet text,
  date timestamptz, labels jsonb, size_estimate integer, history_id text, headers jsonb,
  text_body text, html_body text, attachments jsonb, attachment_count integer, body_fetched boolean`;

/** One message as a row of `ROW_TYPE`. */
function toRow(m: MailMessage) {
  return {
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
    text_body: m.body?.text == null ? null : stripNul(m.body.text),
    html_body: m.body?.html == null ? null : stripNul(m.body.html),
    attachments: (m.body?.attachments ?? []).map((a) => ({
      attachmentId: a.attachmentId,
      filename: stripNul(a.filename),
      mimeType: stripNul(a.mimeType),
      size: a.size,
      ...(a.contentId ? { contentId: stripNul(a.contentId) } : {}),
    })),
    attachment_count: m.body ? attachmentCount(m.body.attachments, m.body.html) : 0,
    body_fetched: m.body !== undefined,
  };
}

/** PostgreSQL text cannot hold NUL; a hostile header must not fail the whole batch. */
function stripNul(value: string): string {
  return value.includes("\u0000") ? value.replaceAll("\u0000", "") : value;
}

/**
 * List cursors, base64url JSON: `[date, id]` for date order (the format EmailService has always
 * issued) and `[rank, date, id]` for ranked search.
 */
function encodeListCursor(row: EmailSummaryRow, rank: number | null): string {
  const key = [new Date(row.date).toISOString(), row.gmail_id];
  return Buffer.from(JSON.stringify(rank === null ? key : [rank, ...key])).toString("base64url");
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const GMAIL_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Only what encodeListCursor writes gets through; anything else would reach PostgreSQL as an error. */
function decodeListCursor(cursor: string): { rank: number | null; date: string; id: string } {
  let value: unknown;
  if (BASE64URL.test(cursor)) {
    try {
      value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    } catch {
      value = undefined;
    }
  }
  if (Array.isArray(value) && (value.length === 2 || value.length === 3)) {
    const rank = value.length === 3 ? value[0] : null;
    const [date, id] = value.slice(-2) as unknown[];
    if (
      (rank === null || (typeof rank === "number" && Number.isFinite(rank) && rank >= 0)) &&
      typeof date === "string" &&
      typeof id === "string" &&
      ISO_INSTANT.test(date) &&
      GMAIL_ID.test(id) &&
      !date.startsWith("0000") &&
      !Number.isNaN(Date.parse(date)) &&
      new Date(date).toISOString() === date
    ) {
      return { rank, date, id };
    }
  }
  throw new ValidationError("cursor is not one this API issued", "invalid_cursor");
}
