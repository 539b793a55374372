/**
 * One account's mailbox: compact message records ordered by arrival, labels, the history log and
 * the history-id counter. Message content is not stored; it is generated from the seed on demand.
 */
import { isSystemLabel, type LabelDefinition, LabelSetInterner, SYSTEM_LABELS, userLabel } from "./labels";
import { bodies, headerValue, parseMime } from "./mime";
import {
  type Address,
  type Category,
  categoryOf,
  createSeedContext,
  DEFAULT_BASE_TIME,
  generateContent,
  idSuffix,
  type MessageContent,
  mimeFeatures,
  mixedThreadRoots,
  SEEDED_USER_LABELS,
  type SeedContext,
  seededInternalDate,
  seededIsReply,
  seededLabels,
  summarize,
} from "./seed";

export interface MessageRecord {
  readonly id: string;
  readonly threadId: string;
  /** Arrival order: larger is newer. Page tokens point at a seq, so they survive inserts and deletes. */
  readonly seq: number;
  /** Which generated content this message shows. */
  readonly contentIndex: number;
  /** Content index of the thread's first message. */
  readonly rootIndex: number;
  labels: readonly string[];
  historyId: number;
  readonly internalDate: number;
  /** A message added as raw RFC 822 (control API): its bytes, instead of seeded content. */
  readonly raw?: Buffer;
}

export type HistoryType = "messageAdded" | "messageDeleted" | "labelAdded" | "labelRemoved";

export interface HistoryRecord {
  readonly id: number;
  readonly type: HistoryType;
  readonly messageId: string;
  readonly threadId: string;
  /** The message's labels after the change (at arrival for messageAdded). */
  readonly labelIds: readonly string[];
  /** The labels added or removed (label changes only). */
  readonly changed: readonly string[];
}

export interface MailboxOptions {
  seed: string;
  baseTime?: number;
  /** History ids of this mailbox start above this value (keeps ids increasing across resets). */
  historyBase?: number;
  now?: () => number;
  /**
   * How seeded messages form threads: `chained` (the default: about one in five continues the
   * thread of the message before it) or `mixed` (threads of 1 to 20 messages, most of 1 to 3,
   * their replies interleaved with other mail; seed.ts mixedThreadRoots).
   */
  threading?: Threading;
}

export type Threading = "chained" | "mixed";
export const THREADINGS: readonly Threading[] = ["chained", "mixed"];

export interface ListQuery {
  labelIds: readonly string[];
  includeSpamTrash: boolean;
  /** Extra predicate (the parsed `q`), and a key that identifies it for count caching. */
  match?: (record: MessageRecord, mailbox: Mailbox) => boolean;
  matchKey?: string;
  /** Only messages with seq below this (the page token). */
  beforeSeq?: number;
  maxResults: number;
}

export interface ListResult {
  messages: MessageRecord[];
  /** Set when more messages match after this page: the seq to continue below. */
  nextBeforeSeq?: number;
  resultSizeEstimate: number;
}

export interface HistoryQuery {
  startHistoryId: number;
  /** Continue after this record id (the page token). */
  afterId?: number;
  maxResults: number;
  types?: ReadonlySet<HistoryType>;
  labelId?: string;
}

export type HistoryResult =
  | { tooOld: true }
  | { tooOld: false; records: HistoryRecord[]; nextAfterId?: number; historyId: number };

export const DEFAULT_HISTORY_BASE = 100_000;

export class Mailbox {
  readonly email: string;
  readonly seedContext: SeedContext;
  /** Message records ordered by seq (oldest first). */
  private readonly records: MessageRecord[] = [];
  private readonly byId = new Map<string, MessageRecord>();
  /** Each thread's messages in arrival order. */
  private readonly threads = new Map<string, MessageRecord[]>();
  private readonly history: HistoryRecord[] = [];
  private readonly labelDefs = new Map<string, LabelDefinition>();
  private readonly interner = new LabelSetInterner();
  private readonly countCache = new Map<string, { version: number; count: number }>();
  private readonly now: () => number;
  private counter: number;
  private floor: number;
  private nextSeq = 1;
  private nextContentIndex: number;
  private nextUserLabel = SEEDED_USER_LABELS.length + 1;
  /** Bumped on every change; invalidates cached counts. */
  version = 0;

  constructor(email: string, count: number, options: MailboxOptions) {
    this.email = email;
    this.now = options.now ?? Date.now;
    this.seedContext = createSeedContext(options.seed, email, options.baseTime ?? DEFAULT_BASE_TIME, count);
    for (const label of SYSTEM_LABELS) this.labelDefs.set(label.id, label);
    for (const label of SEEDED_USER_LABELS)
      this.labelDefs.set(label.id, userLabel(label.id, label.name, label.color));
    const base = options.historyBase ?? DEFAULT_HISTORY_BASE;
    this.floor = base;
    this.counter = base;
    this.nextContentIndex = count;
    this.seed(count, options.threading ?? "chained");
  }

  /** Seeded messages: index count-1 is the oldest (seq 1), index 0 the newest. */
  private seed(count: number, threading: Threading): void {
    const ctx = this.seedContext;
    const mixed = threading === "mixed" ? mixedThreadRoots(ctx, count) : null;
    /** A thread's id is its first message's (Gmail's own habit); by the first message's index. */
    const threadIds = new Map<number, string>();
    let rootIndex = count - 1;
    let rootId = "";
    for (let index = count - 1; index >= 0; index--) {
      const seq = this.nextSeq++;
      const internalDate = seededInternalDate(ctx, index);
      const id = this.makeId(internalDate, seq);
      if (mixed) {
        rootIndex = mixed[index]!;
        if (rootIndex === index) threadIds.set(index, id);
        rootId = threadIds.get(rootIndex)!;
      } else if (index === count - 1 || !seededIsReply(ctx, index)) {
        rootIndex = index;
        rootId = id;
      }
      this.counter++;
      this.insert({
        id,
        threadId: rootId,
        seq,
        contentIndex: index,
        rootIndex,
        labels: this.interner.intern(seededLabels(ctx, index)),
        historyId: this.counter,
        internalDate,
      });
    }
  }

  private makeId(internalDate: number, seq: number): string {
    let id = internalDate.toString(16).padStart(11, "0") + idSuffix(this.seedContext, seq);
    while (this.byId.has(id)) id = (BigInt(`0x${id}`) + 1n).toString(16);
    return id;
  }

  private insert(record: MessageRecord): void {
    this.records.push(record);
    this.byId.set(record.id, record);
    const thread = this.threads.get(record.threadId);
    if (thread) thread.push(record);
    else this.threads.set(record.threadId, [record]);
  }

  // -------------------------------------------------------------------------------------------
  // Reading.

  get historyId(): number {
    return this.counter;
  }

  /** History ids below this answer 404 (too old). */
  get historyFloor(): number {
    return this.floor;
  }

  get messagesTotal(): number {
    return this.records.length;
  }

  get threadsTotal(): number {
    return this.threads.size;
  }

  /** A thread's messages, oldest first (none for an unknown thread). */
  threadMessages(threadId: string): readonly MessageRecord[] {
    return this.threads.get(threadId) ?? [];
  }

  find(id: string): MessageRecord | undefined {
    return this.byId.get(id);
  }

  content(record: MessageRecord): MessageContent {
    if (record.raw) return contentOfRaw(record.raw);
    return generateContent(this.seedContext, {
      index: record.contentIndex,
      rootIndex: record.rootIndex,
      internalDate: record.internalDate,
    });
  }

  /** The body variants of a seeded message (see mimeFeatures); none for one added as raw RFC 822. */
  features(record: MessageRecord): readonly string[] {
    return record.raw ? [] : mimeFeatures(this.seedContext, record.contentIndex);
  }

  /** What search looks at: subject, sender and snippet. */
  summary(record: MessageRecord): { subject: string; from: Address; snippet: string } {
    if (record.raw) {
      const { subject, from, snippet } = contentOfRaw(record.raw);
      return { subject, from, snippet };
    }
    return summarize(this.seedContext, {
      index: record.contentIndex,
      rootIndex: record.rootIndex,
      internalDate: record.internalDate,
    });
  }

  /** All messages, newest first (for the control API). */
  newestFirst(limit = Number.POSITIVE_INFINITY): MessageRecord[] {
    const out: MessageRecord[] = [];
    for (let i = this.records.length - 1; i >= 0 && out.length < limit; i--) out.push(this.records[i]!);
    return out;
  }

  /** Index of the last record whose seq is below `seq` (-1 when none). */
  private indexBelow(seq: number): number {
    let lo = 0;
    let hi = this.records.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.records[mid]!.seq < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  private predicate(query: ListQuery): (record: MessageRecord) => boolean {
    const { labelIds, includeSpamTrash, match } = query;
    const hidesSpamTrash = !includeSpamTrash && !labelIds.includes("SPAM") && !labelIds.includes("TRASH");
    return (record) => {
      const labels = record.labels;
      if (hidesSpamTrash && (labels.includes("SPAM") || labels.includes("TRASH"))) return false;
      for (const label of labelIds) if (!labels.includes(label)) return false;
      return match ? match(record, this) : true;
    };
  }

  list(query: ListQuery): ListResult {
    const accepts = this.predicate(query);
    const messages: MessageRecord[] = [];
    let i = query.beforeSeq === undefined ? this.records.length - 1 : this.indexBelow(query.beforeSeq);
    for (; i >= 0 && messages.length < query.maxResults; i--) {
      const record = this.records[i]!;
      if (accepts(record)) messages.push(record);
    }
    let more = false;
    for (; i >= 0; i--) {
      if (accepts(this.records[i]!)) {
        more = true;
        break;
      }
    }
    const result: ListResult = {
      messages,
      resultSizeEstimate: messages.length === 0 ? 0 : this.count(query, accepts),
    };
    if (more) result.nextBeforeSeq = messages[messages.length - 1]!.seq;
    return result;
  }

  private count(query: ListQuery, accepts: (record: MessageRecord) => boolean): number {
    const key = `${query.includeSpamTrash ? 1 : 0}|${query.labelIds.join(",")}|${query.matchKey ?? ""}`;
    const cached = this.countCache.get(key);
    if (cached && cached.version === this.version) return cached.count;
    let count = 0;
    for (const record of this.records) if (accepts(record)) count++;
    if (this.countCache.size > 200) this.countCache.clear();
    this.countCache.set(key, { version: this.version, count });
    return count;
  }

  listHistory(query: HistoryQuery): HistoryResult {
    if (query.startHistoryId < this.floor) return { tooOld: true };
    const after = Math.max(query.startHistoryId, query.afterId ?? 0);
    // First record with id > after.
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.history[mid]!.id <= after) lo = mid + 1;
      else hi = mid;
    }
    const accepts = (record: HistoryRecord): boolean =>
      (!query.types || query.types.has(record.type)) &&
      (!query.labelId || record.labelIds.includes(query.labelId) || record.changed.includes(query.labelId));
    const records: HistoryRecord[] = [];
    let i = lo;
    for (; i < this.history.length && records.length < query.maxResults; i++) {
      const record = this.history[i]!;
      if (accepts(record)) records.push(record);
    }
    let more = false;
    for (; i < this.history.length; i++) {
      if (accepts(this.history[i]!)) {
        more = true;
        break;
      }
    }
    const result: HistoryResult = { tooOld: false, records, historyId: this.counter };
    if (more) result.nextAfterId = records[records.length - 1]!.id;
    return result;
  }

  labels(): LabelDefinition[] {
    return [...this.labelDefs.values()];
  }

  label(id: string): LabelDefinition | undefined {
    return this.labelDefs.get(id);
  }

  labelCounts(id: string): {
    messagesTotal: number;
    messagesUnread: number;
    threadsTotal: number;
    threadsUnread: number;
  } {
    let messagesTotal = 0;
    let messagesUnread = 0;
    const threads = new Set<string>();
    const unreadThreads = new Set<string>();
    for (const record of this.records) {
      if (!record.labels.includes(id)) continue;
      messagesTotal++;
      threads.add(record.threadId);
      if (record.labels.includes("UNREAD")) {
        messagesUnread++;
        unreadThreads.add(record.threadId);
      }
    }
    return { messagesTotal, messagesUnread, threadsTotal: threads.size, threadsUnread: unreadThreads.size };
  }

  // -------------------------------------------------------------------------------------------
  // Changes. Each one takes the next history id and appends a history record.

  private record(type: HistoryType, message: MessageRecord, changed: readonly string[] = []): void {
    this.counter++;
    this.version++;
    message.historyId = this.counter;
    this.history.push({
      id: this.counter,
      type,
      messageId: message.id,
      threadId: message.threadId,
      labelIds: message.labels,
      changed,
    });
  }

  /** Makes sure a label id exists; an unknown non-system id becomes a user label of that name. */
  private ensureLabel(id: string): void {
    if (this.labelDefs.has(id)) return;
    if (isSystemLabel(id)) return;
    this.labelDefs.set(id, userLabel(id, id));
  }

  /** Creates a user label and answers its definition (Gmail-style id `Label_N`). */
  createUserLabel(name: string): LabelDefinition {
    for (const def of this.labelDefs.values()) if (def.name === name) return def;
    const def = userLabel(`Label_${this.nextUserLabel++}`, name);
    this.labelDefs.set(def.id, def);
    return def;
  }

  /**
   * The internalDates of `count` arriving messages, oldest first: one second apart and ending at
   * Gmail's clock, after the newest message already here as far as the clock allows. Where there
   * is no room for a second each, several share the clock's second, as real bursts of mail do:
   * a message is never dated in the future. Whole seconds, so the Date header (second
   * resolution) names the same instant.
   */
  private arrivalDates(count: number): number[] {
    const now = Math.floor(this.now() / 1000) * 1000;
    const newest = this.records[this.records.length - 1]?.internalDate ?? Number.NEGATIVE_INFINITY;
    const first = Math.min(now, Math.max(now - (count - 1) * 1000, newest + 1000));
    return Array.from({ length: count }, (_, k) => Math.min(now, first + k * 1000));
  }

  /** `count` new messages arrive; answers them newest first. */
  addMessages(count: number, labelIds?: readonly string[]): MessageRecord[] {
    const added: MessageRecord[] = [];
    const dates = this.arrivalDates(count);
    for (let k = 0; k < count; k++) {
      const contentIndex = this.nextContentIndex++;
      const seq = this.nextSeq++;
      const internalDate = dates[k]!;
      const id = this.makeId(internalDate, seq);
      const category: Category = categoryOf(this.seedContext, contentIndex);
      if (labelIds) for (const label of labelIds) this.ensureLabel(label);
      const labels = labelIds ? [...new Set(labelIds)] : ["UNREAD", "INBOX", category];
      const record: MessageRecord = {
        id,
        threadId: id,
        seq,
        contentIndex,
        rootIndex: contentIndex,
        labels: this.interner.intern(labels),
        historyId: 0,
        internalDate,
      };
      this.insert(record);
      this.record("messageAdded", record);
      added.push(record);
    }
    return added.reverse();
  }

  /** One message arrives with the given RFC 822 bytes (default labels UNREAD, INBOX, CATEGORY_PERSONAL). */
  addRawMessage(raw: Buffer, labelIds?: readonly string[]): MessageRecord {
    const internalDate = this.arrivalDates(1)[0]!;
    const seq = this.nextSeq++;
    const id = this.makeId(internalDate, seq);
    if (labelIds) for (const label of labelIds) this.ensureLabel(label);
    const labels = labelIds ? [...new Set(labelIds)] : ["UNREAD", "INBOX", "CATEGORY_PERSONAL"];
    const record: MessageRecord = {
      id,
      threadId: id,
      seq,
      contentIndex: this.nextContentIndex++,
      rootIndex: -1,
      labels: this.interner.intern(labels),
      historyId: 0,
      internalDate,
      raw,
    };
    this.insert(record);
    this.record("messageAdded", record);
    return record;
  }

  deleteMessage(id: string): MessageRecord | undefined {
    const record = this.byId.get(id);
    if (!record) return undefined;
    const at = this.indexBelow(record.seq + 1);
    this.records.splice(at, 1);
    this.byId.delete(id);
    const rest = (this.threads.get(record.threadId) ?? []).filter((m) => m !== record);
    if (rest.length === 0) this.threads.delete(record.threadId);
    else this.threads.set(record.threadId, rest);
    this.record("messageDeleted", record);
    return record;
  }

  /** Adds then removes labels; one history record per kind of change that actually happened. */
  modifyLabels(id: string, add: readonly string[], remove: readonly string[]): MessageRecord | undefined {
    const record = this.byId.get(id);
    if (!record) return undefined;
    const added = [...new Set(add)].filter(
      (label) => !record.labels.includes(label) && !remove.includes(label),
    );
    if (added.length > 0) {
      for (const label of added) this.ensureLabel(label);
      record.labels = this.interner.intern([...record.labels, ...added]);
      this.record("labelAdded", record, added);
    }
    const removed = [...new Set(remove)].filter((label) => record.labels.includes(label));
    if (removed.length > 0) {
      record.labels = this.interner.intern(record.labels.filter((label) => !removed.includes(label)));
      this.record("labelRemoved", record, removed);
    }
    return record;
  }

  /** Forgets all history: every startHistoryId below the current one now answers 404. */
  expireHistory(): void {
    this.history.length = 0;
    this.floor = this.counter;
    this.version++;
  }
}

/** Content of a message added as raw RFC 822, read the way Gmail reads it. */
function contentOfRaw(raw: Buffer): MessageContent {
  const root = parseMime(raw);
  const { text, html } = bodies(root);
  const subject = headerValue(root.headers, "Subject") ?? "";
  const fromValue = headerValue(root.headers, "From") ?? "";
  const angle = /^\s*"?([^"<]*?)"?\s*<([^>]+)>/.exec(fromValue);
  const from: Address = angle
    ? { name: angle[1]!.trim(), address: angle[2]!.trim().toLowerCase() }
    : { name: "", address: fromValue.trim().toLowerCase() };
  const plain = text || html.replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, "").replace(/<[^>]+>/g, " ");
  const snippet = plain.replace(/\s+/g, " ").trim().slice(0, 160).trimEnd();
  return {
    headers: root.headers,
    subject,
    from,
    snippet,
    text,
    html,
    boundary: root.kind === "multipart" ? root.boundary : "",
    raw: raw.toString("latin1"),
    root,
    features: [],
  };
}
