import type { gmail_v1 } from "@googleapis/gmail";
import type { MailStore } from "../MailStore";
import type { MessageFetcher } from "../MessageFetcher";
import type { SyncCalls } from "../SyncCalls";
import type { ProgressSink } from "../SyncOptions";
import { isHidden, toMailMessage } from "../toMail";
import { type FetchItem, messagesIn, type Settling, type TakeItem } from "./FetchItem";
import { Halt } from "./Halt";
import { LaneControl } from "./LaneControl";
import { type Extras, type Keep, PartRetry } from "./PartRetry";
import { type FetchCosts, wholeThreadPays } from "./threadPlan";
import { bodyCharsOf, WriteBuffer } from "./WriteBuffer";

/** What a fetch needs from its sync. */
export interface FetchSettings {
  store: Pick<MailStore, "upsert">;
  fetcher: MessageFetcher;
  calls: SyncCalls;
  /** Messages written per upsert at most. */
  batchSize: number;
  /** The most `messages.get` a second the user's quota allows. */
  perSecond: number;
  /** Milliseconds on a monotonic clock; `performance.now` unless a test drives time. */
  now?: () => number;
  /**
   * What to do with the messages a whole thread brings besides the listed ones it was fetched
   * for (messages on other pages, or stored already). Absent: nothing (they are fetched again
   * where they are listed, if they are).
   */
  extras?: ThreadExtras;
}

/** Which of a thread's other messages a full listing keeps, so their own page need not fetch them. */
export interface ThreadExtras {
  /** Whether the listing would name `message` (inside its scope; hidden mail never is). */
  admits(message: gmail_v1.Schema$Message): boolean;
  /** Which of `ids` are stored already (MailStore.knownIds). */
  known(ids: string[]): Promise<Set<string>>;
  /** The prices the plan weighs, for an item whose members were partly brought by another thread. */
  costs: FetchCosts;
}

/**
 * Thread messages held for pages not yet reached, at most: beyond it a thread's other messages
 * are left for their own page to fetch, so memory does not grow with the mailbox.
 */
export const MAX_HELD_EXTRAS = 20_000;

/**
 * Messages brought in before the units per message are reported: the sync's first calls
 * (labels, profile, the first listing page) would make a handful of messages look dear.
 */
export const MEASURED_AFTER = 50;

/** Where a fetch reports: `tally` counts the ids done, `total` is the bar's end, `say` is told. */
export interface FetchProgress {
  tally: { processed: number };
  total: () => number;
  say: ProgressSink;
}

/**
 * Fetches whole messages (`format=full`) with bounded concurrency, taking ids from `take` until
 * it answers null, and writes them in batches as they arrive, so a reader sees the mailbox fill
 * up while the sync runs. An id's owner (its page) is settled once its message is written (or
 * found gone). Rejects with the first failure, after writing what was fetched before it.
 */
export function fetchAndStore(
  take: TakeItem,
  lanesWanted: number,
  progress: FetchProgress,
  settings: FetchSettings,
): Promise<{ added: number; updated: number }> {
  return new FetchPipeline(take, lanesWanted, progress, settings).run();
}

/** The lanes of one fetch, sharing one write buffer, one lane control and one halt. */
class FetchPipeline {
  private readonly halt = new Halt();
  private readonly writes: WriteBuffer;
  private readonly lanes: LaneControl;
  private readonly parts: PartRetry;
  private readonly runners: Array<Promise<void>> = [];
  /**
   * Messages a whole thread brought before their own page handed them out: written (or found
   * stored) once the promise resolves. Their page settles them without a call.
   */
  private readonly held = new Map<string, Promise<void>>();
  /** Ids of listed messages taken for a request and not yet written: a thread's answer does not write them. */
  private readonly inFlight = new Set<string>();
  /** Work started outside the lanes (held messages' writes and settles), awaited before the end. */
  private readonly side = new Set<Promise<void>>();
  /** Messages this fetch brought in (answers and a thread's kept extras), for units per message. */
  private messages = 0;

  constructor(
    private readonly take: TakeItem,
    lanesWanted: number,
    private readonly progress: FetchProgress,
    private readonly settings: FetchSettings,
  ) {
    const { fetcher, perSecond, now } = settings;
    this.writes = new WriteBuffer(settings.store, settings.batchSize, this.halt.halt);
    this.lanes = new LaneControl({
      lanesWanted,
      maxIds: fetcher.maxIds,
      perSecond,
      now,
      isHalted: () => this.halt.halted,
    });
    this.parts = new PartRetry(fetcher, settings.calls, (ms, n) => this.observed(ms, n), now);
  }

  async run(): Promise<{ added: number; updated: number }> {
    await this.say();
    this.openUpTo(this.lanes.requests);
    let outcome: Array<PromiseSettledResult<void>> = [];
    // Lanes opened meanwhile are awaited too.
    while (outcome.length < this.runners.length) outcome = await Promise.allSettled([...this.runners]);
    this.lanes.close();
    // Held messages' writes and their pages' settles, however the lanes ended.
    await this.writes.flush().catch(() => {});
    while (this.side.size > 0) await Promise.allSettled([...this.side]);
    const failure = outcome.find((o): o is PromiseRejectedResult => o.status === "rejected");
    if (failure) {
      // What was fetched is kept; the failure is the lanes'.
      await this.writes.flush().catch(() => {});
      throw failure.reason;
    }
    await this.writes.flush();
    return { added: this.writes.added, updated: this.writes.updated };
  }

  private say(): void | Promise<void> {
    const { tally, total, say } = this.progress;
    // Units paid for requests still on the wire have brought no message yet.
    const unitsSpent = this.settings.calls.unitsSpent - this.parts.unitsInFlight;
    return say({
      phase: "fetching",
      processed: tally.processed,
      total: total(),
      ...(this.messages >= MEASURED_AFTER
        ? { unitsPerMessage: Math.round((unitsSpent / this.messages) * 100) / 100 }
        : {}),
    });
  }

  /** Starts work beside the lanes; its failure stops the fetch. */
  private aside(work: Promise<void>): void {
    const tracked = work
      .catch((err: unknown) => this.halt.halt(err))
      .finally(() => this.side.delete(tracked));
    this.side.add(tracked);
  }

  private observed(ms: number, n: number): void {
    const requests = this.lanes.observe(ms, n);
    if (requests !== null) this.openUpTo(requests);
  }

  private openUpTo(requests: number): void {
    while (this.runners.length < requests) {
      this.runners.push(
        this.lane().catch((err: unknown) => {
          this.halt.halt(err);
          throw err;
        }),
      );
    }
  }

  /** One lane: requests of up to `idsPerRequest` ids, one after another, until none is left. */
  private async lane(): Promise<void> {
    // An id the lane was promised once the next page is ready, taken with its next request.
    let promised: Promise<FetchItem | null> | null = null;
    // Calls split from a thread that no longer paid, beyond what the last request could carry.
    const leftover: FetchItem[] = [];
    while (!this.halt.halted) {
      this.settings.calls.checkAborted();
      const items: FetchItem[] = [];
      let weight = 0;
      let exhausted = false;
      const wanted = this.lanes.idsPerRequest();
      while (weight < wanted && leftover.length > 0) {
        const call = leftover.shift()!;
        items.push(call);
        weight += messagesIn(call);
      }
      while (weight < wanted) {
        let item: FetchItem | null | Promise<FetchItem | null> = promised ?? this.take();
        promised = null;
        if (item instanceof Promise) {
          if (items.length > 0) {
            // What is in hand goes now; the next page is not waited for with it.
            promised = this.halt.unlessHalted(item);
            promised.catch(() => {});
            break;
          }
          // The next page waits for the last one to be written: write what is buffered now.
          void this.writes.flush();
          item = await this.halt.unlessHalted(item);
        }
        if (!item) {
          exhausted = true;
          break;
        }
        for (const call of this.unheld(item)) {
          // Taken is as good as on the wire: a thread answering meanwhile must not write these.
          if (this.settings.extras) for (const m of call.thread?.members ?? [call]) this.inFlight.add(m.id);
          // A request carries no more calls than the transport takes.
          if (items.length >= this.lanes.perRequest) leftover.push(call);
          else {
            items.push(call);
            weight += messagesIn(call);
          }
        }
      }
      if (this.halt.halted) return;
      await this.send(items);
      if (exhausted && leftover.length === 0) return;
    }
  }

  /**
   * The calls still needed for `item` once the messages a thread already brought are settled:
   * the item itself, nothing, or (a thread whose remaining members no longer pay for it) one
   * message call per remaining member.
   */
  private unheld(item: FetchItem): FetchItem[] {
    if (this.held.size === 0) return [item];
    const members = item.thread?.members ?? [item];
    const left = members.filter((m) => {
      const written = this.held.get(m.id);
      if (!written) return true;
      this.held.delete(m.id);
      // Settled after its write, so its page is marked done only once it is stored.
      this.aside(written.then(() => m.owner?.settle(1)));
      this.progress.tally.processed++;
      return false;
    });
    if (!item.thread || left.length === members.length) return left.length === 0 ? [] : [item];
    if (this.settings.extras && left.length > 0 && wholeThreadPays(left.length, this.settings.extras.costs))
      return [{ id: item.id, thread: { members: left } }];
    return left;
  }

  /** Fetches `items`; a write started meanwhile is waited for, so fetching never runs ahead of writing. */
  private async send(items: FetchItem[]): Promise<void> {
    const before = this.writes.cuts;
    if (items.length > 0) await this.parts.fetch(items, this.keep, this.settings.extras && this.extras);
    if (this.writes.cuts !== before) {
      await this.writes.flush();
      await this.say();
    }
  }

  /**
   * A thread's messages no listed item of the request asked for: those the listing would name,
   * that no request on the wire carries and that are not stored yet are written now and held
   * for their own page, which then settles them without a call.
   */
  private readonly extras: Extras = (messages) => {
    const { extras } = this.settings;
    if (!extras) return;
    const fresh = messages.filter(
      (m): m is gmail_v1.Schema$Message & { id: string } =>
        !!m.id &&
        !this.inFlight.has(m.id) &&
        !this.held.has(m.id) &&
        !isHidden(m.labelIds ?? []) &&
        extras.admits(m),
    );
    const room = Math.max(0, MAX_HELD_EXTRAS - this.held.size);
    if (fresh.length === 0 || room === 0) return;
    const kept = fresh.slice(0, room);
    // Claimed before the store is asked, so a page reaching them meanwhile waits for this write.
    const written = (async () => {
      const known = await extras.known(kept.map((m) => m.id));
      const landed: Array<Promise<void>> = [];
      for (const message of kept) {
        if (known.has(message.id)) continue;
        const mail = toMailMessage(message);
        let stored!: () => void;
        landed.push(new Promise<void>((r) => (stored = r)));
        this.writes.add(mail, { settle: async () => stored() });
        this.lanes.noteBody(bodyCharsOf(mail));
        this.messages++;
      }
      this.writes.cutIfFull();
      // A failed write settles nothing: the halt ends the wait instead.
      await this.halt.unlessHalted(Promise.all(landed));
    })();
    for (const m of kept) this.held.set(m.id, written);
    this.aside(written);
  };

  /** `item`'s owner, told once its message is written; only then is the id free of the lanes. */
  private untilWritten(item: FetchItem): Settling {
    return {
      settle: async (n) => {
        this.inFlight.delete(item.id);
        await item.owner?.settle(n);
      },
    };
  }

  /** What became of one id: buffered for the next write, or settled at once (hidden, gone). */
  private readonly keep: Keep = (item, message) => {
    if (message) this.messages++;
    // Until it is written, a thread answering meanwhile must not write it again.
    const owner = this.settings.extras ? this.untilWritten(item) : item.owner;
    if (message && !isHidden(message.labelIds ?? [])) {
      const mail = toMailMessage(message);
      this.writes.add(mail, owner);
      this.lanes.noteBody(bodyCharsOf(mail));
    } else this.writes.skip(owner);
    this.progress.tally.processed++;
    this.writes.cutIfFull();
  };
}
