import type { MailAttachment } from "./MailStore";

/**
 * How many attachments a message shows as files: every part of its listing but the inline images
 * its HTML body shows (`cid:` URLs naming the part's Content-ID), which the reading view leaves
 * out of its list as Gmail does. A part with a Content-ID the HTML never names is a file like any
 * other: Gmail gives every attachment an X-Attachment-Id, which stands in for a Content-ID.
 * Content-IDs are matched without case, as the reading view falls back to (client/src/mailFrame.ts).
 * It is stored with each message (`emails.attachment_count`), so the list reads a number.
 */
export function attachmentCount(
  attachments: readonly MailAttachment[],
  html: string | null | undefined,
): number {
  if (attachments.length === 0) return 0;
  const named = cidsNamed(html ?? "");
  return attachments.filter((a) => !(a.contentId && named.has(a.contentId.toLowerCase()))).length;
}

/** Where a `cid:` URL ends in markup or CSS: a quote, a space, a tag's or a url()'s end. */
const CID_END = /["'\s>)]/;

/** The Content-IDs (lower case, %-decoded, without angle brackets) that `cid:` URLs in `html` name. */
function cidsNamed(html: string): Set<string> {
  const named = new Set<string>();
  const lower = html.toLowerCase();
  let at = lower.indexOf("cid:");
  while (at !== -1) {
    const start = at + 4;
    let end = start;
    while (end < lower.length && !CID_END.test(lower[end]!)) end++;
    let id = lower.slice(start, end).trim();
    try {
      id = decodeURIComponent(id);
    } catch {
      // Not %-encoded after all: the id as written.
    }
    id = id.replace(/^<(.*)>$/s, "$1");
    if (id) named.add(id);
    at = lower.indexOf("cid:", end);
  }
  return named;
}
