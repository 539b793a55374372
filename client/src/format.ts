import type { RateLimiter, SyncMode, SyncPhase, TaskState, WaitReason } from "../../core/contract";
import { spanWords } from "../../core/progress/timeWords";

/** Human wording for numbers, times, phases and states. */

const numberFormat = new Intl.NumberFormat("en-US");

export function formatCount(n: number): string {
  return numberFormat.format(n);
}

/** What a row's attachment marker says: "1 attachment", "3 attachments". */
export const attachmentsText = (count: number): string =>
  `${formatCount(count)} ${count === 1 ? "attachment" : "attachments"}`;

/** "812 bytes", "14.2 KB", "3.1 MB" (1 KB = 1,024 bytes, as file managers count). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${formatCount(bytes)} ${bytes === 1 ? "byte" : "bytes"}`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/** 4 s, 1 min 05 s, 1 h 02 min. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  if (total < 60) return `${total} s`;
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  if (minutes < 60) return `${minutes} min ${String(seconds).padStart(2, "0")} s`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/**
 * The time left at the pace so far, from `elapsedMs` and the bar's `percent`. Below 2 % the pace
 * is too young to judge, and while the bar is `still` (waiting, or quiet) it would be a guess.
 */
export function timeLeftWords(elapsedMs: number, percent: number, still: boolean): string {
  if (still || percent < 2 || percent >= 100) return "ETA —";
  const leftMs = (elapsedMs * (100 - percent)) / percent;
  // Rounded to whole seconds a short remainder reads "about 0 s left", which is never true.
  return leftMs < 5_000 ? "a few seconds left" : `about ${formatDuration(leftMs)} left`;
}

const clock = new Intl.DateTimeFormat("en-US", { hour: "numeric", minute: "2-digit" });

/**
 * How new mail reaches the page without a click, from /api/me's `push` and `nextCheckAt`; null
 * when Gmail is not connected (the page offers to connect instead).
 */
export function arrivalWords(
  me: { gmailStatus: string; push?: boolean; nextCheckAt?: string | null },
  now = Date.now(),
): string | null {
  if (me.gmailStatus !== "connected") return null;
  if (me.push) return "New mail arrives by itself within seconds.";
  const at = me.nextCheckAt ? Date.parse(me.nextCheckAt) : Number.NaN;
  if (Number.isNaN(at)) return "New mail arrives only when you press Fetch emails.";
  const minutes = Math.max(1, Math.round((at - now) / 60_000));
  const when = minutes < 60 ? `in about ${plural(minutes, "minute")}` : `at about ${clock.format(at)}`;
  return `New mail arrives when you press Fetch emails; the next automatic check is ${when}.`;
}

const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

/** "just now", "5 minutes ago", "yesterday"… */
export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "Never";
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return "Unknown";
  const seconds = Math.round((then - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return "just now";
  if (abs < 3600) return relative.format(Math.round(seconds / 60), "minute");
  if (abs < 86_400) return relative.format(Math.round(seconds / 3600), "hour");
  if (abs < 30 * 86_400) return relative.format(Math.round(seconds / 86_400), "day");
  return formatDateLong(iso);
}

const timeOnly = new Intl.DateTimeFormat("en-US", { hour: "numeric", minute: "2-digit" });
const monthDay = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric" });
const fullDate = new Intl.DateTimeFormat("en-US", { year: "numeric", month: "short", day: "numeric" });
const longDate = new Intl.DateTimeFormat("en-US", { dateStyle: "medium", timeStyle: "short" });

/** The list's date column: a time for today, "Mar 5" this year, "Mar 5, 2023" before. */
export function formatListDate(iso: string, now = new Date()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  if (d.toDateString() === now.toDateString()) return timeOnly.format(d);
  if (d.getFullYear() === now.getFullYear()) return monthDay.format(d);
  return fullDate.format(d);
}

export function formatDateLong(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : longDate.format(d);
}

/** "Jane Doe <jane@example.com>" → "Jane Doe"; a bare address stays as it is. */
export function displayName(address: string): string {
  const match = address.match(/^\s*"?([^"<]*?)"?\s*<([^>]+)>\s*$/);
  if (match) return match[1]?.trim() || match[2]!.trim();
  return address.trim() || "(unknown sender)";
}

export const PHASE_WORDS: Record<SyncPhase, string> = {
  listing: "Listing messages",
  fetching: "Fetching messages",
  storing: "Storing messages",
  done: "Done",
};

export const STATE_WORDS: Record<TaskState, string> = {
  queued: "Queued",
  active: "Syncing",
  completed: "Completed",
  failed: "Failed",
};

export const MODE_WORDS: Record<SyncMode, string> = {
  full: "full sync",
  incremental: "incremental sync",
};

/** Labels worth showing in the list: Gmail's system labels and bare user-label ids are not. */
const QUIET_LABELS = new Set([
  "INBOX",
  "UNREAD",
  "SENT",
  "DRAFT",
  "CATEGORY_PERSONAL",
  "CATEGORY_UPDATES",
  "CATEGORY_PROMOTIONS",
  "CATEGORY_SOCIAL",
  "CATEGORY_FORUMS",
]);

export function visibleLabels(labels: readonly string[]): string[] {
  return labels
    .filter((l) => !QUIET_LABELS.has(l) && !/^Label_\d+$/.test(l))
    .map((l) => (l === "IMPORTANT" ? "Important" : l === "STARRED" ? "Starred" : l));
}

/** After this long without news of a running task, the page says so rather than look frozen. */
export const QUIET_AFTER_MS = 5_000;

export interface WaitFacts {
  state: TaskState;
  waiting?: WaitReason;
  retryAt?: number;
  /** How long since the last progress arrived. */
  quietMs: number;
  /** Which budget a quota wait is for, when the snapshot says. */
  rateLimitedBy?: RateLimiter | null;
}

/** The budget a quota wait is for, as the object of "Waiting for …". */
const QUOTA_WAIT_WORDS: Partial<Record<RateLimiter, string>> = {
  user_quota: "Gmail's per-user quota",
  project_quota: "the project's Gmail quota",
};

/** What an unfinished task is waiting for, in words; null while it moves. */
export function waitWords(f: WaitFacts, now = Date.now()): string | null {
  if (f.state === "completed" || f.state === "failed") return null;
  const inTime = f.retryAt && f.retryAt > now ? ` in ${formatDuration(f.retryAt - now)}` : " soon";
  switch (f.waiting) {
    case "worker":
      return f.state === "queued"
        ? "Waiting for a worker"
        : "The worker stopped answering; waiting for another to take over";
    case "no_workers":
      return "No worker is running; continuing the sync from this page";
    case "retry":
      return `Gmail did not answer; trying again${inTime}`;
    case "quota":
      return `Waiting for ${(f.rateLimitedBy && QUOTA_WAIT_WORDS[f.rateLimitedBy]) ?? "Gmail's rate limit"}; resuming${inTime}`;
    case "daily_budget":
      // The headline: the sentence below the bar says until when, why and how much is here.
      return f.retryAt && f.retryAt > now
        ? `Paused for ${spanWords(f.retryAt - now)}`
        : "Paused; resuming soon";
    default:
      if (f.state === "queued") return "Waiting for a worker";
      return f.quietMs >= QUIET_AFTER_MS
        ? `No progress for ${formatDuration(f.quietMs)}; checking on the sync`
        : null;
  }
}
