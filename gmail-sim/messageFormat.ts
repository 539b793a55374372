/** How messages.get and threads.get write a message in each format. */
import { type ApiError, gmailErrors } from "./errors";
import type { Mailbox, MessageRecord } from "./Mailbox";
import { gmailBase64url, payloadOf } from "./mime";
import { repeatedParam } from "./respond";
import type { Header } from "./seed";

const MESSAGE_FORMATS = new Set(["minimal", "metadata", "full", "raw"]);
const THREAD_FORMATS = new Set(["minimal", "metadata", "full"]);

/** users.messages.get: one message in `format` (default full). */
export function getMessage(
  mailbox: Mailbox,
  id: string,
  query: URLSearchParams,
): { body: unknown } | ApiError {
  const format = query.get("format") ?? "full";
  if (!MESSAGE_FORMATS.has(format)) {
    return gmailErrors.invalidArgument(`Invalid value at 'format', "${format}"`);
  }
  const record = mailbox.find(id);
  if (!record) return gmailErrors.notFound();
  return { body: formatMessage(mailbox, record, format, query) };
}

/**
 * users.threads.get: `{id, historyId, messages}`, the thread's messages oldest first, each as
 * messages.get answers it in `format` (full, metadata or minimal; threads have no raw format).
 */
export function getThread(
  mailbox: Mailbox,
  id: string,
  query: URLSearchParams,
): { body: unknown } | ApiError {
  const format = query.get("format") ?? "full";
  if (!THREAD_FORMATS.has(format)) {
    return gmailErrors.invalidArgument(`Invalid value at 'format', "${format}"`);
  }
  const records = mailbox.threadMessages(id);
  if (records.length === 0) return gmailErrors.notFound();
  const historyId = Math.max(...records.map((r) => r.historyId));
  return {
    body: {
      id,
      historyId: String(historyId),
      messages: records.map((record) => formatMessage(mailbox, record, format, query)),
    },
  };
}

function formatMessage(
  mailbox: Mailbox,
  record: MessageRecord,
  format: string,
  query: URLSearchParams,
): Record<string, unknown> {
  const content = mailbox.content(record);
  const head: Record<string, unknown> = { id: record.id, threadId: record.threadId };
  if (record.labels.length > 0) head.labelIds = record.labels;
  head.snippet = content.snippet;
  const rawBytes = Buffer.from(content.raw, "latin1");
  const tail = {
    sizeEstimate: rawBytes.length,
    historyId: String(record.historyId),
    internalDate: String(record.internalDate),
  };
  switch (format) {
    case "minimal":
      return { ...head, ...tail };
    case "raw":
      return {
        ...head,
        sizeEstimate: tail.sizeEstimate,
        raw: gmailBase64url(rawBytes),
        historyId: tail.historyId,
        internalDate: tail.internalDate,
      };
    case "metadata": {
      const wanted = repeatedParam(query, "metadataHeaders").map((h) => h.toLowerCase());
      const headers: Header[] =
        wanted.length === 0
          ? content.headers
          : content.headers.filter((h) => wanted.includes(h.name.toLowerCase()));
      return {
        ...head,
        payload: { partId: "", mimeType: content.root.mimeType, filename: "", headers, body: { size: 0 } },
        ...tail,
      };
    }
    default:
      return { ...head, payload: payloadOf(content.root, record.id), ...tail };
  }
}
