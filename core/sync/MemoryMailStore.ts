import type { MailMessage, MailStore } from "./MailStore";

/**
 * What one mailbox holds. Several stores may share one, as several connections share the rows of
 * one user in PostgreSQL: a store made later for the same mailbox sees what earlier ones wrote.
 */
export interface MemoryMailbox {
  messages: Map<string, MailMessage>;
  cursor: string | null;
}

export function emptyMailbox(): MemoryMailbox {
  return { messages: new Map(), cursor: null };
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
    return new Set(ids.filter((id) => this.mailbox.messages.has(id)));
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

  /** One stored message as it would be read back, or null. */
  read(gmailId: string): MailMessage | null {
    const message = this.mailbox.messages.get(gmailId);
    return message ? copy(message) : null;
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
  };
}

function copy(m: MailMessage): MailMessage {
  return { ...m, date: new Date(m.date.getTime()), labels: [...m.labels], headers: { ...m.headers } };
}

function stripNul(value: string): string {
  return value.replaceAll("\u0000", "");
}
