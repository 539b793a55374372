/** One attachment as Gmail lists it in the message's parts; its data is fetched on demand. */
export interface MailAttachment {
  attachmentId: string;
  filename: string;
  mimeType: string;
  /** Bytes, as Gmail counts them (after the transfer encoding is undone). */
  size: number;
  /**
   * The part's Content-ID without its angle brackets, when it has one: an inline image, which the
   * HTML names as `cid:<contentId>` (RFC 2392).
   */
  contentId?: string;
}

/** A message's bodies, decoded to strings, and its attachment listing (core/sync/messageBody.ts). */
export interface MessageBody {
  /** The text/plain parts, or null when the message has none. */
  text: string | null;
  /** The text/html parts as sent (unsanitised), or null when the message has none. */
  html: string | null;
  attachments: MailAttachment[];
}

/** A Gmail label as `labels.list` answers it. */
export interface MailLabel {
  id: string;
  name: string;
  type: "system" | "user";
  /** Gmail's colour, on user labels that have one. */
  color?: { textColor: string; backgroundColor: string } | null;
}

/**
 * Which part of the mailbox a sync mirrors: messages newer than `newerThanDays` days (Gmail's
 * `newer_than:Nd`, by Gmail's clock) carrying every one of `labelIds` (Gmail's `labelIds` are
 * ANDed). An empty scope is the whole mailbox.
 */
export interface SyncScope {
  newerThanDays?: number;
  labelIds?: string[];
}

/** One message as the sync core hands it to a store. */
export interface MailMessage {
  gmailId: string;
  threadId: string;
  from: string;
  to: string;
  subject: string;
  snippet: string;
  date: Date;
  labels: string[];
  sizeEstimate: number;
  historyId: string | null;
  headers: Record<string, string>;
  /**
   * The bodies and attachment listing (a `format=full` fetch). Without it the message is stored
   * as metadata only and counts as missing for `knownIds`, so a later full sync fetches it again.
   */
  body?: MessageBody;
}

/** What `MailStore.coverage` answers. */
export interface MailCoverage {
  scope: SyncScope | null;
  cursor: string | null;
  bodiesMissing: boolean;
}

/**
 * Where a sync writes. Every write is idempotent (keyed by Gmail id), so a sync that crashes and
 * runs again, or two syncs that overlap, never store a message twice.
 */
export interface MailStore {
  /** Gmail's historyId after the last completed sync, or null before the first. */
  getCursor(): Promise<string | null>;
  /** Records a completed sync: the next incremental sync starts from `historyId`. */
  saveCursor(historyId: string): Promise<void>;
  /** Every stored Gmail id of this mailbox. */
  listIds(): Promise<string[]>;
  /**
   * Which of `ids` are stored with their body. A message stored as metadata only (before
   * migration 0008, or without `body`) is not named, so a full sync fetches it again.
   */
  knownIds(ids: string[]): Promise<Set<string>>;
  /**
   * What the mirror covers, read together at the start of a sync: the scope of the last full
   * listing (null = the whole mailbox, also before the first sync), the history id it is current
   * to (`getCursor`), and whether any stored message still lacks its body.
   */
  coverage(): Promise<MailCoverage>;
  /**
   * Records a completed full listing in one write: the part of the mailbox it covered (null = the
   * whole mailbox) and the history id the next incremental sync starts from. One write, so no
   * stop between the two can leave a cursor that claims more than was listed.
   */
  saveFullListing(scope: SyncScope | null, historyId: string): Promise<void>;
  /** Replaces the mailbox's labels with Gmail's list: new ones added, changed ones updated, gone ones removed. */
  saveLabels(labels: MailLabel[]): Promise<void>;
  /** Inserts or refreshes messages; says how many were new and how many changed. */
  upsert(messages: MailMessage[]): Promise<{ added: number; updated: number }>;
  /** Removes messages; answers how many were stored. */
  remove(ids: string[]): Promise<number>;
  /** Replaces the labels of stored messages; answers how many were stored. */
  setLabels(changes: Array<{ gmailId: string; labels: string[] }>): Promise<number>;
  /**
   * The durable listing of one full sync, named by `key` (the task id): where a resumed run
   * finds the pages already walked and fetched, so it neither lists nor fetches them again.
   */
  listing(key: string): SyncListing;
}

/** One `messages.list` page as a full sync walked it. */
export interface ListedPage {
  /** 0 for the first page. */
  index: number;
  ids: string[];
  /**
   * Each id's thread, in the same order, as `messages.list` named it: held in memory by the run
   * that listed the page (the fetch plan groups by thread), not stored. A page read back from an
   * earlier run has none, and its messages are fetched one by one.
   */
  threadIds?: string[];
  /** Gmail's token for the page after this one; null on the last page. */
  nextPageToken: string | null;
  /** Every id of the page is stored (or was gone from Gmail when fetched). */
  done: boolean;
}

/** Where a full sync has got to, read at the start of a run. */
export interface ListingState {
  /** The profile's historyId when the listing began: the cursor the sync saves at its end. */
  historyId: string;
  /** The profile's messagesTotal when the listing began. */
  estimate: number;
  /** How many pages were walked. */
  pages: number;
  /** How many distinct ids were listed, and how many of them are on pages already done. */
  listed: number;
  fetched: number;
}

/**
 * A full sync's listing, kept outside the process so that memory does not grow with the mailbox
 * and a resumed run continues where the last one stopped. A store holds one page at a time in
 * memory at most; every write is idempotent.
 */
export interface SyncListing {
  /** Null before the first page was recorded. */
  state(): Promise<ListingState | null>;
  /** A recorded page, or null. */
  page(index: number): Promise<ListedPage | null>;
  /** Records a page (again: no change). `start` is written with the first page. */
  addPage(page: Omit<ListedPage, "done">, start: { historyId: string; estimate: number }): Promise<void>;
  markDone(index: number): Promise<void>;
  /**
   * Removes the stored messages this listing does not name (Gmail no longer lists them), a
   * bounded batch at a time; answers how many were removed.
   *
   * With a `within` scope (the listing was of part of the mailbox) only stored messages inside
   * that part are candidates: those carrying every one of `labelIds`, and, for `newerThanDays`,
   * those dated at or after the oldest message the listing names (Gmail's window starts at or
   * before it, by Gmail's clock, which the store does not know). A listing that names no stored
   * message then removes nothing. Mail outside the scope is never removed.
   */
  sweep(within?: SyncScope): Promise<number>;
  /** Forgets the listing (the task finished). */
  clear(): Promise<void>;
}
