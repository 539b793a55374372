/**
 * What a running sync's snapshot says about its pace, in words: how fast, what sets that pace,
 * when it should end, and why it is paused. Shared by the browser app and the CLI so both explain
 * an hours-long sync the same way. Pure: "now" and the reader's time zone are arguments.
 */
import type { RateLimiter, TaskSnapshot } from "../events";
import { clockWords, isGoogleMidnight, spanWords } from "./timeWords";

const count = new Intl.NumberFormat("en-US");

/** Why the pace is what it is, as the end of a sentence. */
export const LIMITER_WORDS: Readonly<Record<RateLimiter, string>> = {
  user_quota: "Gmail's per-user quota sets the pace",
  project_quota: "the project's Gmail quota, shared by every user, sets the pace",
  daily_budget: "the project's daily Gmail budget is spent",
  gmail: "Gmail asked for a slower pace; backing off and retrying",
};

/** Short forms for a terminal line. */
export const LIMITER_SHORT: Readonly<Record<RateLimiter, string>> = {
  user_quota: "Gmail's per-user quota",
  project_quota: "the project's Gmail quota",
  daily_budget: "daily budget spent",
  gmail: "Gmail asked to slow down",
};

/** "20 messages a second", "1 message a second", "24 messages a minute" below one a second. */
export function rateWords(perSecond: number): string {
  if (perSecond >= 1) {
    const n = perSecond >= 10 ? Math.round(perSecond) : Math.round(perSecond * 10) / 10;
    return `${count.format(n)} ${n === 1 ? "message" : "messages"} a second`;
  }
  const perMinute = Math.round(perSecond * 60);
  if (perMinute < 1) return "under 1 message a minute";
  return `${count.format(perMinute)} ${perMinute === 1 ? "message" : "messages"} a minute`;
}

type Pace = Pick<
  TaskSnapshot,
  "state" | "waiting" | "retryAt" | "rate" | "rateLimitedBy" | "etaAt" | "unitsPerMessage" | "progress"
>;

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * The pace line: "20 messages a second: Gmail's per-user quota sets the pace (5 quota units a
 * message)"; "… as fast as Gmail answers" when nothing holds it back. While the sync waits, only
 * what it waits for. Null when the snapshot carries no pace (a finished or queued task, an older
 * server) and while the daily budget pauses it (the paused sentence says that).
 */
export function paceWords(s: Pace): string | null {
  if (s.state !== "active" || s.waiting === "daily_budget") return null;
  const units = s.unitsPerMessage ? ` (${count.format(s.unitsPerMessage)} quota units a message)` : "";
  const moving = s.rate !== undefined && s.rate > 0 && !s.waiting;
  if (s.rateLimitedBy) {
    const why = LIMITER_WORDS[s.rateLimitedBy];
    return moving ? `${rateWords(s.rate as number)}: ${why}${units}` : `${capital(why)}${units}`;
  }
  if (!moving) return null;
  return `${rateWords(s.rate as number)}, as fast as Gmail answers`;
}

/** Work under this long needs no "finishes around" clock time. */
const CLOCK_AFTER_MS = 10 * 60_000;

/**
 * The estimate: "about 3 h 20 min left, finishes around 14:05"; for a few minutes only the time
 * left. Null while the snapshot has none (too early to know, or done).
 */
export function etaWords(
  s: Pick<TaskSnapshot, "state" | "etaAt">,
  now: number,
  timeZone: string,
  withZone = false,
): string | null {
  if (s.state !== "active" || s.etaAt === undefined) return null;
  const left = s.etaAt - now;
  if (left < 5_000) return "a few seconds left";
  const span = `about ${spanWords(left)} left`;
  return left < CLOCK_AFTER_MS
    ? span
    : `${span}, finishes around ${clockWords(s.etaAt, now, timeZone, withZone)}`;
}

/** How many messages are here, for a paused sync: "12,400 of 48,000 messages are here". */
export function hereWords(progress: Pick<TaskSnapshot["progress"], "processed" | "total">): string {
  const { processed, total } = progress;
  if (total > 0)
    return `${count.format(Math.min(processed, total))} of ${count.format(total)} messages are here`;
  return `${count.format(processed)} ${processed === 1 ? "message is" : "messages are"} here`;
}

/**
 * The daily budget's pause in one sentence: "Paused until 09:00 GMT+1 tomorrow (midnight Pacific
 * time, when Google's quota day starts), in 5 h 12 min: the project's daily Gmail budget is spent;
 * 12,400 of 48,000 messages are here." The time is the reader's, with its zone; Google's own
 * midnight is named too when the reader lives elsewhere. Null unless the budget pauses the task.
 */
export function pausedWords(
  s: Pick<TaskSnapshot, "state" | "waiting" | "retryAt" | "progress">,
  now: number,
  timeZone: string,
): string | null {
  if (s.waiting !== "daily_budget" || s.state === "completed" || s.state === "failed") return null;
  // While listing, `processed` counts no stored message (a full sync's stays 0; an incremental
  // one's counts history records): there is nothing to say about what is here yet.
  const here = s.progress.phase === "listing" ? "" : `; ${hereWords(s.progress)}`;
  const spent = LIMITER_WORDS.daily_budget;
  if (s.retryAt === undefined || s.retryAt <= now) return `Paused: ${spent}${here}. Resuming soon.`;
  const when = clockWords(s.retryAt, now, timeZone, true);
  const google =
    isGoogleMidnight(s.retryAt) && !isMidnightIn(s.retryAt, timeZone)
      ? " (midnight Pacific time, when Google's quota day starts)"
      : "";
  return `Paused until ${when}${google}, in ${spanWords(s.retryAt - now)}: ${spent}${here}.`;
}

function isMidnightIn(at: number, timeZone: string): boolean {
  return clockWords(at, at, timeZone).startsWith("00:00");
}

/** Work this far from its end, or paused, is long enough to say the page may be closed. */
export const LONG_WORK_MS = 2 * 60_000;

/** True when the sync will run long enough that the reader should know it needs no watching. */
export function isLongWork(
  s: Pick<TaskSnapshot, "state" | "waiting" | "etaAt" | "retryAt">,
  now: number,
): boolean {
  if (s.state === "completed" || s.state === "failed") return false;
  if (s.waiting === "daily_budget") return true;
  return s.etaAt !== undefined && s.etaAt - now >= LONG_WORK_MS;
}

/** Said in the browser under a long sync: it runs in the worker, so the page may go. */
export const CLOSE_TAB_WORDS =
  "You can close this tab: the sync goes on in the background, and this page picks it up when you come back.";

/** Said instead while the sync runs through the page's own request (no worker is running). */
export const KEEP_TAB_WORDS = "Keep this tab open: no worker is running, so the sync runs through this page.";
