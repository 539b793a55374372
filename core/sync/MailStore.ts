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
  /** Which of `ids` are stored. */
  knownIds(ids: string[]): Promise<Set<string>>;
  /** Inserts or refreshes messages; says how many were new and how many changed. */
  upsert(messages: MailMessage[]): Promise<{ added: number; updated: number }>;
  /** Removes messages; answers how many were stored. */
  remove(ids: string[]): Promise<number>;
  /** Replaces the labels of stored messages; answers how many were stored. */
  setLabels(changes: Array<{ gmailId: string; labels: string[] }>): Promise<number>;
}
