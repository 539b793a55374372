import type { gmail_v1 } from "@googleapis/gmail";
import type { MailLabel, MailMessage } from "./MailStore";
import { messageBody } from "./messageBody";

/** Labels whose messages are not part of the mailbox we mirror, as in Gmail's own list. */
const HIDDEN_LABELS = ["SPAM", "TRASH"];
const METADATA_HEADERS = ["From", "To", "Subject", "Date", "Message-ID"];
const KEPT_HEADERS = new Set(METADATA_HEADERS.map((h) => h.toLowerCase()));

export const isHidden = (labels: readonly string[]) => labels.some((l) => HIDDEN_LABELS.includes(l));

/** A Gmail label as stored; none for a label without an id. */
export function toMailLabel(l: gmail_v1.Schema$Label): MailLabel[] {
  if (!l.id) return [];
  const color =
    l.color?.textColor && l.color.backgroundColor
      ? { textColor: l.color.textColor, backgroundColor: l.color.backgroundColor }
      : null;
  return [{ id: l.id, name: l.name ?? l.id, type: l.type === "user" ? "user" : "system", color }];
}

/** A whole Gmail message (`format=full`) as stored. */
export function toMailMessage(m: gmail_v1.Schema$Message): MailMessage {
  const headers: Record<string, string> = {};
  for (const h of m.payload?.headers ?? []) {
    if (h.name && KEPT_HEADERS.has(h.name.toLowerCase())) headers[h.name.toLowerCase()] = h.value ?? "";
  }
  const internal = Number(m.internalDate);
  const date = Number.isFinite(internal) && internal > 0 ? new Date(internal) : new Date(headers.date ?? 0);
  return {
    gmailId: m.id!,
    threadId: m.threadId ?? m.id!,
    from: headers.from ?? "",
    to: headers.to ?? "",
    subject: headers.subject ?? "",
    snippet: m.snippet ?? "",
    date: Number.isNaN(date.getTime()) ? new Date(0) : date,
    labels: m.labelIds ?? [],
    sizeEstimate: m.sizeEstimate ?? 0,
    historyId: m.historyId ?? null,
    headers,
    body: messageBody(m.payload),
  };
}
