/**
 * The first failure of a fetch (a write or a lane's call) stops every lane, also those waiting
 * for the next listing page: that page waits for the one before it to be written, and so never
 * comes after a failed write. Waiters are rejected by hand rather than raced against a promise
 * that never settles: each race would stay attached to it, and with it the page it resolved to,
 * for the whole sync.
 */
export class Halt {
  private haltedBy: { err: unknown } | null = null;
  private readonly waiting = new Set<(err: unknown) => void>();

  /** Whether the fetch has stopped. */
  get halted(): boolean {
    return this.haltedBy !== null;
  }

  /** Stops the fetch for `err` (the first one given is kept) and rejects every waiter with it. */
  readonly halt = (err: unknown): void => {
    this.haltedBy ??= { err };
    for (const reject of this.waiting) reject(err);
    this.waiting.clear();
  };

  /** `pending`, unless the fetch stops first (then the reason it stopped, at once). */
  unlessHalted<T>(pending: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.haltedBy) return reject(this.haltedBy.err);
      this.waiting.add(reject);
      pending.then(
        (value) => {
          this.waiting.delete(reject);
          resolve(value);
        },
        (err) => {
          this.waiting.delete(reject);
          reject(err);
        },
      );
    });
  }
}
