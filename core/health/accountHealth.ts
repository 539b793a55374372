import type { AccountHealthRow } from "../repositories/accountHealth.repository";
import type { FullSyncReason } from "../sync/SyncOptions";

/** A watch failing this long needs a person (its renewal runs hourly and retries on its own before). */
export const WATCH_FAILING_ALERT_MS = 24 * 3_600_000;

/** How Gmail push stands for one account. */
export type PushState =
  /** The deployment has no Pub/Sub topic: mail arrives by the schedule or a sync someone starts. */
  | "off"
  /** Gmail pushes this mailbox's changes until `watchedUntil`. */
  | "watching"
  /** The watch has ended (or was never made) and has not been renewed: no pushes come. */
  | "lapsed"
  /** Not connected: nothing is watched. */
  | "inactive";

/** What the project's daily Gmail budget says today (absent without a daily limit). */
export interface QuotaToday {
  projectUnitsToday: number;
  projectUnitsPerDay: number;
  /** Units this account's first sync spent today (first syncs share 95% of the day fairly). */
  firstSyncUnitsToday: number;
  /** Google's reset, midnight Pacific Time. */
  resetsAt: Date;
}

/** Something that needs a person, in words, with what to do. */
export interface Attention {
  code: "reauth_required" | "disconnected" | "watch_lapsed" | "watch_failing" | "daily_budget_spent";
  message: string;
  action: string;
}

export interface AccountHealth {
  accountId: string;
  email: string;
  state: AccountHealthRow["state"];
  sync: {
    lastAt: Date | null;
    kind: "full" | "incremental" | null;
    /** Since the history cursor was last moved forward (the last completed sync); null before one. */
    cursorAgeSeconds: number | null;
    lastFull: { at: Date; reason: FullSyncReason | null } | null;
  };
  push: {
    state: PushState;
    watchedUntil: Date | null;
    lastPushAt: Date | null;
    /** Renewals failed in a row since the last one that worked. */
    failedRenewals: number;
    failingSince: Date | null;
    lastError: string | null;
  };
  messages: { here: number; gmailTotal: number | null; gmailTotalAt: Date | null };
  /** The last completeness check: when, its task, and what it found missing or gone (and repaired). */
  check: { lastAt: Date; taskId: string; missing: number; extra: number } | null;
  quota: QuotaToday | null;
  attention: Attention[];
}

export interface HealthFacts {
  row: AccountHealthRow;
  pushOn: boolean;
  quota: QuotaToday | null;
  now: number;
}

const at = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

function pushStateOf({ row, pushOn, now }: HealthFacts): PushState {
  if (!pushOn) return "off";
  if (row.state !== "connected") return "inactive";
  return row.watchExpiration && row.watchExpiration.getTime() > now ? "watching" : "lapsed";
}

/** What needs a person, most urgent first. */
function attentionOf(facts: HealthFacts, push: PushState): Attention[] {
  const { row, now, quota } = facts;
  const list: Attention[] = [];
  if (row.state === "reauth_required") {
    list.push({
      code: "reauth_required",
      message:
        "Gmail no longer accepts this app's access (revoked, expired or a password change): nothing syncs.",
      action: "Sign in with Google again and allow access to Gmail.",
    });
  }
  if (row.state === "disconnected") {
    list.push({
      code: "disconnected",
      message: "Gmail was disconnected: the mail already here stays, nothing new arrives.",
      action: "Sign in with Google again to reconnect it.",
    });
  }
  const failingLong =
    row.watchFailingSince !== null && now - row.watchFailingSince.getTime() >= WATCH_FAILING_ALERT_MS;
  if (push === "lapsed") {
    const since = row.watchExpiration ? `since ${at(row.watchExpiration)}` : "since it was connected";
    list.push({
      code: "watch_lapsed",
      message: `Gmail push has not been active ${since}: new mail arrives only when a sync runs.`,
      action: failingLong
        ? "Renewal keeps failing; see the watch error, check that Gmail may publish to the Pub/Sub topic, then renew."
        : "Renew it now, or wait for the hourly renewal.",
    });
  }
  if (failingLong && row.state === "connected") {
    list.push({
      code: "watch_failing",
      message: `Renewing Gmail push has failed ${row.watchFailures} times in a row since ${at(row.watchFailingSince!)}${
        row.watchError ? `: ${row.watchError}` : ""
      }`,
      action:
        "Grant gmail-api-push@system.gserviceaccount.com the Pub/Sub Publisher role on the topic (docs/push.md), then renew.",
    });
  }
  if (quota && quota.projectUnitsPerDay > 0 && quota.projectUnitsToday >= quota.projectUnitsPerDay * 0.95) {
    list.push({
      code: "daily_budget_spent",
      message: `The project's daily Gmail budget is spent: first syncs pause until ${at(quota.resetsAt)}; incremental syncs and push go on.`,
      action:
        "Nothing to do: they resume by themselves after the reset. A higher limit is asked of Google (docs/quota.md).",
    });
  }
  return list;
}

/** The health view of one account from what is stored, whether push is on, and today's quota. */
export function accountHealth(facts: HealthFacts): AccountHealth {
  const { row, now } = facts;
  const push = pushStateOf(facts);
  return {
    accountId: row.id,
    email: row.email,
    state: row.state,
    sync: {
      lastAt: row.lastSyncAt,
      kind: row.lastSyncKind,
      cursorAgeSeconds:
        row.historyId && row.lastSyncAt
          ? Math.max(0, Math.floor((now - row.lastSyncAt.getTime()) / 1000))
          : null,
      lastFull: row.lastFullSyncAt ? { at: row.lastFullSyncAt, reason: row.lastFullSyncReason } : null,
    },
    push: {
      state: push,
      watchedUntil: row.watchExpiration,
      lastPushAt: row.lastPushAt,
      failedRenewals: row.watchFailures,
      failingSince: row.watchFailingSince,
      lastError: row.watchError,
    },
    messages: { here: row.messages, gmailTotal: row.gmailTotal, gmailTotalAt: row.gmailTotalAt },
    check: row.lastCheckAt && row.lastCheck ? { lastAt: row.lastCheckAt, ...row.lastCheck } : null,
    quota: facts.quota,
    attention: attentionOf(facts, push),
  };
}
