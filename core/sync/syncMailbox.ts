import { randomUUID } from "node:crypto";
import type { gmail_v1 } from "@googleapis/gmail";
import { ReauthRequiredError } from "../errors";
import type { SyncPhase, SyncResult } from "../events";
import { classifyGmailError, gmailCall, type RetryOptions } from "./gmailCall";
import type { ListedPage, MailLabel, MailMessage, MailStore, SyncListing, SyncScope } from "./MailStore";
import {
  type FetchOutcome,
  type MessageFetcher,
  type MessageFetcherFactory,
  singleGets,
} from "./MessageFetcher";
import { messageBody } from "./messageBody";
import { type GmailMethod, type QuotaGate, UNLIMITED } from "./QuotaGate";

export interface SyncProgressUpdate {
  phase: SyncPhase;
  processed: number;
  total: number;
}

/**
 * Receives every progress step. It may be slow (a database write, a socket emit): the sync
 * awaits it, so a sink that wants fewer writes throttles itself.
 */
export type ProgressSink = (update: SyncProgressUpdate) => void | Promise<void>;

/** The sync is about to wait: for Gmail's quota, or before retrying a failed call. */
export interface SyncWait {
  reason: "quota" | "retry";
  /** When the wait ends, ms since the epoch. */
  until: number;
}

/** How one sync runs. */
export interface SyncOptions {
  /**
   * `messages.get` calls in flight at once for this mailbox, at least. Default 10. More lanes are
   * opened while the measured latency says these cannot reach the user's quota (lanesFor).
   */
  concurrency?: number;
  /**
   * The most `messages.get` a second this user's quota allows: Google's 250 units/s ÷ 5 = 50 by
   * default. With the measured latency it sets how many lanes are worth opening.
   */
  userMessagesPerSecond?: number;
  /** Messages written to the store per upsert. Default 100. */
  batchSize?: number;
  /** Ids per `messages.list` page (Gmail allows up to 500). Default 500. */
  pageSize?: number;
  /** Ignore the stored historyId and list the whole mailbox (still skipping what is stored). */
  forceFull?: boolean;
  retry?: RetryOptions;
  /** Asked before every Gmail call (quota shared by all workers); default unlimited. */
  quota?: QuotaGate;
  signal?: AbortSignal;
  /**
   * Names the full sync's durable listing (the task id): a later call with the same key resumes
   * it. Without one, the listing is this call's alone.
   */
  listingKey?: string;
  /** Told before every wait, so whoever watches can say why the bar is still. */
  onWait?: (wait: SyncWait) => void;
  /**
   * What to mirror. Undefined or `{}`: the whole mailbox (the default, as before scopes).
   * `"current"`: whatever the mirror covers now (the whole mailbox on a first sync), for syncs
   * nobody chose a scope for. A scope wider than what the mirror covers runs a full listing
   * even when a history cursor exists, and fetches only what is not stored.
   */
  scope?: SyncScope | "current";
  /**
   * How whole messages are fetched, made from the sync's Gmail client: several per request (Gmail's
   * batch endpoint, core/gmail/GmailBatch.ts) or, by default, one `messages.get` each. Either way
   * each message pays its quota units (a request's all in one take) and is retried on its own,
   * and the messages in flight are the lanes'.
   */
  messages?: MessageFetcherFactory;
}

/** A scope Gmail cannot be asked for (newer_than takes a whole number of days). */
export class InvalidSyncScopeError extends Error {
  readonly code = "invalid_scope";
  constructor(message: string) {
    super(message);
    this.name = "InvalidSyncScopeError";
  }
}

/**
 * A scope in one canonical form: null for the whole mailbox, label ids sorted and distinct, no
 * empty fields. Throws InvalidSyncScopeError for a day count Gmail cannot take.
 */
export function normalizeScope(scope: SyncScope | null | undefined): SyncScope | null {
  if (!scope) return null;
  const out: SyncScope = {};
  const days = scope.newerThanDays;
  if (days !== undefined && days !== null) {
    if (!Number.isInteger(days) || days < 1) {
      throw new InvalidSyncScopeError(
        `newerThanDays must be a whole number of days, at least 1 (got ${days})`,
      );
    }
    out.newerThanDays = days;
  }
  const labels = [...new Set((scope.labelIds ?? []).filter((l) => typeof l === "string" && l !== ""))].sort();
  if (labels.length) out.labelIds = labels;
  return Object.keys(out).length ? out : null;
}

/**
 * Whether a mirror that covers `held` holds everything `asked` names (both normalised; null is
 * the whole mailbox). Days: the mirror of "newer than N days" keeps every later arrival, so it
 * covers any window of N days or fewer at any later time. Labels (ANDed): asking for more labels
 * asks for fewer messages.
 */
export function scopeCovers(held: SyncScope | null, asked: SyncScope | null): boolean {
  if (!held) return true;
  if (!asked) return false;
  if (held.newerThanDays !== undefined) {
    if (asked.newerThanDays === undefined || asked.newerThanDays > held.newerThanDays) return false;
  }
  if (held.labelIds?.length) {
    if (!held.labelIds.every((l) => asked.labelIds?.includes(l))) return false;
  }
  return true;
}

/** The `messages.list` parameters that list exactly `scope`. */
function listParams(scope: SyncScope | null): { q?: string; labelIds?: string[] } {
  return {
    ...(scope?.newerThanDays ? { q: `newer_than:${scope.newerThanDays}d` } : {}),
    ...(scope?.labelIds?.length ? { labelIds: scope.labelIds } : {}),
  };
}

const inScopeLabels = (scope: SyncScope | null, labels: readonly string[]) =>
  !scope?.labelIds?.length || scope.labelIds.every((l) => labels.includes(l));

function toMailLabel(l: gmail_v1.Schema$Label): MailLabel[] {
  if (!l.id) return [];
  const color =
    l.color?.textColor && l.color.backgroundColor
      ? { textColor: l.color.textColor, backgroundColor: l.color.backgroundColor }
      : null;
  return [{ id: l.id, name: l.name ?? l.id, type: l.type === "user" ? "user" : "system", color }];
}

/** Labels whose messages are not part of the mailbox we mirror, as in Gmail's own list. */
const HIDDEN_LABELS = ["SPAM", "TRASH"];
const METADATA_HEADERS = ["From", "To", "Subject", "Date", "Message-ID"];
/**
 * Body characters buffered before a batch is written early (2-4 MB of strings). With one batch
 * buffering and one being written, ten syncs in a worker hold at most about 80 MB of bodies, which
 * the worker's heap cap (README, Big mailboxes) leaves room for.
 */
const BATCH_BODY_CHARS = 2_000_000;

/** A page token kept from an earlier run that Gmail refused. */
class StaleListingError extends Error {
  constructor(cause: unknown) {
    super("Gmail refused a stored page token", { cause });
  }
}

const statusOf = (err: unknown): number | undefined => {
  const e = err as { status?: number; code?: number | string; response?: { status?: number } };
  const status = e?.response?.status ?? e?.status ?? (typeof e?.code === "number" ? e.code : undefined);
  return typeof status === "number" ? status : undefined;
};

const isHidden = (labels: readonly string[]) => labels.some((l) => HIDDEN_LABELS.includes(l));

const KEPT_HEADERS = new Set(METADATA_HEADERS.map((h) => h.toLowerCase()));

function toMailMessage(m: gmail_v1.Schema$Message): MailMessage {
  const headers: Record<string, string> = {};
  for (const h of m.payload?.headers ?? []) {
    if (h.name && KEPT_HEADERS.has(h.name.toLowerCase())) headers[h.name.toLowerCase()] = h.value ?? "";
  }
  const internal = Number(m.internalDate);
  const date = Number.isFinite(internal) && internal > 0 ? new Date(internal) : new Date(headers.date ?? 0);
  return {
    gmailId: m.id!,
    threadId: m.threadId ?? m.id!,
    from: headers.from ?? "",
    to: headers.to ?? "",
    subject: headers.subject ?? "",
    snippet: m.snippet ?? "",
    date: Number.isNaN(date.getTime()) ? new Date(0) : date,
    labels: m.labelIds ?? [],
    sizeEstimate: m.sizeEstimate ?? 0,
    historyId: m.historyId ?? null,
    headers,
    body: messageBody(m.payload),
  };
}

/**
 * Mirrors one Gmail mailbox into a store. The first sync lists every message and fetches the
 * ones not yet stored; later syncs replay Gmail's history from the stored historyId, and fall
 * back to a full listing when Gmail no longer has that history (404).
 *
 * Every sync first replaces the stored labels (`labels.list`). Messages are fetched whole
 * (`format=full`). With a scope, the full listing is of that part of the mailbox only, and its
 * deletion pass touches nothing outside it; a scope wider than what the mirror covers, or stored
 * rows still lacking their bodies, make the sync list again even with a history cursor.
 *
 * Knows nothing of HTTP, queues or sockets: the worker job and the streaming endpoint both call it.
 */
export async function syncMailbox(
  gmail: gmail_v1.Gmail,
  store: MailStore,
  progress: ProgressSink,
  options: SyncOptions = {},
): Promise<SyncResult & { historyId: string }> {
  // A scope Gmail cannot be asked for fails before any call.
  const chosen = options.scope === "current" ? "current" : normalizeScope(options.scope);
  const run = new MailboxSync(gmail, store, progress, options);
  await run.labels();
  const coverage = await store.coverage();
  const cursor = options.forceFull ? null : coverage.cursor;
  const held = normalizeScope(coverage.scope);
  const asked = chosen === "current" ? held : chosen;
  // History replays what changed inside what the mirror covers; it cannot bring in what was never
  // listed (a wider scope) nor the bodies of rows stored before bodies were (migration 0008).
  if (cursor && scopeCovers(held, asked) && !coverage.bodiesMissing) {
    const incremental = await run.incremental(cursor, held);
    if (incremental) return incremental;
  }
  // A full listing of what the mirror covers when that includes what is asked (history expired,
  // or bodies to back-fill), else of what is asked: knownIds skips whatever is stored.
  return run.full(cursor && scopeCovers(held, asked) ? held : asked);
}

/**
 * The most lanes one sync opens, whatever the latency (each holds a message in flight): two full
 * batches of 50, Google's advised batch size. It was 50, which left a user whose quota allows
 * 50-message requests (100 messages/s or more) with two requests of 25: at zero latency the
 * simulator, the worker and PostgreSQL then waited on each other, and 100 in flight synced 19-25%
 * faster (bench/bare/syncFetch.ts). Memory does not grow with it: a request is cut by its bodies'
 * size (idsPerRequest), and two are in flight.
 */
export const MAX_LANES = 100;

/**
 * Lanes one sync keeps busy (Little's law): to reach `perSecond` calls a second at `latencyMs`
 * per call takes perSecond × latency calls in flight; a quarter more absorbs the latency's
 * spread. Never fewer than `base` (the lanes that keep a fast Gmail busy, where the limit is
 * CPU), never more than MAX_LANES. Extra lanes past the quota only queue at the quota gate.
 */
export function lanesFor(latencyMs: number, base: number, perSecond: number): number {
  const wanted = Math.ceil(perSecond * (latencyMs / 1000) * 1.25);
  return Math.max(base, Math.min(MAX_LANES, Number.isFinite(wanted) ? wanted : base));
}

class MailboxSync {
  private readonly concurrency: number;
  private readonly perSecond: number;
  private readonly batchSize: number;
  private readonly pageSize: number;
  private readonly fetcher: MessageFetcher;

  constructor(
    private readonly gmail: gmail_v1.Gmail,
    private readonly store: MailStore,
    private readonly progress: ProgressSink,
    private readonly options: SyncOptions,
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? 10);
    this.perSecond = Math.max(1, options.userMessagesPerSecond ?? 50);
    this.batchSize = Math.max(1, options.batchSize ?? 100);
    this.pageSize = Math.min(500, Math.max(1, options.pageSize ?? 500));
    this.fetcher = (options.messages ?? singleGets)(gmail);
  }

  private call<T>(method: GmailMethod, fn: () => Promise<{ data: T }>): Promise<T> {
    const quota = this.options.quota ?? UNLIMITED;
    const { signal, onWait } = this.options;
    return gmailCall(
      async () => {
        await quota.take(method, signal, onWait && ((until) => onWait({ reason: "quota", until })));
        return fn();
      },
      { ...this.options.retry, onWait: onWait && ((until) => onWait({ reason: "retry", until })) },
      signal,
    ).then((r) => r.data);
  }

  private checkAborted(): void {
    this.options.signal?.throwIfAborted();
  }

  /** Gmail's labels into the store, once per sync (1 quota unit). */
  async labels(): Promise<void> {
    const data = await this.call("labels.list", () => this.gmail.users.labels.list({ userId: "me" }));
    await this.store.saveLabels((data.labels ?? []).flatMap(toMailLabel));
  }

  async full(scope: SyncScope | null): Promise<SyncResult & { historyId: string }> {
    // Without a key (a caller outside the task system) the listing lives for this call only.
    const key = this.options.listingKey ?? `call-${randomUUID()}`;
    const listing = this.store.listing(key);
    try {
      return await this.walk(listing, scope);
    } catch (err) {
      // A page token from an earlier run that Gmail no longer accepts: list again from the top,
      // once. What is stored is still skipped.
      if (!(err instanceof StaleListingError)) throw err;
      await listing.clear();
      return this.walk(listing, scope);
    }
  }

  /**
   * Walks the listing: each page is recorded (ids, next token) before its messages are fetched,
   * and the next page is listed while this one's messages are fetched, so the lanes go on from
   * one page to the next without draining at the boundary. A page is marked done once all its
   * messages are written; the page after next is listed only then, so memory holds two pages of
   * ids at most. A resumed run reads the pages already walked from the store instead of Gmail.
   */
  private async walk(
    listing: SyncListing,
    scope: SyncScope | null,
  ): Promise<SyncResult & { historyId: string }> {
    const resumed = await listing.state();
    let start: { historyId: string; estimate: number };
    if (resumed) {
      start = { historyId: resumed.historyId, estimate: resumed.estimate };
    } else {
      // The profile's historyId is taken before listing: whatever changes during the listing is
      // replayed by the next incremental sync, and every replay step is idempotent.
      const profile = await this.call("users.getProfile", () =>
        this.gmail.users.getProfile({ userId: "me" }),
      );
      start = { historyId: String(profile.historyId), estimate: profile.messagesTotal ?? 0 };
    }
    let listed = resumed?.listed ?? 0;
    const tally = { processed: resumed?.fetched ?? 0 };
    const total = () => Math.max(start.estimate, listed, tally.processed);
    // A resumed run says nothing until it has counted what the interrupted page already stored:
    // its first word is never behind what the last run showed.
    if (!resumed) await this.progress({ phase: "listing", processed: 0, total: total() });

    let pagesListed = 0;
    const pageAt = async (index: number, pageToken: string | null): Promise<ListedPage> => {
      pagesListed = Math.max(pagesListed, index + 1);
      // Pages are recorded in order, so only a resumed run's first `pages` can be in the store.
      const known = resumed && index < resumed.pages ? await listing.page(index) : null;
      if (known) return known;
      this.checkAborted();
      let data: gmail_v1.Schema$ListMessagesResponse;
      try {
        data = await this.call("messages.list", () =>
          this.gmail.users.messages.list({
            userId: "me",
            maxResults: this.pageSize,
            includeSpamTrash: false,
            ...listParams(scope),
            ...(pageToken ? { pageToken } : {}),
          }),
        );
      } catch (err) {
        if (resumed && pageToken && statusOf(err) === 400) throw new StaleListingError(err);
        throw err;
      }
      // The profile counts the whole mailbox; a scoped listing's own estimate is nearer the truth.
      if (scope && index === 0 && !resumed) start.estimate = data.resultSizeEstimate ?? 0;
      const page = {
        index,
        ids: [...new Set((data.messages ?? []).flatMap((m) => (m.id ? [m.id] : [])))],
        nextPageToken: data.nextPageToken ?? null,
      };
      await listing.addPage(page, start);
      listed += page.ids.length;
      return { ...page, done: false };
    };

    // A resumed run stays quiet until it has counted what the interrupted run stored on the pages
    // it left unfinished (at most the last two it recorded).
    const quietBelow = resumed ? resumed.pages - 1 : -1;
    let counted = -1;
    const say = (update: SyncProgressUpdate) => (counted >= quietBelow ? this.progress(update) : undefined);

    /** A listed page, with what of it is still to fetch; done once every message of it is written. */
    const prepare = async (page: ListedPage): Promise<PageWork> => {
      let missing: string[] = [];
      if (!page.done) {
        const known = await this.store.knownIds(page.ids);
        missing = page.ids.filter((id) => !known.has(id));
        tally.processed += page.ids.length - missing.length;
      }
      counted = page.index;
      const work = new PageWork(page, missing, () => listing.markDone(page.index));
      if (!page.done && missing.length === 0) await work.settle(0);
      else if (page.done) work.release();
      return work;
    };
    // The page after `work`, listed and counted once the page before `work` is done: never more
    // than two pages of ids are held, and the lanes find the next page ready when they need it.
    const after = (work: PageWork, before: Promise<void>): Promise<PageWork | null> => {
      const token = work.page.nextPageToken;
      if (!token) return Promise.resolve(null);
      const next = before.then(async () => prepare(await pageAt(work.page.index + 1, token)));
      // Awaited when the lanes reach it; a failure meanwhile must not go unhandled.
      next.catch(() => {});
      return next;
    };

    let current = await prepare(await pageAt(0, null));
    let upcoming = after(current, Promise.resolve());
    let ended = false;
    let advancing: Promise<void> | null = null;
    const advance = async () => {
      const next = await upcoming;
      if (!next) {
        ended = true;
        return;
      }
      const previous = current;
      current = next;
      upcoming = after(next, previous.finished);
    };
    /**
     * The next id to fetch, across page boundaries, or null once the listing is exhausted; a
     * promise only when the lanes must wait for the next page.
     */
    const take = (): FetchItem | null | Promise<FetchItem | null> => {
      const work = current;
      if (work.next < work.missing.length) return { id: work.missing[work.next++]!, owner: work };
      if (ended) return null;
      advancing ??= advance().finally(() => {
        advancing = null;
      });
      return advancing.then(take);
    };

    const fetched = await this.fetchAndStore(take, this.concurrency, tally, total, say);
    const { added, updated } = fetched;

    // Exact now that the listing is whole (an id Gmail listed on two pages counts once). One page
    // listed in this run holds each id once already: nothing to ask the store.
    const final = resumed || pagesListed > 1 ? await listing.state() : null;
    const count = final?.listed ?? listed;
    await this.progress({ phase: "storing", processed: count, total: count });
    // A scoped listing says nothing about mail outside its scope: only mail inside it is swept.
    const deleted = await listing.sweep(scope ?? undefined);
    await this.store.saveFullListing(scope, start.historyId);
    await listing.clear();
    await this.progress({ phase: "done", processed: count, total: count });
    return { mode: "full", added, updated, deleted, historyId: start.historyId };
  }

  /** Replays history; answers null when Gmail no longer has it and a full sync must run. */
  async incremental(
    startHistoryId: string,
    scope: SyncScope | null,
  ): Promise<(SyncResult & { historyId: string }) | null> {
    await this.progress({ phase: "listing", processed: 0, total: 0 });
    // Net effect per message, in history order: the last record about a message wins.
    const changes = new Map<string, { added?: boolean; deleted?: boolean; labels?: string[] }>();
    let latest = startHistoryId;
    let pageToken: string | undefined;
    let records = 0;
    try {
      do {
        this.checkAborted();
        const page = await this.call("history.list", () =>
          this.gmail.users.history.list({
            userId: "me",
            startHistoryId,
            maxResults: 500,
            ...(pageToken ? { pageToken } : {}),
          }),
        );
        for (const h of page.history ?? []) {
          records++;
          for (const a of h.messagesAdded ?? []) {
            const id = a.message?.id;
            if (id) changes.set(id, { added: true, labels: a.message?.labelIds ?? [] });
          }
          for (const d of h.messagesDeleted ?? []) {
            const id = d.message?.id;
            if (id) changes.set(id, { deleted: true });
          }
          for (const l of [...(h.labelsAdded ?? []), ...(h.labelsRemoved ?? [])]) {
            const id = l.message?.id;
            if (!id) continue;
            const prior = changes.get(id);
            if (prior?.deleted) continue;
            changes.set(id, { ...prior, labels: l.message?.labelIds ?? prior?.labels ?? [] });
          }
        }
        if (page.historyId) latest = String(page.historyId);
        pageToken = page.nextPageToken ?? undefined;
        await this.progress({ phase: "listing", processed: records, total: records });
      } while (pageToken);
    } catch (err) {
      if (classifyGmailError(err) === "not_found") return null;
      throw err;
    }

    const toRemove: string[] = [];
    const candidates: string[] = [];
    const relabel: Array<{ gmailId: string; labels: string[] }> = [];
    for (const [id, c] of changes) {
      if (c.deleted || (c.labels && isHidden(c.labels))) toRemove.push(id);
      else if (c.added) candidates.push(id);
      else if (c.labels) relabel.push({ gmailId: id, labels: c.labels });
    }
    // A relabelled message we do not hold (say, moved out of spam) is fetched like a new one.
    // Of the messages not held, only those inside the mirror's label scope are fetched: an arrival
    // is always new enough for a day scope. What is held is kept up to date whatever its labels.
    const known = await this.store.knownIds([...candidates, ...relabel.map((r) => r.gmailId)]);
    const wanted = (id: string) => inScopeLabels(scope, changes.get(id)?.labels ?? []);
    const toFetch = [
      ...candidates.filter((id) => !known.has(id) && wanted(id)),
      ...relabel.filter((r) => !known.has(r.gmailId) && wanted(r.gmailId)).map((r) => r.gmailId),
    ];
    const relabelKnown = [
      ...relabel.filter((r) => known.has(r.gmailId)),
      ...candidates
        .filter((id) => known.has(id))
        .map((id) => ({ gmailId: id, labels: changes.get(id)!.labels ?? [] })),
    ];

    const total = toFetch.length;
    const fetched = await this.fetchAndStore(
      fromList(toFetch),
      Math.min(this.concurrency, toFetch.length),
      { processed: 0 },
      () => total,
    );
    await this.progress({ phase: "storing", processed: total, total });
    const deleted = toRemove.length ? await this.store.remove(toRemove) : 0;
    const relabelled = relabelKnown.length ? await this.store.setLabels(relabelKnown) : 0;
    await this.store.saveCursor(latest);
    await this.progress({ phase: "done", processed: total, total });
    return {
      mode: "incremental",
      added: fetched.added,
      updated: fetched.updated + relabelled,
      deleted,
      historyId: latest,
    };
  }

  /**
   * Fetches whole messages (`format=full`) with bounded concurrency, taking ids from `take` until
   * it answers null, and writes them in batches as they arrive, so a reader sees the mailbox fill
   * up while the sync runs. An id's page is settled once its message is written (or found gone).
   */
  private async fetchAndStore(
    take: () => FetchItem | null | Promise<FetchItem | null>,
    lanesWanted: number,
    tally: { processed: number },
    total: () => number,
    say: ProgressSink = this.progress,
  ): Promise<{ added: number; updated: number }> {
    let added = 0;
    let updated = 0;
    let stopped = false;
    let buffer: MailMessage[] = [];
    let owners: PageWork[] = [];
    let bufferedChars = 0;
    let writing: Promise<void> = Promise.resolve();
    // One upsert at a time: a second beside it (tried as an option) gained nothing in P3, where
    // PostgreSQL and the simulator already share the machine's cores, and held one more batch of
    // bodies per sync.
    let upserting: Promise<unknown> = Promise.resolve();

    const flush = () => {
      if (buffer.length === 0) return writing;
      const batch = buffer;
      const settled = owners;
      buffer = [];
      owners = [];
      bufferedChars = 0;
      const upsert = upserting.then(() => this.store.upsert(batch));
      upserting = upsert.catch(() => {});
      const before = writing;
      writing = (async () => {
        const r = await upsert;
        await before;
        added += r.added;
        updated += r.updated;
        // In order of writing: a page is marked done only after its last message is stored, and
        // every message written before it.
        for (const owner of settled) await owner.settle(1);
      })();
      writing.catch(halt);
      return writing;
    };
    /** An id that needs no write (hidden, or gone from Gmail) settles after what is queued. */
    const skip = (owner: PageWork | undefined) => {
      if (!owner) return;
      writing = writing.then(() => owner.settle(1));
      writing.catch(halt);
    };
    // A failed write or call stops every lane, also those waiting for the next page (which waits
    // for the page before to be written, and so never comes after a failed write). Not a race
    // against one never-settled promise: each race would stay attached to it, and with it the
    // page it resolved to, for the whole sync.
    let haltedBy: { err: unknown } | null = null;
    const waiting = new Set<(err: unknown) => void>();
    const halt = (err: unknown) => {
      stopped = true;
      haltedBy ??= { err };
      for (const reject of waiting) reject(err);
      waiting.clear();
    };
    const unlessHalted = <T>(pending: Promise<T>) =>
      new Promise<T>((resolve, reject) => {
        if (haltedBy) return reject(haltedBy.err);
        waiting.add(reject);
        pending.then(
          (value) => {
            waiting.delete(reject);
            resolve(value);
          },
          (err) => {
            waiting.delete(reject);
            reject(err);
          },
        );
      });

    // The latency decides how many lanes are worth it (lanesFor): every 20 answers, if they came
    // slower than the user's quota allows, more lanes open. Where the limit is CPU, not latency,
    // the answers come faster than the quota and nothing opens. A lane is one message in flight:
    // a request carrying several messages (a batch) takes as many lanes as it carries, and its
    // round trip is each of its messages' latency.
    let latency = 0;
    let answers = 0;
    let windowAnswers = 0;
    let windowAt = performance.now();
    let more = true;
    const observe = (ms: number, n: number) => {
      latency = answers === 0 ? ms : latency * 0.9 + ms * 0.1;
      answers += n;
      if (answers - windowAnswers < 20) return;
      const now = performance.now();
      const rate = (answers - windowAnswers) / ((now - windowAt) / 1000);
      windowAt = now;
      windowAnswers = answers;
      if (!more || stopped || rate >= 0.9 * this.perSecond) return;
      widen(lanesFor(latency, base, this.perSecond));
    };
    // Messages in flight at most (the lanes), and the requests that carry them: one per lane
    // without batches; with them, as few as the batch size allows but at least two, so one
    // request's answer is decoded and stored while the other is on the wire. Batches start with
    // two full ones in flight (within MAX_LANES): where the limit is CPU, a batch of five saves
    // little of a round trip's cost, and the base lanes are there to keep a fast Gmail busy.
    // A batch lands on Gmail as a burst of all its units, which Google meters per user per
    // second: a request carries at most half a second of the user's quota, so the two in flight
    // together never hold more than a second's units (at Google's 250 units/s, 25 gets a request).
    const perRequest = Math.max(1, Math.min(this.fetcher.maxIds, Math.floor(this.perSecond / 2)));
    const base = perRequest === 1 ? lanesWanted : Math.max(lanesWanted, Math.min(MAX_LANES, 2 * perRequest));
    let inFlight = Math.max(1, base);
    const requestsFor = (lanes: number) =>
      perRequest === 1 ? lanes : Math.max(Math.min(2, lanes), Math.ceil(lanes / perRequest));
    // A request's answer is held whole until decoded, so its size is bounded like a write batch's:
    // about BATCH_BODY_CHARS of bodies at the bodies' recent average size. Small mail fills the
    // batch; mail of a megabyte a message goes two at a time.
    let bodyChars = 0;
    const bySize = () => (bodyChars > 0 ? Math.max(1, Math.floor(BATCH_BODY_CHARS / bodyChars)) : perRequest);
    const idsPerRequest = () => Math.min(perRequest, bySize(), Math.ceil(inFlight / requestsFor(inFlight)));
    const widen = (lanes: number) => {
      inFlight = Math.max(inFlight, lanes);
      while (runners.length < requestsFor(inFlight)) open();
    };
    const runners: Array<Promise<void>> = [];

    const quota = this.options.quota ?? UNLIMITED;
    const { signal, onWait } = this.options;
    const quotaWait = onWait && ((until: number) => onWait({ reason: "quota", until }));
    const retry = {
      ...this.options.retry,
      onWait: onWait && ((until: number) => onWait({ reason: "retry", until })),
    };
    /**
     * One request for `ids`, charged to the quota first: a batch costs the sum of its parts, taken
     * in one go, since its parts reach Gmail together. Taken one by one, the parts of two requests
     * would pass the gate spread over a second and then land as one burst, past what Google (and
     * the gate) allow in any one second.
     */
    const attempt = async (ids: string[]) => {
      await quota.take("messages.get", signal, quotaWait, ids.length);
      // Timed after the quota gate: the latency of Gmail, not of our own waiting.
      const t = performance.now();
      const outcomes = await this.fetcher.fetch(ids, signal);
      observe(performance.now() - t, ids.length);
      return outcomes;
    };
    /** A message whose part of a batch failed: retried alone, that part counted as its attempt 1. */
    const again = (id: string, error: unknown) =>
      gmailCall(
        async () => {
          const [outcome] = await attempt([id]);
          if (!outcome) throw new Error(`Gmail's answer had no part for message ${id}`);
          if (!outcome.ok) throw outcome.error;
          return outcome.message;
        },
        retry,
        signal,
        { error },
      );

    // Bodies vary from nothing to megabytes: a batch of writes is also cut by size, so memory
    // stays bounded by it whatever the mail. A request's messages are many; each may cut one.
    const full = () => buffer.length >= this.batchSize || bufferedChars >= BATCH_BODY_CHARS;
    let cuts = 0;
    /** What became of one id: buffered for the next write, or settled at once (hidden, gone). */
    const keep = (item: FetchItem, message: gmail_v1.Schema$Message | null) => {
      if (message && !isHidden(message.labelIds ?? [])) {
        const mail = toMailMessage(message);
        buffer.push(mail);
        if (item.owner) owners.push(item.owner);
        const chars = (mail.body?.text?.length ?? 0) + (mail.body?.html?.length ?? 0);
        bufferedChars += chars;
        bodyChars = bodyChars === 0 ? chars : bodyChars * 0.9 + chars * 0.1;
      } else skip(item.owner);
      tally.processed++;
      if (full()) {
        cuts++;
        void flush();
      }
    };
    /** A failure for one id: gone from Gmail (deleted between listing and fetching) is not one. */
    const gone = (err: unknown) => {
      if (classifyGmailError(err) !== "not_found") throw err;
      return null;
    };

    const fetchItems = async (items: FetchItem[]) => {
      let outcomes: FetchOutcome[];
      try {
        // A request that fails as a whole is retried whole.
        outcomes = await gmailCall(() => attempt(items.map((i) => i.id)), retry, signal);
      } catch (err) {
        // A one-message request's failure is that message's own answer (a 404: it is gone).
        if (items.length > 1) throw err;
        keep(items[0]!, gone(err));
        return;
      }
      const retried: Array<Promise<void>> = [];
      for (const [i, item] of items.entries()) {
        const outcome = outcomes[i];
        if (outcome?.ok) {
          keep(item, outcome.message);
          continue;
        }
        const error = outcome
          ? outcome.error
          : new Error(`Gmail's answer had no part for message ${item.id}`);
        const kind = classifyGmailError(error);
        if (kind === "not_found") {
          keep(item, null);
          continue;
        }
        if (kind === "reauth") throw new ReauthRequiredError();
        if (kind !== "retry") throw error;
        retried.push(
          again(item.id, error).then(
            (message) => keep(item, message),
            (err: unknown) => keep(item, gone(err)),
          ),
        );
      }
      const settled = await Promise.allSettled(retried);
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
      if (failed) throw failed.reason;
    };

    await say({ phase: "fetching", processed: tally.processed, total: total() });
    const lane = async () => {
      // An id the lane was promised once the next page is ready, taken with its next request.
      let promised: Promise<FetchItem | null> | null = null;
      while (!stopped) {
        this.checkAborted();
        const items: FetchItem[] = [];
        let exhausted = false;
        const wanted = idsPerRequest();
        while (items.length < wanted) {
          let item: FetchItem | null | Promise<FetchItem | null> = promised ?? take();
          promised = null;
          if (item instanceof Promise) {
            if (items.length > 0) {
              // What is in hand goes now; the next page is not waited for with it.
              promised = unlessHalted(item);
              promised.catch(() => {});
              break;
            }
            // The next page waits for the last one to be written: write what is buffered now.
            void flush();
            item = await unlessHalted(item);
          }
          if (!item) {
            exhausted = true;
            break;
          }
          items.push(item);
        }
        if (stopped) return;
        const before = cuts;
        if (items.length > 0) await fetchItems(items);
        // A write started meanwhile is waited for, so fetching never runs ahead of writing.
        if (cuts !== before) {
          await flush();
          await say({ phase: "fetching", processed: tally.processed, total: total() });
        }
        if (exhausted) return;
      }
    };
    const open = () =>
      runners.push(
        lane().catch((err: unknown) => {
          halt(err);
          throw err;
        }),
      );
    for (let i = 0; i < requestsFor(inFlight); i++) open();
    let outcome: Array<PromiseSettledResult<void>> = [];
    // Lanes opened meanwhile are awaited too.
    while (outcome.length < runners.length) outcome = await Promise.allSettled([...runners]);
    more = false;
    const failure = outcome.find((o): o is PromiseRejectedResult => o.status === "rejected");
    if (failure) {
      // What was fetched is kept; the failure is the lanes'.
      await flush().catch(() => {});
      throw failure.reason;
    }
    await flush();
    return { added, updated };
  }
}

/** One id for the fetch lanes; `owner` is the listing page it came from (full syncs). */
interface FetchItem {
  id: string;
  owner?: PageWork;
}

/**
 * A listed page while its messages are fetched: how many are still to be written, and the done
 * mark once none is. `finished` resolves when the mark is written (or the page needed none).
 */
class PageWork {
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

/** Lanes over a plain list of ids (an incremental sync's fetch). */
function fromList(ids: readonly string[]): () => FetchItem | null {
  let next = 0;
  return () => (next < ids.length ? { id: ids[next++]! } : null);
}
