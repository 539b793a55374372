import type { gmail_v1 } from "@googleapis/gmail";

/** One message's answer within a fetch: the message, or what a single call for it would have thrown. */
export type FetchOutcome = { ok: true; message: gmail_v1.Schema$Message } | { ok: false; error: unknown };

/**
 * How the sync fetches whole messages (`format=full`): the port between the sync's rules (lanes,
 * quota, retries, batches of writes) and a transport. Whatever the transport, the sync charges
 * each message's quota units (a request's in one take, since they reach Gmail together) and
 * retries each message on its own; a transport that carries several messages per request saves
 * round trips, not quota (a batch costs the sum of its parts).
 */
export interface MessageFetcher {
  /** The most ids one `fetch` takes; 1 for one request per message. */
  readonly maxIds: number;
  /**
   * One outcome per id, in the order asked. Rejects when the request as a whole failed (then no
   * message of it was answered, and the error is classified as a single call's would be).
   */
  fetch(ids: readonly string[], signal?: AbortSignal): Promise<FetchOutcome[]>;
}

/** Makes the fetcher for one sync from that sync's Gmail client (the user's credentials). */
export type MessageFetcherFactory = (gmail: gmail_v1.Gmail) => MessageFetcher;

/** One `messages.get` per message through the Gmail client: the default. */
export function singleGets(gmail: gmail_v1.Gmail): MessageFetcher {
  return {
    maxIds: 1,
    async fetch(ids) {
      // Several ids are asked one call each, all at once; the sync asks for one at a time.
      return Promise.all(
        ids.map(async (id) => {
          // The same 5 quota units as metadata; the bodies come with it (attachment data not).
          const { data } = await gmail.users.messages.get({ userId: "me", id, format: "full" });
          return { ok: true as const, message: data };
        }),
      );
    },
  };
}
