import type { gmail_v1 } from "@googleapis/gmail";
import iconv from "iconv-lite";
import type { MailAttachment, MessageBody } from "./MailStore";

type Part = gmail_v1.Schema$MessagePart;

/**
 * Charsets read as another, as browsers do (WHATWG Encoding): mail labelled ISO-8859-1 or ASCII
 * is in practice often windows-1252 (curly quotes, the euro sign in 0x80–0x9F), which is a
 * superset of ISO-8859-1's printable characters; "ascii" mail that is not ASCII is usually UTF-8.
 */
const CHARSET_ALIASES: Record<string, string> = {
  "iso-8859-1": "windows-1252",
  "iso8859-1": "windows-1252",
  latin1: "windows-1252",
  l1: "windows-1252",
  "us-ascii": "utf-8",
  ascii: "utf-8",
  "x-unknown": "utf-8",
};

function header(part: Part, name: string): string | undefined {
  const wanted = name.toLowerCase();
  return part.headers?.find((h) => h.name?.toLowerCase() === wanted)?.value ?? undefined;
}

/** The `charset` parameter of a Content-Type value, lower-cased, or undefined. */
export function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType ?? "");
  const value = (match?.[1] ?? match?.[2] ?? "").trim().toLowerCase();
  return value || undefined;
}

/**
 * Gmail's `body.data` is base64url of the part's bytes with the transfer encoding undone but still
 * in the part's own charset. Decoded with iconv-lite, not TextDecoder: Node 20's TextDecoder
 * turns windows-1252's 0x80–0x9F into C1 controls. An unknown charset falls back to UTF-8 (with
 * replacement characters) rather than dropping the text.
 */
export function decodePartData(data: string, charset: string | undefined): string {
  const bytes = Buffer.from(data, "base64url");
  const name = CHARSET_ALIASES[charset ?? ""] ?? charset ?? "utf-8";
  const text = iconv.encodingExists(name) ? iconv.decode(bytes, name) : bytes.toString("utf8");
  // PostgreSQL text cannot hold NUL.
  return text.includes("\u0000") ? text.replaceAll("\u0000", "") : text;
}

/**
 * A part's Content-ID as the HTML's `cid:` URLs name it: the msg-id without its angle brackets
 * (RFC 2392). Gmail's own X-Attachment-Id, which its web client uses the same way, stands in for
 * a part that has none.
 */
export function contentIdOf(part: Part): string | undefined {
  const raw = (header(part, "Content-ID") ?? header(part, "X-Attachment-Id"))?.trim();
  const id = raw?.replace(/^<\s*/, "").replace(/\s*>$/, "");
  return id || undefined;
}

function isAttachment(part: Part): boolean {
  if (part.filename || part.body?.attachmentId) return true;
  return /^\s*attachment\b/i.test(header(part, "Content-Disposition") ?? "");
}

/**
 * A message's text, HTML and attachment listing from Gmail's `format=full` part tree.
 *
 * - multipart/* nodes are walked in order (mixed, related, alternative, anything else).
 * - In a multipart/alternative, the last text/plain and the last text/html alternative win
 *   (RFC 2046: later alternatives are the preferred ones); elsewhere (a multipart/mixed with
 *   several inline text parts) the parts are joined, separated by a blank line.
 * - A part with a filename, an attachmentId or `Content-Disposition: attachment` is an attachment:
 *   listed with Gmail's attachmentId (and its Content-ID, for inline images), its data is not fetched. One without an attachmentId
 *   (inline data Gmail sent with the part) is not listed: it could not be fetched by id.
 * - A forwarded message (message/rfc822) is listed when Gmail gives it a filename and attachmentId;
 *   otherwise it is skipped: its inner parts are not this message's body.
 */
export function messageBody(payload: Part | undefined | null): MessageBody {
  const texts: string[] = [];
  const htmls: string[] = [];
  const attachments: MailAttachment[] = [];

  const bodyOf = (part: Part): string | null =>
    part.body?.data ? decodePartData(part.body.data, charsetOf(header(part, "Content-Type"))) : null;

  const walk = (part: Part): void => {
    const mimeType = (part.mimeType ?? "").toLowerCase();
    if (isAttachment(part)) {
      if (part.body?.attachmentId) {
        const contentId = contentIdOf(part);
        attachments.push({
          attachmentId: part.body.attachmentId,
          filename: part.filename ?? "",
          mimeType: part.mimeType ?? "application/octet-stream",
          size: part.body.size ?? 0,
          ...(contentId ? { contentId } : {}),
        });
      }
      return;
    }
    if (mimeType === "multipart/alternative") {
      const children = part.parts ?? [];
      // The preferred alternative of each kind, searched from the end, looking into nested
      // multiparts (an alternative is often multipart/related: html + inline images).
      const before = { texts: texts.length, htmls: htmls.length };
      for (const child of children) walk(child);
      keepLast(texts, before.texts);
      keepLast(htmls, before.htmls);
      return;
    }
    if (mimeType.startsWith("multipart/")) {
      for (const child of part.parts ?? []) walk(child);
      return;
    }
    if (mimeType === "text/plain" || mimeType === "text/html") {
      const body = bodyOf(part);
      if (body !== null) (mimeType === "text/plain" ? texts : htmls).push(body);
    }
  };

  if (payload) walk(payload);
  return {
    text: texts.length ? texts.join("\n\n") : null,
    html: htmls.length ? htmls.join("\n") : null,
    attachments,
  };
}

/** Keeps only the last of the entries added since `from`. */
function keepLast(list: string[], from: number): void {
  if (list.length - from > 1) list.splice(from, list.length - from - 1);
}
