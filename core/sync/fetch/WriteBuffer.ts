import type { MailMessage, MailStore } from "../MailStore";
import type { Settling } from "./FetchItem";

/**
 * Body characters buffered before a batch is written early (2-4 MB of strings). With one batch
 * buffering and one being written, ten syncs in a worker hold at most about 80 MB of bodies, which
 * the worker's heap cap (README, Big mailboxes) leaves room for.
 */
export const BATCH_BODY_CHARS = 2_000_000;

/** Characters of a message's bodies, what its memory is counted by. */
export const bodyCharsOf = (mail: MailMessage) =>
  (mail.body?.text?.length ?? 0) + (mail.body?.html?.length ?? 0);

/**
 * Fetched messages on their way to the store, written in batches of `batchSize` messages or
 * BATCH_BODY_CHARS of bodies, whichever comes first: bodies vary from nothing to megabytes, so
 * memory stays bounded by the cut whatever the mail. Each message's owner (its listing page) is
 * settled only after its batch and every batch before it are written, so a page is marked done
 * only once all its messages are stored.
 */
export class WriteBuffer {
  /** Messages the store counted as new, and as changed, over every write so far. */
  added = 0;
  updated = 0;
  /** Batches cut because they were full (not by `flush` alone). */
  cuts = 0;
  private buffer: MailMessage[] = [];
  private owners: Settling[] = [];
  private bufferedChars = 0;
  private writing: Promise<void> = Promise.resolve();
  // One upsert at a time: a second beside it holds one more batch of bodies per sync, and the
  // database shares its cores with the fetch, which has no cycles to spare for it.
  private upserting: Promise<unknown> = Promise.resolve();

  /** `onFailure` hears of a failed write (or a failed settle) once per write. */
  constructor(
    private readonly store: Pick<MailStore, "upsert">,
    private readonly batchSize: number,
    private readonly onFailure: (err: unknown) => void,
  ) {}

  /** Buffers `mail` for the next write; `owner` is settled once it is written. */
  add(mail: MailMessage, owner?: Settling): void {
    this.buffer.push(mail);
    if (owner) this.owners.push(owner);
    this.bufferedChars += bodyCharsOf(mail);
  }

  /** An id that needs no write (hidden, or gone from Gmail) settles after what is queued. */
  skip(owner: Settling | undefined): void {
    if (!owner) return;
    this.writing = this.writing.then(() => owner.settle(1));
    this.writing.catch(this.onFailure);
  }

  /** Starts writing the buffer if it is full; answers whether it did. */
  cutIfFull(): boolean {
    if (this.buffer.length < this.batchSize && this.bufferedChars < BATCH_BODY_CHARS) return false;
    this.cuts++;
    void this.flush();
    return true;
  }

  /** Writes what is buffered; resolves once it and every write before it are done. */
  flush(): Promise<void> {
    if (this.buffer.length === 0) return this.writing;
    const batch = this.buffer;
    const settled = this.owners;
    this.buffer = [];
    this.owners = [];
    this.bufferedChars = 0;
    const upsert = this.upserting.then(() => this.store.upsert(batch));
    this.upserting = upsert.catch(() => {});
    const before = this.writing;
    this.writing = (async () => {
      const r = await upsert;
      await before;
      this.added += r.added;
      this.updated += r.updated;
      // In order of writing: a page is marked done only after its last message is stored, and
      // every message written before it.
      for (const owner of settled) await owner.settle(1);
    })();
    this.writing.catch(this.onFailure);
    return this.writing;
  }
}
