/**
 * When Gmail's batch endpoint is not there for an API root (a proxy that does not route it, a
 * Google deployment that withdrew it), whole messages are fetched one `messages.get` each instead
 * of failing every sync. Only answers that say the endpoint itself is absent count: 404, 405 and
 * 501. A 429 or another 5xx is the endpoint busy, and is retried as any call is.
 */
import type { gmail_v1 } from "@googleapis/gmail";
import type { FetchOutcome, FetchPart, MessageFetcher, PartOutcome } from "../sync/MessageFetcher";

/** The statuses that say a batch endpoint is not there (or takes no POST): retrying cannot help. */
export const BATCH_ABSENT_STATUSES: readonly number[] = [404, 405, 501];

export function batchAbsent(status: number): boolean {
  return BATCH_ABSENT_STATUSES.includes(status);
}

/** A batch request the endpoint refused as absent; none of its messages was answered. */
export class BatchRefusedError extends Error {
  constructor(
    readonly url: string,
    /** Not `status`: this is no message's answer, and must not be classified as one (404: gone). */
    readonly httpStatus: number,
  ) {
    super(`Gmail's batch endpoint ${url} answered ${httpStatus}`);
    this.name = "BatchRefusedError";
  }
}

/** API roots whose batch endpoint refused, with the status it answered. */
export class BatchRefusals {
  private readonly roots = new Map<string, number>();

  has(apiRoot: string): boolean {
    return this.roots.has(apiRoot);
  }

  /** Remembers `apiRoot` as refusing; true when it was not yet known to. */
  add(apiRoot: string, status: number): boolean {
    if (this.roots.has(apiRoot)) return false;
    this.roots.set(apiRoot, status);
    return true;
  }
}

/**
 * The process's memory of refusing roots: one refusal is enough for every later sync of the
 * process to skip the batch at once. A restart tries the batch again (the endpoint may be back).
 */
export const processBatchRefusals = new BatchRefusals();

export interface SingleFallbackOptions {
  apiRoot: string;
  /** One plain `messages.get` (`format=full`); rejects as a single call would. */
  fetchOne: (id: string, signal?: AbortSignal) => Promise<gmail_v1.Schema$Message>;
  /**
   * One plain call of either method (a thread's messages for `threads.get`). Without it, and
   * without the batch's own `fetchParts`, the fallback fetches no threads.
   */
  fetchPart?: (part: FetchPart, signal?: AbortSignal) => Promise<gmail_v1.Schema$Message[]>;
  /** Default `processBatchRefusals`. */
  refusals?: BatchRefusals;
  /** Told of each batch request refused; `first` once per API root and `refusals`. */
  onRefused?: (refusal: { apiRoot: string; status: number; first: boolean; messages: number }) => void;
}

/**
 * `batch`, falling back to one `fetchOne` per id once the batch endpoint of `apiRoot` is known to
 * be absent. The ids of the refused request are fetched singly in the same attempt (their quota
 * was taken for them already, and a refused batch reached no message), each failure being that
 * message's own outcome so it is retried alone, as a failed part of a batch is.
 */
export function withSingleFallback(batch: MessageFetcher, options: SingleFallbackOptions): MessageFetcher {
  const { apiRoot, fetchOne, onRefused } = options;
  const refusals = options.refusals ?? processBatchRefusals;
  const singly = (ids: readonly string[], signal?: AbortSignal): Promise<FetchOutcome[]> =>
    Promise.all(
      ids.map((id) =>
        fetchOne(id, signal).then(
          (message): FetchOutcome => ({ ok: true, message }),
          (error: unknown): FetchOutcome => ({ ok: false, error }),
        ),
      ),
    );
  const { fetchPart } = options;
  const partsSingly = (parts: readonly FetchPart[], signal?: AbortSignal): Promise<PartOutcome[]> =>
    Promise.all(
      parts.map((part) =>
        fetchPart!(part, signal).then(
          (messages): PartOutcome => ({ ok: true, messages }),
          (error: unknown): PartOutcome => ({ ok: false, error }),
        ),
      ),
    );
  /** The batch, or the same calls singly once its endpoint is known to be absent. */
  const viaBatch = async <T>(n: number, batched: () => Promise<T>, singles: () => Promise<T>): Promise<T> => {
    if (refusals.has(apiRoot)) return singles();
    try {
      return await batched();
    } catch (err) {
      if (!(err instanceof BatchRefusedError)) throw err;
      const first = refusals.add(apiRoot, err.httpStatus);
      onRefused?.({ apiRoot, status: err.httpStatus, first, messages: n });
      return singles();
    }
  };
  const batchParts = batch.fetchParts?.bind(batch);
  return {
    // Lanes are sized from this once per sync: a root known to refuse gets single-message requests.
    maxIds: refusals.has(apiRoot) ? 1 : batch.maxIds,
    fetch: (ids, signal) =>
      viaBatch(
        ids.length,
        () => batch.fetch(ids, signal),
        () => singly(ids, signal),
      ),
    ...(batchParts && fetchPart
      ? {
          fetchParts: (parts: readonly FetchPart[], signal?: AbortSignal) =>
            viaBatch(
              parts.length,
              () => batchParts(parts, signal),
              () => partsSingly(parts, signal),
            ),
        }
      : {}),
  };
}
