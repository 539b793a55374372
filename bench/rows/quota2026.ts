import { resolveQuotaTable } from "../../core/gmail/quotaProfile";

/** The `2026` profile's table, as a new deployment gets it (docs/quota.md). */
export const TABLE_2026 = resolveQuotaTable({ GMAIL_QUOTA_PROFILE: "2026" });

/**
 * The app's settings for the `2026` profile on a stack of the bench's own: the profile's per-user
 * and per-project limits written out (the bench's main stack turns the gate off with the same
 * variables), and the project's day when a row sizes one.
 */
export function env2026(projectUnitsPerDay?: number): Record<string, string> {
  return {
    GMAIL_QUOTA_PROFILE: "2026",
    GMAIL_USER_UNITS_PER_SECOND: String(TABLE_2026.userUnitsPerMinute / 60),
    GMAIL_PROJECT_UNITS_PER_SECOND: String(TABLE_2026.projectUnitsPerMinute / 60),
    ...(projectUnitsPerDay === undefined ? {} : { GMAIL_PROJECT_UNITS_PER_DAY: String(projectUnitsPerDay) }),
  };
}

/** The median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Gmail calls the simulator refused (quota 403/429s and faults), all methods together. */
export function refusedOf(stats: { rejected?: Record<string, number> }): number {
  return Object.values(stats.rejected ?? {}).reduce((a, b) => a + b, 0);
}
