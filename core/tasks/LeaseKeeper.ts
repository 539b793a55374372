/** The holder lost its lease: another runner took the task over, or the task is gone. */
export class LeaseLostError extends Error {
  constructor(readonly taskId: string) {
    super(`lost the lease on task ${taskId}`);
    this.name = "LeaseLostError";
  }
}

export interface LeaseKeeperOptions {
  /** Extends the lease; answers the new expiry, or null when the lease is lost. */
  renew: () => Promise<Date | null>;
  /**
   * When the claim was sent (this process's clock). The lease is counted from then, so a
   * database clock ahead of ours can never make this runner believe it holds a lease longer
   * than it does.
   */
  claimedAt: number;
  leaseMs: number;
  /** Renewals per lease time. Default 3: two renewals may fail before the lease can lapse. */
  renewalsPerLease?: number;
  /** Current time; a test passes a fake clock. */
  now?: () => number;
}

/**
 * Keeps a claimed lease alive on a timer of its own, so that ownership never depends on how often
 * a sync has progress to report. When the lease is lost, or runs out because renewals kept failing
 * (the database unreachable: by then another runner may legitimately take over), `signal` aborts
 * with `LeaseLostError` and the run stops before it can race the new holder.
 */
export class LeaseKeeper {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private expiresAt: number;
  private stopped = false;
  private readonly now: () => number;

  constructor(
    private readonly taskId: string,
    private readonly options: LeaseKeeperOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.expiresAt = options.claimedAt + options.leaseMs;
    this.schedule();
  }

  /** Aborted (with `LeaseLostError`) once the lease is lost. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get interval(): number {
    return Math.max(50, Math.floor(this.options.leaseMs / (this.options.renewalsPerLease ?? 3)));
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.interval);
    this.timer.unref?.();
  }

  /** One renewal; exposed so a test can drive it without timers. */
  async tick(): Promise<void> {
    if (this.stopped) return;
    const sentAt = this.now();
    try {
      const next = await this.options.renew();
      // Stopped while the renewal was in flight (the run ended and released the lease).
      if (this.stopped) return;
      if (!next) return this.lose();
      this.expiresAt = sentAt + this.options.leaseMs;
    } catch {
      if (this.stopped) return;
      // The database did not answer. The lease still holds until it expires; past that, another
      // runner may take the task, so this one must stop.
      if (this.now() >= this.expiresAt) return this.lose();
    }
    this.schedule();
  }

  private lose(): void {
    this.stop();
    this.controller.abort(new LeaseLostError(this.taskId));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
