import type { Settling } from "../fetch/FetchItem";
import type { ListedPage } from "../MailStore";

/**
 * A listed page while its messages are fetched: how many are still to be written, and the done
 * mark once none is. `finished` resolves when the mark is written (or the page needed none).
 */
export class PageWork implements Settling {
  /** The index in `missing` of the next id to hand out. */
  next = 0;
  private pending: number;
  private resolve!: () => void;
  readonly finished = new Promise<void>((r) => {
    this.resolve = r;
  });

  constructor(
    readonly page: ListedPage,
    readonly missing: string[],
    private readonly markDone: () => Promise<void>,
  ) {
    this.pending = missing.length;
  }

  /** `n` more of its messages are written or gone; marks the page done after the last. */
  async settle(n: number): Promise<void> {
    this.pending -= n;
    if (this.pending > 0) return;
    await this.markDone();
    this.resolve();
  }

  /** A page an earlier run already marked done. */
  release(): void {
    this.resolve();
  }
}
