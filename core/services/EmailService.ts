import type { gmail_v1 } from "@googleapis/gmail";
import { AppError, GmailUnavailableError, NotFoundError } from "../errors";
import type { EmailRepository, EmailSummaryRow } from "../repositories/email.repository";
import { classifyGmailError, gmailCall, type RetryOptions } from "../sync/gmailCall";
import type { QuotaGate } from "../sync/QuotaGate";

export interface EmailSummary {
  id: string;
  threadId: string;
  from: string;
  to: string;
  subject: string;
  snippet: string;
  date: string;
  labels: string[];
  /** Attachments it shows as files (inline images its HTML shows are not counted). */
  attachmentCount: number;
}

export interface Attachment {
  attachmentId: string;
  filename: string;
  mimeType: string;
  size: number;
  /** For an inline image: what the HTML's `cid:` URLs name. */
  contentId?: string;
}

export interface EmailDetail extends EmailSummary {
  sizeEstimate: number;
  historyId: string | null;
  headers: Record<string, string>;
  /** The text/plain body, decoded; null when the message has none or it is not fetched yet. */
  text: string | null;
  /** The text/html body as the sender wrote it: never trusted, the client sanitises it. */
  html: string | null;
  attachments: Attachment[];
}

export interface Label {
  id: string;
  name: string;
  type: "system" | "user";
  textColor?: string;
  backgroundColor?: string;
}

/** A label with how many stored messages carry it. */
export interface LabelCount extends Label {
  messages: number;
}

/** A downloaded attachment: its bytes and what the stored listing says about them. */
export interface AttachmentFile {
  filename: string;
  mimeType: string;
  data: Buffer;
}

/** How the attachment route reaches Gmail: the user's client and their quota gate. */
export interface GmailAccess {
  gmail: gmail_v1.Gmail;
  quota?: QuotaGate;
  retry?: RetryOptions;
  signal?: AbortSignal;
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
  attachmentCount: r.attachment_count,
});

/** Gmail refused the attachment id itself (400 "Invalid attachment token"): it may be an old one. */
class StaleAttachmentIdError extends Error {}

/** What a failed attachment call means here: gone (404), a stale id (400), or Gmail failing (502). */
function gmailFailure(err: unknown): Error {
  // Deleted in Gmail since the last sync: to the caller, that attachment is not there.
  if (classifyGmailError(err) === "not_found") return new NotFoundError("attachment");
  const status = (err as { response?: { status?: number } }).response?.status;
  if (status === 400) return new StaleAttachmentIdError((err as Error).message);
  return new GmailUnavailableError(`Gmail did not hand over the attachment: ${(err as Error).message}`);
}

/** The part of a message that is the listed attachment: same name, type and size. */
function findPart(
  part: gmail_v1.Schema$MessagePart | undefined,
  meta: { filename: string; mimeType: string; size: number },
): gmail_v1.Schema$MessagePart | undefined {
  if (!part) return undefined;
  if (
    part.body?.attachmentId &&
    (part.filename ?? "") === meta.filename &&
    part.mimeType === meta.mimeType &&
    (part.body.size ?? -1) === meta.size
  )
    return part;
  for (const child of part.parts ?? []) {
    const found = findPart(child, meta);
    if (found) return found;
  }
  return undefined;
}

/** Reads a user's stored mail; every query is scoped by user id (the repository is per user). */
export class EmailService {
  constructor(private readonly emailsOf: (userId: string) => EmailRepository) {}

  /**
   * A page of the user's mail, newest first; with `q`, the ranked full-text search (words, "a
   * phrase", a OR b, -word), best match first. `label` and `threadId` narrow either. The cursor
   * is the repository's and is checked there (400 invalid_cursor for one it did not issue).
   */
  async list(
    userId: string,
    options: { limit: number; cursor?: string; q?: string; label?: string; threadId?: string },
  ): Promise<{ emails: EmailSummary[]; nextCursor: string | null }> {
    const { rows, nextCursor } = await this.emailsOf(userId).list({
      limit: options.limit,
      cursor: options.cursor ?? null,
      q: options.q ?? null,
      label: options.label ?? null,
      threadId: options.threadId ?? null,
    });
    return { emails: rows.map(summary), nextCursor };
  }

  async get(userId: string, gmailId: string): Promise<EmailDetail | null> {
    const row = await this.emailsOf(userId).find(gmailId);
    if (!row) return null;
    return {
      ...summary(row),
      sizeEstimate: row.size_estimate,
      historyId: row.history_id,
      headers: row.headers,
      text: row.text_body ?? null,
      html: row.html_body ?? null,
      attachments: (row.attachments ?? []).map((a) => ({
        attachmentId: a.attachmentId,
        filename: a.filename,
        mimeType: a.mimeType,
        size: a.size,
        ...(a.contentId ? { contentId: a.contentId } : {}),
      })),
    };
  }

  /** The user's Gmail labels as the last sync read them; empty before the first. */
  async labels(userId: string): Promise<Label[]> {
    const labels = await this.emailsOf(userId).labels();
    const order = (l: { type: string; name: string }) => `${l.type === "system" ? 0 : 1}${l.name}`;
    return [...labels]
      .sort((a, b) => order(a).localeCompare(order(b)))
      .map((l) => ({
        id: l.id,
        name: l.name,
        type: l.type,
        ...(l.color ? { textColor: l.color.textColor, backgroundColor: l.color.backgroundColor } : {}),
      }));
  }

  /** One label of the user with its stored message count, or null when the last sync saw no such label. */
  async label(userId: string, labelId: string): Promise<LabelCount | null> {
    const label = (await this.labels(userId)).find((l) => l.id === labelId);
    if (!label) return null;
    return { ...label, messages: await this.emailsOf(userId).countWithLabel(labelId) };
  }

  /**
   * One attachment's bytes, fetched from Gmail when asked (they are never stored). The stored
   * listing decides first: only an attachment of this user's stored message is fetched, so a
   * guessed id costs no Gmail call, and no user can fetch through another's message. Its name
   * and type come from the listing, not from Gmail's answer.
   */
  async attachment(
    userId: string,
    gmailId: string,
    attachmentId: string,
    access: () => Promise<GmailAccess>,
  ): Promise<AttachmentFile> {
    const meta = await this.emailsOf(userId).attachmentMeta(gmailId, attachmentId);
    if (!meta) throw new NotFoundError("attachment");
    const { gmail, quota, retry, signal } = await access();
    const call = <T>(method: "messages.attachments.get" | "messages.get", fn: () => Promise<T>) =>
      gmailCall(
        async () => {
          await quota?.take(method, signal);
          return fn();
        },
        retry,
        signal,
      ).catch((err: unknown) => {
        if (err instanceof AppError) throw err; // reauth_required, gmail_unavailable
        throw gmailFailure(err);
      });
    const download = (id: string) =>
      call("messages.attachments.get", () =>
        gmail.users.messages.attachments.get({ userId: "me", messageId: gmailId, id }, { signal }),
      );

    let answer: Awaited<ReturnType<typeof download>>;
    try {
      answer = await download(attachmentId);
    } catch (err) {
      if (!(err instanceof StaleAttachmentIdError)) throw err;
      // Gmail hands out a new attachment id with every read of a message, and may stop taking
      // an old one: read the message once more and take the id its same part carries now.
      const { data: message } = await call("messages.get", () =>
        gmail.users.messages.get({ userId: "me", id: gmailId, format: "full" }, { signal }),
      );
      const fresh = findPart(message.payload, meta)?.body?.attachmentId;
      if (!fresh || fresh === attachmentId) throw new NotFoundError("attachment");
      answer = await download(fresh).catch((again: unknown) => {
        throw again instanceof StaleAttachmentIdError ? new NotFoundError("attachment") : again;
      });
    }
    return {
      filename: meta.filename,
      mimeType: meta.mimeType,
      data: Buffer.from(answer.data.data ?? "", "base64url"),
    };
  }

  count(userId: string): Promise<number> {
    return this.emailsOf(userId).count();
  }
}
