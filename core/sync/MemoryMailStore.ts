import type {
  ListedPage,
  ListingState,
  MailCoverage,
  MailLabel,
  MailMessage,
  MailStore,
  SyncListing,
  SyncScope,
} from "./MailStore";

/**
 * What one mailbox holds. Several stores may share one, as several connections share the rows of
 * one user in PostgreSQL: a store made later for the same mailbox sees what earlier ones wrote.
 */
export interface MemoryMailbox {
  messages: Map<string, MailMessage>;
  cursor: string | null;
  /** What the mirror covers (gmail_accounts.sync_scope); null or absent = the whole mailbox. */
  scope?: SyncScope | null;
  labels?: MailLabel[];
  /** Full syncs' listings by key, as the PostgreSQL store keeps them in sync_listing_*. */
  listings?: Map<string, MemoryListingData>;
}

export interface MemoryListingData {
  start: { historyId: string; estimate: number };
  pages: ListedPage[];
}

export function emptyMailbox(): MemoryMailbox {
  return { messages: new Map(), cursor: null, scope: null, labels: [], listings: new Map() };
}

/**
 * A `MailStore` in memory, for unit tests of the sync core and anything else that needs a store
 * without PostgreSQL. It passes the same conformance suite as the PostgreSQL store
 * (MailStore.conformance.ts), including its edges: an update counts as updated even when nothing
 * changed, NUL characters are dropped from text, and a batch naming one id twice is refused whole.
 */
export class MemoryMailStore implements MailStore {
  constructor(readonly mailbox: MemoryMailbox = emptyMailbox()) {}

  async getCursor(): Promise<string | null> {
    return this.mailbox.cursor;
  }

  async saveCursor(historyId: string): Promise<void> {
    this.mailbox.cursor = historyId;
  }

  async listIds(): Promise<string[]> {
    return [...this.mailbox.messages.keys()];
  }

  async knownIds(ids: string[]): Promise<Set<string>> {
    return new Set(ids.filter((id) => this.mailbox.messages.get(id)?.body !== undefined));
  }

  async coverage(): Promise<MailCoverage> {
    const scope = this.mailbox.scope ?? null;
    let bodiesMissing = false;
    for (const m of this.mailbox.messages.values()) {
      if (m.body === undefined) {
        bodiesMissing = true;
        break;
      }
    }
    return { scope: scope && structuredClone(scope), cursor: this.mailbox.cursor, bodiesMissing };
  }

  async saveFullListing(scope: SyncScope | null, historyId: string): Promise<void> {
    this.mailbox.scope = scope && structuredClone(scope);
    this.mailbox.cursor = historyId;
  }

  async saveLabels(labels: MailLabel[]): Promise<void> {
    const byId = new Map(labels.map((l) => [l.id, { ...structuredClone(l), color: l.color ?? null }]));
    this.mailbox.labels = [...byId.values()];
  }

  /** The labels the last sync saved. */
  storedLabels(): MailLabel[] {
    return structuredClone(this.mailbox.labels ?? []);
  }

  async upsert(messages: MailMessage[]): Promise<{ added: number; updated: number }> {
    // PostgreSQL refuses a statement that would write one row twice (ON CONFLICT DO UPDATE),
    // and then writes nothing: so does this store.
    const ids = new Set(messages.map((m) => m.gmailId));
    if (ids.size !== messages.length) {
      throw new Error("upsert: a batch names one Gmail id twice; nothing was written");
    }
    let added = 0;
    for (const m of messages) {
      if (!this.mailbox.messages.has(m.gmailId)) added++;
      this.mailbox.messages.set(m.gmailId, stored(m));
    }
    return { added, updated: messages.length - added };
  }

  async remove(ids: string[]): Promise<number> {
    let removed = 0;
    for (const id of new Set(ids)) if (this.mailbox.messages.delete(id)) removed++;
    return removed;
  }

  async setLabels(changes: Array<{ gmailId: string; labels: string[] }>): Promise<number> {
    const changed = new Set<string>();
    for (const { gmailId, labels } of changes) {
      const message = this.mailbox.messages.get(gmailId);
      if (!message) continue;
      this.mailbox.messages.set(gmailId, { ...message, labels: [...labels] });
      changed.add(gmailId);
    }
    return changed.size;
  }

  listing(key: string): SyncListing {
    this.mailbox.listings ??= new Map();
    return new MemoryListing(this.mailbox, this.mailbox.listings, key);
  }

  /** One stored message as it would be read back, or null. */
  read(gmailId: string): MailMessage | null {
    const message = this.mailbox.messages.get(gmailId);
    return message ? copy(message) : null;
  }
}

/** Sweeps this many messages per step, as the PostgreSQL store does. */
const SWEEP_BATCH = 1_000;

class MemoryListing implements SyncListing {
  constructor(
    private readonly mailbox: MemoryMailbox,
    private readonly listings: Map<string, MemoryListingData>,
    private readonly key: string,
  ) {}

  async state(): Promise<ListingState | null> {
    const data = this.listings.get(this.key);
    if (!data || data.pages.length === 0) return null;
    const listed = new Set<string>();
    const fetched = new Set<string>();
    for (const p of data.pages) {
      for (const id of p.ids) {
        if (p.done && !listed.has(id)) fetched.add(id);
        listed.add(id);
      }
    }
    return { ...data.start, pages: data.pages.length, listed: listed.size, fetched: fetched.size };
  }

  async page(index: number): Promise<ListedPage | null> {
    const page = this.listings.get(this.key)?.pages[index];
    return page ? { ...page, ids: [...page.ids] } : null;
  }

  async addPage(
    page: Omit<ListedPage, "done">,
    start: { historyId: string; estimate: number },
  ): Promise<void> {
    let data = this.listings.get(this.key);
    if (!data) {
      data = { start: { ...start }, pages: [] };
      this.listings.set(this.key, data);
    }
    if (data.pages[page.index]) return;
    if (page.index !== data.pages.length)
      throw new Error(`addPage: page ${page.index} after ${data.pages.length}`);
    data.pages.push({ ...page, ids: [...page.ids], done: false });
  }

  async markDone(index: number): Promise<void> {
    const page = this.listings.get(this.key)?.pages[index];
    if (page) page.done = true;
  }

  async sweep(within?: SyncScope): Promise<number> {
    const data = this.listings.get(this.key);
    const listed = new Set(data?.pages.flatMap((p) => p.ids) ?? []);
    const labels = within?.labelIds ?? [];
    let floor = Number.NEGATIVE_INFINITY;
    if (within?.newerThanDays !== undefined) {
      // Gmail's window starts at or before the oldest message it listed; nothing listed, no floor known.
      floor = Number.POSITIVE_INFINITY;
      for (const id of listed) {
        const m = this.mailbox.messages.get(id);
        if (m) floor = Math.min(floor, m.date.getTime());
      }
    }
    const inside = (m: MailMessage) => m.date.getTime() >= floor && labels.every((l) => m.labels.includes(l));
    let removed = 0;
    for (;;) {
      const batch: string[] = [];
      for (const [id, m] of this.mailbox.messages) {
        if (!listed.has(id) && inside(m)) batch.push(id);
        if (batch.length === SWEEP_BATCH) break;
      }
      for (const id of batch) this.mailbox.messages.delete(id);
      removed += batch.length;
      if (batch.length < SWEEP_BATCH) return removed;
    }
  }

  async clear(): Promise<void> {
    this.listings.delete(this.key);
  }
}

/** A copy the caller cannot change afterwards, with text as PostgreSQL would keep it. */
function stored(m: MailMessage): MailMessage {
  return {
    ...copy(m),
    from: stripNul(m.from),
    to: stripNul(m.to),
    subject: stripNul(m.subject),
    snippet: stripNul(m.snippet),
    headers: Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, stripNul(v)])),
    ...(m.body
      ? {
          body: {
            text: m.body.text === null ? null : stripNul(m.body.text),
            html: m.body.html === null ? null : stripNul(m.body.html),
            attachments: m.body.attachments.map((a) => ({ ...a, filename: stripNul(a.filename) })),
          },
        }
      : {}),
  };
}

function copy(m: MailMessage): MailMessage {
  const { body, ...rest } = m;
  return {
    ...rest,
    date: new Date(m.date.getTime()),
    labels: [...m.labels],
    headers: { ...m.headers },
    ...(body ? { body: structuredClone(body) } : {}),
  };
}

function stripNul(value: string): string {
  return value.replaceAll("\u0000", "");
}
