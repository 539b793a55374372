/**
 * When a sync is expected to finish, from the quota units it still needs and the rate Gmail's
 * quota lets it spend them. Under the 2026 quota profile a first sync takes hours, and its pace is
 * set by the quota, not by how fast the last seconds went: a few quick seconds after a pause (or
 * a slow start while lanes open) would otherwise swing the estimate by hours. Pure arithmetic; the
 * task run feeds it.
 */
import type { GmailQuotaTable } from "../gmail/quotaProfile";

/** What one sync's remaining work costs, and what the quota allows, from the quota table. */
export interface EtaPlan {
  /** Units one message's fetch costs (`messages.get`, format=full). */
  unitsPerMessage: number;
  /** Units one listing page costs (`messages.list`). */
  unitsPerListingPage: number;
  /** Ids one listing page carries at most. */
  idsPerListingPage: number;
  /** Units a second the user's quota allows; 0 = no limit. */
  userUnitsPerSecond: number;
}

/** Ids per `messages.list` page the sync asks for (SyncOptions.pageSize's default, Gmail's most). */
export const LISTING_PAGE_IDS = 500;

/** The plan the quota table gives a sync. */
export function etaPlanOf(
  table: Pick<GmailQuotaTable, "costs" | "userUnitsPerSecond">,
  idsPerListingPage = LISTING_PAGE_IDS,
): EtaPlan {
  return {
    unitsPerMessage: table.costs["messages.get"],
    unitsPerListingPage: table.costs["messages.list"],
    idsPerListingPage,
    userUnitsPerSecond: table.userUnitsPerSecond,
  };
}

/**
 * Units still needed for `left` messages: each one's fetch, and the listing pages that may still
 * have to name them (an upper bound: some are listed already; a page costs 1% of its messages).
 */
export function unitsLeft(plan: EtaPlan, left: number): number {
  const messages = Math.max(0, left);
  return (
    messages * plan.unitsPerMessage + Math.ceil(messages / plan.idsPerListingPage) * plan.unitsPerListingPage
  );
}

/** A task with work left is never said to end sooner than this from now. */
export const MIN_REMAINING_MS = 1_000;

export interface EtaInput {
  now: number;
  /** Messages not yet processed (the bar's total − processed). */
  left: number;
  /** False once the task is done: then there is no estimate. */
  workRemains: boolean;
  /** Messages a second lately (smoothed), once trusted; undefined while unknown or paused. */
  observedRate?: number;
  /** A known pause (a quota reset, a retry) ends then, ms since the epoch. */
  pausedUntil?: number;
}

/**
 * When the task is expected to finish (ms since the epoch), pauses included; undefined while it
 * cannot be known (no quota limit and no rate observed yet) or once the work is done. The rate is
 * the quota's, or the observed one when lower (another budget, or Gmail, holds the sync back).
 */
export function etaAt(plan: EtaPlan, input: EtaInput): number | undefined {
  if (!input.workRemains) return undefined;
  const quota = plan.userUnitsPerSecond > 0 ? plan.userUnitsPerSecond : Number.POSITIVE_INFINITY;
  const observed =
    input.observedRate !== undefined && input.observedRate > 0
      ? input.observedRate * plan.unitsPerMessage
      : Number.POSITIVE_INFINITY;
  const unitsPerSecond = Math.min(quota, observed);
  if (!Number.isFinite(unitsPerSecond)) return undefined;
  const start = Math.max(input.now, input.pausedUntil ?? 0);
  const workMs = (unitsLeft(plan, input.left) / unitsPerSecond) * 1000;
  return Math.ceil(start + Math.max(MIN_REMAINING_MS, workMs));
}

/**
 * Messages a second, smoothed exponentially over time (half-life `halfLifeMs`) so one burst or
 * one stall moves it a little, not all the way.
 */
export class RateMeter {
  private last: { at: number; count: number } | null = null;
  private smoothed: number | undefined;
  /** Time covered by samples since the first one. */
  private observedMs = 0;

  constructor(
    private readonly halfLifeMs = 10_000,
    /** Samples closer than this are merged (a burst of progress steps in one tick). */
    private readonly minSampleMs = 250,
    /** The rate counts for the estimate only after this much observation. */
    private readonly trustAfterMs = 10_000,
  ) {}

  /** `count` messages processed at `at` (ms). A count going back starts over. */
  observe(count: number, at: number): void {
    if (!this.last || count < this.last.count) {
      this.last = { at, count };
      return;
    }
    const dt = at - this.last.at;
    if (dt < this.minSampleMs) return;
    const now = ((count - this.last.count) * 1000) / dt;
    const weight = 1 - 2 ** (-dt / this.halfLifeMs);
    this.smoothed = this.smoothed === undefined ? now : this.smoothed + weight * (now - this.smoothed);
    this.observedMs += dt;
    this.last = { at, count };
  }

  /**
   * A pause worth its own account (a quota reset, a retry's backoff) starts: the time until the
   * next sample is not counted, or one long gap would drag the rate to nothing.
   */
  pause(): void {
    this.last = null;
  }

  /** The smoothed rate, or undefined before the first interval. */
  get rate(): number | undefined {
    return this.smoothed;
  }

  /** The rate once observed long enough to plan with; undefined before. */
  get trusted(): number | undefined {
    return this.observedMs >= this.trustAfterMs ? this.smoothed : undefined;
  }
}
