import { ValidationError } from "../errors";
import type { EmailRepository, EmailSummaryRow } from "../repositories/email.repository";

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

const summary = (r: EmailSummaryRow): EmailSummary => ({
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
function encodeCursor(row: EmailSummaryRow): string {
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

/** Reads a user's stored mail; every query is scoped by user id (the repository is per user). */
export class EmailService {
  constructor(private readonly emailsOf: (userId: string) => EmailRepository) {}

  async list(
    userId: string,
    options: { limit: number; cursor?: string; q?: string },
  ): Promise<{ emails: EmailSummary[]; nextCursor: string | null }> {
    const after = options.cursor ? decodeCursor(options.cursor) : null;
    const rows = await this.emailsOf(userId).page({
      after,
      like: options.q ? `%${escapeLike(options.q)}%` : null,
      limit: options.limit + 1,
    });
    const more = rows.length > options.limit;
    const page = more ? rows.slice(0, options.limit) : rows;
    return { emails: page.map(summary), nextCursor: more ? encodeCursor(page[page.length - 1]!) : null };
  }

  async get(userId: string, gmailId: string): Promise<EmailDetail | null> {
    const row = await this.emailsOf(userId).find(gmailId);
    if (!row) return null;
    return {
      ...summary(row),
      sizeEstimate: row.size_estimate,
      historyId: row.history_id,
      headers: row.headers,
    };
  }

  count(userId: string): Promise<number> {
    return this.emailsOf(userId).count();
  }
}
