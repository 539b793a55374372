import type { SyncScope } from "./MailStore";

/** A scope Gmail cannot be asked for (newer_than takes a whole number of days). */
export class InvalidSyncScopeError extends Error {
  readonly code = "invalid_scope";
  constructor(message: string) {
    super(message);
    this.name = "InvalidSyncScopeError";
  }
}

/**
 * A scope in one canonical form: null for the whole mailbox, label ids sorted and distinct, no
 * empty fields. Throws InvalidSyncScopeError for a day count Gmail cannot take.
 */
export function normalizeScope(scope: SyncScope | null | undefined): SyncScope | null {
  if (!scope) return null;
  const out: SyncScope = {};
  const days = scope.newerThanDays;
  if (days !== undefined && days !== null) {
    if (!Number.isInteger(days) || days < 1) {
      throw new InvalidSyncScopeError(
        `newerThanDays must be a whole number of days, at least 1 (got ${days})`,
      );
    }
    out.newerThanDays = days;
  }
  const labels = [...new Set((scope.labelIds ?? []).filter((l) => typeof l === "string" && l !== ""))].sort();
  if (labels.length) out.labelIds = labels;
  return Object.keys(out).length ? out : null;
}

/**
 * Whether a mirror that covers `held` holds everything `asked` names (both normalised; null is
 * the whole mailbox). Days: the mirror of "newer than N days" keeps every later arrival, so it
 * covers any window of N days or fewer at any later time. Labels (ANDed): asking for more labels
 * asks for fewer messages.
 */
export function scopeCovers(held: SyncScope | null, asked: SyncScope | null): boolean {
  if (!held) return true;
  if (!asked) return false;
  if (held.newerThanDays !== undefined) {
    if (asked.newerThanDays === undefined || asked.newerThanDays > held.newerThanDays) return false;
  }
  if (held.labelIds?.length) {
    if (!held.labelIds.every((l) => asked.labelIds?.includes(l))) return false;
  }
  return true;
}

/** The `messages.list` parameters that list exactly `scope`. */
export function listParams(scope: SyncScope | null): { q?: string; labelIds?: string[] } {
  return {
    ...(scope?.newerThanDays ? { q: `newer_than:${scope.newerThanDays}d` } : {}),
    ...(scope?.labelIds?.length ? { labelIds: scope.labelIds } : {}),
  };
}

/** Whether a message with `labels` is inside the scope's labels (a day scope admits any arrival). */
export const inScopeLabels = (scope: SyncScope | null, labels: readonly string[]) =>
  !scope?.labelIds?.length || scope.labelIds.every((l) => labels.includes(l));
