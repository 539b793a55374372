import type { gmail_v1 } from "@googleapis/gmail";

/** One message's answer within a fetch: the message, or what a single call for it would have thrown. */
export type FetchOutcome = { ok: true; message: gmail_v1.Schema$Message } | { ok: false; error: unknown };

/** One call of a request: a message by its id, or a whole thread by its id (`format=full` both). */
export interface FetchPart {
  method: "messages.get" | "threads.get";
  id: string;
}

/**
 * One call's answer within a request: the messages it brought (one for `messages.get`, every
 * message of the thread for `threads.get`), or what a single call would have thrown.
 */
export type PartOutcome = { ok: true; messages: gmail_v1.Schema$Message[] } | { ok: false; error: unknown };

/**
 * How the sync fetches whole messages (`format=full`): the port between the sync's rules (lanes,
 * quota, retries, batches of writes) and a transport. Whatever the transport, the sync charges
 * each call's quota units (a request's in one go, since they reach Gmail together) and retries
 * each call on its own; a transport that carries several calls per request saves round trips,
 * not quota (a batch costs the sum of its parts).
 */
export interface MessageFetcher {
  /** The most calls one request takes; 1 for one request per call. */
  readonly maxIds: number;
  /**
   * One outcome per id, in the order asked. Rejects when the request as a whole failed (then no
   * message of it was answered, and the error is classified as a single call's would be).
   */
  fetch(ids: readonly string[], signal?: AbortSignal): Promise<FetchOutcome[]>;
  /**
   * As `fetch`, for calls of either method (`threads.get` as well as `messages.get`). A transport
   * without it fetches no threads: the sync then plans one `messages.get` per message.
   */
  fetchParts?(parts: readonly FetchPart[], signal?: AbortSignal): Promise<PartOutcome[]>;
}

/** Makes the fetcher for one sync from that sync's Gmail client (the user's credentials). */
export type MessageFetcherFactory = (gmail: gmail_v1.Gmail) => MessageFetcher;

/** A message outcome as a part's. */
export const asPartOutcome = (o: FetchOutcome): PartOutcome =>
  o.ok ? { ok: true, messages: [o.message] } : o;

/** One `messages.get` (or `threads.get`) per call through the Gmail client: the default. */
export function singleGets(gmail: gmail_v1.Gmail): MessageFetcher {
  const one = async (part: FetchPart): Promise<gmail_v1.Schema$Message[]> => {
    // The same units as metadata; the bodies come with it (attachment data not).
    if (part.method === "messages.get")
      return [(await gmail.users.messages.get({ userId: "me", id: part.id, format: "full" })).data];
    const { data } = await gmail.users.threads.get({ userId: "me", id: part.id, format: "full" });
    return data.messages ?? [];
  };
  return {
    maxIds: 1,
    async fetch(ids) {
      // Several ids are asked one call each, all at once; the sync asks for one at a time.
      return Promise.all(
        ids.map(async (id) => ({
          ok: true as const,
          message: (await one({ method: "messages.get", id }))[0]!,
        })),
      );
    },
    async fetchParts(parts) {
      return Promise.all(parts.map(async (part) => ({ ok: true as const, messages: await one(part) })));
    },
  };
}
