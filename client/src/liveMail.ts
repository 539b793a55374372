import type { MailChange } from "../../core/contract";
import type { LiveChannel } from "./socket";

/**
 * Mail kept current without a click: when any sync of this user changes their mail (one they
 * started, a Gmail push, the schedule), the server sends `mail:changed` to their room. This
 * module hears it, tells the page through a DOM event, `inbox:mail-changed` on `document`
 * (detail: the change), which the email list answers by refreshing its first page, and says
 * what arrived in a polite live region of its own, so a screen reader hears it without losing
 * its place and without clobbering the sync card's own announcements.
 *
 * It listens on the signed-in page's one Socket.IO connection (the sync card's), so a tab holds
 * one socket on the server, not two.
 */

export const MAIL_CHANGED_EVENT = "inbox:mail-changed";

/** What a change says aloud, e.g. "New mail: 2 messages arrived, 1 removed." */
export function describeChange(change: Pick<MailChange, "added" | "deleted" | "updated">): string {
  const n = (count: number, one: string, many: string) =>
    `${count.toLocaleString()} ${count === 1 ? one : many}`;
  const parts: string[] = [];
  if (change.added) parts.push(`${n(change.added, "message", "messages")} arrived`);
  if (change.deleted) parts.push(`${n(change.deleted, "message", "messages")} removed`);
  if (change.updated) parts.push(`${n(change.updated, "message", "messages")} changed`);
  return parts.length ? `Mailbox updated: ${parts.join(", ")}.` : "";
}

/** The task ids already announced: the worker and a stream following it may both send one. */
const SEEN_LIMIT = 50;

function liveRegion(): HTMLElement {
  const existing = document.getElementById("live-mail-status");
  if (existing) return existing;
  const region = document.createElement("div");
  region.id = "live-mail-status";
  region.className = "sr-only";
  region.setAttribute("role", "status");
  region.setAttribute("aria-live", "polite");
  region.dataset.testid = "live-mail-status";
  document.body.append(region);
  return region;
}

export function followMailChanges(live: Pick<LiveChannel, "onMailChanged">): void {
  const seen: string[] = [];
  live.onMailChanged((change) => {
    if (seen.includes(change.taskId)) return;
    seen.push(change.taskId);
    if (seen.length > SEEN_LIMIT) seen.shift();
    document.dispatchEvent(new CustomEvent<MailChange>(MAIL_CHANGED_EVENT, { detail: change }));
    const text = describeChange(change);
    if (!text) return;
    const region = liveRegion();
    // Clearing first makes the same words be read again for the next change.
    region.textContent = "";
    setTimeout(() => {
      region.textContent = text;
    }, 50);
  });
}
