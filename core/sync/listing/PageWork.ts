import type { FetchItem, Settling } from "../fetch/FetchItem";
import type { PlannedCall } from "../fetch/threadPlan";
import type { ListedPage } from "../MailStore";

/**
 * A listed page while its messages are fetched: how many are still to be written, and the done
 * mark once none is. `finished` resolves when the mark is written (or the page needed none).
 */
export class PageWork implements Settling {
  /** The index in `calls` of the next call to hand out. */
  next = 0;
  /** How the page's missing messages are fetched (the thread plan); one get each by default. */
  readonly calls: PlannedCall[];
  private pending: number;
  private resolve!: () => void;
  readonly finished = new Promise<void>((r) => {
    this.resolve = r;
  });

  constructor(
    readonly page: ListedPage,
    readonly missing: string[],
    private readonly markDone: () => Promise<void>,
    calls?: PlannedCall[],
  ) {
    this.pending = missing.length;
    this.calls = calls ?? missing.map((id) => ({ method: "messages.get", id }));
  }

  /** The next call for the lanes, or null once every one is handed out. */
  take(): FetchItem | null {
    const call = this.calls[this.next];
    if (!call) return null;
    this.next++;
    if (call.method === "messages.get") return { id: call.id, owner: this };
    return { id: call.threadId, thread: { members: call.ids.map((id) => ({ id, owner: this })) } };
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
