import { ApiError } from "./api";

/** What to tell a person for each error code; the server's own message is the fallback. */
const WORDS: Record<string, string> = {
  network: "Can't reach inbox-sync right now. Check your connection and try again.",
  unauthorized: "Your session has ended. Please sign in again.",
  csrf_failed: "This page is out of date. Reload it and try again.",
  queue_unavailable: "The background queue is unavailable, so the sync runs in this page instead.",
  no_workers: "No background worker is running, so the sync runs in this page instead.",
  reauth_required: "Gmail access was revoked or has expired. Reconnect Gmail to keep syncing.",
  gmail_unavailable: "Gmail isn't answering right now. Please try again in a few minutes.",
  not_found: "That item no longer exists.",
  internal: "Something went wrong on our side. Please try again.",
  invalid_query: "That search is too long. Use at most 200 characters.",
  invalid_cursor: "The list changed underneath us. Reload the list and try again.",
  stream_interrupted: "The connection dropped during the sync. It may still be running; reload to check.",
  rate_limited: "Too many requests. Wait a moment and try again.",
  too_many_tokens: "You have 20 API tokens already. Revoke one you no longer use, then create the new one.",
  revoke_failed: "Google didn't answer, so Gmail is still connected. Please try again in a moment.",
  session_required: "Sign in again in this browser to do that.",
  sync_in_progress:
    "A sync of other mail is already running for this account. It is shown here; fetch again with your choice when it ends.",
  invalid_newer_than_days: "Enter a whole number of days from 1 to 36500.",
  invalid_label_ids: "One of the chosen labels is not a Gmail label. Reload the page and choose again.",
  invalid_label: "That label is not a Gmail label. Reload the page and choose again.",
};

export function errorCode(err: unknown): string {
  if (err instanceof ApiError) return err.code;
  if (err && typeof err === "object" && "code" in err && typeof err.code === "string") return err.code;
  return "internal";
}

/** "42 seconds", "about 3 minutes": how long to wait, in words. */
function waitWords(seconds: number): string {
  if (seconds < 60) return seconds === 1 ? "1 second" : `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return minutes === 1 ? "about a minute" : `about ${minutes} minutes`;
  const hours = Math.ceil(minutes / 60);
  return hours === 1 ? "about an hour" : `about ${hours} hours`;
}

/** One sentence a person can act on. */
export function humanError(err: unknown): string {
  const code = errorCode(err);
  if (code === "rate_limited" && err instanceof ApiError && err.retryAfter) {
    return `Too many requests. Try again in ${waitWords(err.retryAfter)}.`;
  }
  const known = WORDS[code];
  if (known) return known;
  if (err instanceof ApiError && err.status >= 500) return WORDS.internal!;
  const message = err && typeof err === "object" && "message" in err ? String(err.message) : "";
  return message || WORDS.internal!;
}
