/**
 * Wakes a web node's change-feed followers (long-polls and event streams) when their user's
 * mirror may have changed: the node hears a sync's snapshots as Socket.IO server-side events
 * (`changes:written`, published with every snapshot by core/events.ts's publishSnapshot) and
 * calls `notify`. A wake-up is only a hint to read the feed again; the feed itself (PostgreSQL)
 * is the truth, so a lost one costs latency, never a change.
 */
export class ChangeSignal {
  private readonly waiting = new Map<string, Set<() => void>>();

  /** Wakes every wait of `userId` on this node. */
  notify(userId: string): void {
    const wakers = this.waiting.get(userId);
    if (!wakers) return;
    this.waiting.delete(userId);
    for (const wake of wakers) wake();
  }

  /**
   * Resolves on the user's next `notify`, after `ms`, or when `signal` aborts, whichever comes
   * first; never rejects.
   */
  wait(userId: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        const set = this.waiting.get(userId);
        set?.delete(done);
        if (set?.size === 0) this.waiting.delete(userId);
        resolve();
      };
      timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done, { once: true });
      const set = this.waiting.get(userId) ?? new Set();
      this.waiting.set(userId, set);
      set.add(done);
    });
  }

  /** How many waits are pending (tests, metrics). */
  get size(): number {
    let n = 0;
    for (const set of this.waiting.values()) n += set.size;
    return n;
  }
}
