import { QueryTypes, type Sequelize } from "sequelize";
import { ValidationError } from "../errors";

export interface EmailSummary {
  id: string;
  threadId: string;
  from: string;
  to: string;
  subject: string;
  snippet: string;
  date: string;
  labels: string[];
}

export interface EmailDetail extends EmailSummary {
  sizeEstimate: number;
  historyId: string | null;
  headers: Record<string, string>;
}

interface EmailRow {
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

const summary = (r: EmailRow): EmailSummary => ({
  id: r.gmail_id,
  threadId: r.thread_id,
  from: r.from_address,
  to: r.to_address,
  subject: r.subject,
  snippet: r.snippet,
  date: new Date(r.date).toISOString(),
  labels: r.labels,
});

/** Keyset cursor over (date, gmail id): stable while the sync inserts rows around it. */
function encodeCursor(row: EmailRow): string {
  return Buffer.from(JSON.stringify([new Date(row.date).toISOString(), row.gmail_id])).toString("base64url");
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const GMAIL_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Only what encodeCursor writes gets through: anything else (a 30 February, year 0, a bare "1",
 * a NUL in the id) would otherwise reach PostgreSQL, which rejects it with an error, not a 400.
 */
function decodeCursor(cursor: string): { date: string; id: string } {
  if (BASE64URL.test(cursor)) {
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    } catch {
      value = undefined;
    }
    if (Array.isArray(value) && value.length === 2) {
      const [date, id] = value as unknown[];
      if (
        typeof date === "string" &&
        typeof id === "string" &&
        ISO_INSTANT.test(date) &&
        GMAIL_ID.test(id) &&
        // A round trip rejects dates that do not exist; PostgreSQL knows no year 0.
        !date.startsWith("0000") &&
        !Number.isNaN(Date.parse(date)) &&
        new Date(date).toISOString() === date
      ) {
        return { date, id };
      }
    }
  }
  throw new ValidationError("cursor is not one this API issued", "invalid_cursor");
}

const escapeLike = (q: string) => q.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Reads a user's stored mail; every query is scoped by user id. */
export class EmailService {
  constructor(private readonly sequelize: Sequelize) {}

  async list(
    userId: string,
    options: { limit: number; cursor?: string; q?: string },
  ): Promise<{ emails: EmailSummary[]; nextCursor: string | null }> {
    const after = options.cursor ? decodeCursor(options.cursor) : null;
    const where = ["user_id = :userId"];
    if (after) where.push("(date, gmail_id) < (:afterDate::timestamptz, :afterId)");
    // The same expression as the trigram index (migration 0002), so the planner can use it.
    if (options.q) where.push("(subject || ' ' || from_address || ' ' || snippet) ILIKE :q");
    const rows = await this.sequelize.query<EmailRow>(
      `SELECT gmail_id, thread_id, from_address, to_address, subject, snippet, date, labels
       FROM emails WHERE ${where.join(" AND ")}
       ORDER BY date DESC, gmail_id DESC LIMIT :limit`,
      {
        replacements: {
          userId,
          afterDate: after?.date ?? null,
          afterId: after?.id ?? null,
          q: options.q ? `%${escapeLike(options.q)}%` : null,
          limit: options.limit + 1,
        },
        type: QueryTypes.SELECT,
      },
    );
    const more = rows.length > options.limit;
    const page = more ? rows.slice(0, options.limit) : rows;
    return { emails: page.map(summary), nextCursor: more ? encodeCursor(page[page.length - 1]!) : null };
  }

  async get(userId: string, gmailId: string): Promise<EmailDetail | null> {
    const [row] = await this.sequelize.query<EmailRow>(
      "SELECT * FROM emails WHERE user_id = :userId AND gmail_id = :gmailId",
      { replacements: { userId, gmailId }, type: QueryTypes.SELECT },
    );
    if (!row) return null;
    return {
      ...summary(row),
      sizeEstimate: row.size_estimate,
      historyId: row.history_id,
      headers: row.headers,
    };
  }

  async count(userId: string): Promise<number> {
    const [row] = await this.sequelize.query<{ n: string }>(
      "SELECT count(*) AS n FROM emails WHERE user_id = :userId",
      {
        replacements: { userId },
        type: QueryTypes.SELECT,
      },
    );
    return Number(row?.n ?? 0);
  }
}
