/**
 * One token bucket in this process: holds at most one second of units and refills continuously.
 * The same arithmetic as the Redis script in RedisQuotaGate, for when Redis cannot be asked.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    /** Units per second; 0 = no limit. */
    private readonly rate: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = rate;
    this.at = now();
  }

  /** Takes `cost` and answers 0, or answers how many ms until it could be paid (taking nothing). */
  take(cost: number): number {
    if (this.rate <= 0) return 0;
    const now = this.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.at) * this.rate) / 1000);
    this.at = now;
    if (this.tokens < cost) return Math.ceil(((cost - this.tokens) * 1000) / this.rate);
    this.tokens -= cost;
    return 0;
  }

  /** Gives back units taken for a call that did not happen. */
  refund(cost: number): void {
    if (this.rate > 0) this.tokens = Math.min(this.rate, this.tokens + cost);
  }
}
