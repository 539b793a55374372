import type { Me } from "../../../../core/contract";

/** What decides how new mail reaches a user's copy without a click. */
export interface NextCheckInput {
  /** GMAIL_PUSH_TOPIC is set: Gmail tells the app about changes within seconds. */
  pushOn: boolean;
  /** SYNC_SCHEDULE_INTERVAL_SECONDS; 0 = no schedule. The schedule never runs while push is on. */
  scheduleIntervalSeconds: number;
  gmailStatus: Me["gmailStatus"];
  lastSyncAt: Date | null;
  now: number;
}

/**
 * `push` and `nextCheckAt` of /api/me. Only a connected account gets either. The schedule gives
 * every recently active account (one signed in now is) a sync each interval, at a jittered
 * moment: the estimate is one interval after the last sync, or after now when that moment has
 * passed (a late or skipped run), so the page never names a time in the past.
 */
export function nextCheck(input: NextCheckInput): Pick<Me, "push" | "nextCheckAt"> {
  const connected = input.gmailStatus === "connected";
  if (!connected) return { push: false, nextCheckAt: null };
  if (input.pushOn) return { push: true, nextCheckAt: null };
  const everyMs = input.scheduleIntervalSeconds * 1000;
  if (everyMs <= 0) return { push: false, nextCheckAt: null };
  const afterLast = input.lastSyncAt ? input.lastSyncAt.getTime() + everyMs : 0;
  const at = afterLast > input.now ? afterLast : input.now + everyMs;
  return { push: false, nextCheckAt: new Date(at).toISOString() };
}
