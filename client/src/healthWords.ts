import type { AccountHealthView } from "../../core/contract";
import { formatRelative } from "./format";

const FULL_REASONS: Record<string, string> = {
  first_sync: "the first sync",
  history_expired: "Gmail no longer had the changes since the last sync",
  scope_widened: "more of the mailbox was asked for",
  bodies_missing: "some messages lacked their bodies",
  forced: "a full sync was asked for",
  check: "a completeness check compared every id with Gmail's",
};

const PUSH_WORDS: Record<AccountHealthView["push"]["state"], string> = {
  off: "Not set up here: new mail arrives when a sync runs",
  watching: "Active",
  lapsed: "Not active: new mail arrives only when a sync runs",
  inactive: "Not active (Gmail is not connected)",
};

/** "3 h", "2 d", "45 s": how old something is, compactly. */
export function ageWords(seconds: number): string {
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} d`;
}

/** One sentence for the top of the panel. */
export function healthSummary(view: AccountHealthView): string {
  if (view.attention.length === 0) return "All is well: nothing needs you.";
  return view.attention.length === 1 ? "One thing needs you:" : `${view.attention.length} things need you:`;
}

/** The panel's facts, term and value, in reading order. */
export function healthFacts(view: AccountHealthView, now = Date.now()): Array<[string, string]> {
  const { sync, push, messages, quota } = view;
  const facts: Array<[string, string]> = [];
  facts.push([
    "Last sync",
    sync.lastAt ? `${formatRelative(sync.lastAt, now)}${sync.kind ? ` (${sync.kind})` : ""}` : "Not yet",
  ]);
  if (sync.lastFull) {
    const why = sync.lastFull.reason ? FULL_REASONS[sync.lastFull.reason] : undefined;
    facts.push([
      "Last full sync",
      `${formatRelative(sync.lastFull.at, now)}${why ? `, because ${why}` : ""}`,
    ]);
  }
  if (sync.cursorAgeSeconds !== null)
    facts.push(["Changes replayed up to", `${ageWords(sync.cursorAgeSeconds)} ago`]);
  const pushWords = [PUSH_WORDS[push.state]];
  if (push.state === "watching" && push.watchedUntil)
    pushWords.push(`until ${formatRelative(push.watchedUntil, now)}`);
  facts.push(["Gmail push", pushWords.join(", ")]);
  if (push.state !== "off") facts.push(["Last push", formatRelative(push.lastPushAt, now)]);
  if (push.failedRenewals > 0) {
    facts.push([
      "Push renewals failing",
      `${push.failedRenewals} in a row${push.failingSince ? ` since ${formatRelative(push.failingSince, now)}` : ""}${
        push.lastError ? `: ${push.lastError}` : ""
      }`,
    ]);
  }
  const here = messages.here.toLocaleString("en");
  facts.push([
    "Messages",
    messages.gmailTotal === null
      ? `${here} here`
      : `${here} here; Gmail counted ${messages.gmailTotal.toLocaleString("en")} at the last full sync`,
  ]);
  if (quota) {
    const pct =
      quota.projectUnitsPerDay > 0
        ? Math.min(100, Math.floor((quota.projectUnitsToday / quota.projectUnitsPerDay) * 100))
        : 0;
    facts.push([
      "Gmail quota today",
      `${pct}% of the project's daily budget spent; it resets ${formatRelative(quota.resetsAt, now)}`,
    ]);
  }
  return facts;
}
