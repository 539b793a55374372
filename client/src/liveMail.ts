import { io, type Socket } from "socket.io-client";
import type { ClientToServerEvents, MailChange, ServerToClientEvents } from "../../core/contract";

/**
 * Mail kept current without a click: when any sync of this user changes their mail (one they
 * started, a Gmail push, the schedule), the server sends `mail:changed` to their room. This
 * module hears it, tells the page through a DOM event, `inbox:mail-changed` on `document`
 * (detail: the change), which the email list answers by refreshing its first page, and says
 * what arrived in a polite live region of its own, so a screen reader hears it without losing
 * its place and without clobbering the sync card's own announcements.
 *
 * It has a Socket.IO connection of its own (same origin and cookie as the sync card's): the
 * server refuses it when nobody is signed in, and closes it at sign-out.
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

export function startLiveMail(): () => void {
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io({
    path: "/socket.io",
    transports: ["websocket"],
    reconnectionDelay: 1_000,
    reconnectionDelayMax: 10_000,
    timeout: 5_000,
  });
  const seen: string[] = [];
  socket.on("mail:changed", (change) => {
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
  return () => {
    socket.removeAllListeners();
    socket.disconnect();
  };
}

startLiveMail();
