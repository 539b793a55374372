/**
 * A rolling minute of one-second slots in this process: the arithmetic of RedisQuotaBudget's
 * script, for when Redis cannot be asked. Google meters per-minute quotas over a moving minute, so
 * a token bucket holding a minute's units could spend nearly two minutes' worth in one window; a
 * window of slots cannot. It spans `WINDOW_SECONDS` (61) one-second slots, so no 60 seconds of
 * continuous time hold more than the limit, wherever Google's meter puts its second boundaries.
 */
export const WINDOW_SECONDS = 61;

export class MinuteWindow {
  private readonly slots = new Map<number, number>();

  constructor(
    /** Units per window; 0 = no limit. */
    private readonly limit: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes `cost` and answers 0, or how many ms until it could be paid (taking nothing). */
  take(cost: number): number {
    if (this.limit <= 0) return 0;
    const nowMs = this.now();
    const wait = this.waitMs(cost, nowMs);
    if (wait > 0) return wait;
    const second = Math.floor(nowMs / 1000);
    this.slots.set(second, (this.slots.get(second) ?? 0) + cost);
    return 0;
  }

  /** Gives back units taken for a call that did not happen. */
  refund(cost: number): void {
    const second = Math.floor(this.now() / 1000);
    const left = (this.slots.get(second) ?? 0) - cost;
    if (left > 0) this.slots.set(second, left);
    else this.slots.delete(second);
  }

  private waitMs(cost: number, nowMs: number): number {
    const second = Math.floor(nowMs / 1000);
    let used = 0;
    for (const [s, units] of this.slots) {
      // Slots that left the window go; so do ones stamped later than now (a clock set back).
      if (s <= second - WINDOW_SECONDS || s > second) this.slots.delete(s);
      else used += units;
    }
    if (used === 0 || used + cost <= this.limit) return 0;
    // Slots leave oldest first: the call fits once enough of them have.
    let left = used;
    for (const s of [...this.slots.keys()].sort((a, b) => a - b)) {
      left -= this.slots.get(s)!;
      if (left === 0 || left + cost <= this.limit) return (s + WINDOW_SECONDS) * 1000 - nowMs;
    }
    return WINDOW_SECONDS * 1000;
  }
}
