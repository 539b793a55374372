import { BATCH_BODY_CHARS } from "./WriteBuffer";

/**
 * The most lanes one sync opens, whatever the latency (each holds a message in flight): two full
 * batches of 50, Google's advised batch size, so a user whose quota allows 50-message requests
 * gets two of them in flight, one decoded and stored while the other is on the wire. Memory does
 * not grow with it: a request is cut by its bodies' size (idsPerRequest), and two are in flight.
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

/** Answers counted before the rate is measured again. */
const WINDOW_ANSWERS = 20;

export interface LaneSettings {
  /** Lanes asked for (the sync's concurrency, or fewer when fewer ids are to fetch). */
  lanesWanted: number;
  /** The most ids the transport takes per request (1: one request per message). */
  maxIds: number;
  /** The most `messages.get` a second the user's quota allows. */
  perSecond: number;
  /** Milliseconds on a monotonic clock; `performance.now` unless a test drives time. */
  now?: () => number;
  /** Whether the fetch has stopped: then no lane opens. */
  isHalted?: () => boolean;
}

/**
 * How many messages are in flight (the lanes) and how many requests carry them.
 *
 * A lane is one message in flight: a request carrying several messages (a batch) takes as many
 * lanes as it carries, and its round trip is each of its messages' latency. Without batches there
 * is one request per lane; with them, as few as the batch size allows but at least two, so one
 * request's answer is decoded and stored while the other is on the wire. Batches start with two
 * full ones in flight (within MAX_LANES): where the limit is CPU, a batch of five saves little of
 * a round trip's cost, and the base lanes are there to keep a fast Gmail busy.
 *
 * A batch lands on Gmail as a burst of all its units, which Google meters per user per second: a
 * request carries at most half a second of the user's quota, so the two in flight together never
 * hold more than a second's units (at Google's 250 units/s, 25 gets a request).
 *
 * The latency decides how many lanes are worth it (lanesFor): every 20 answers, if they came
 * slower than the user's quota allows, more lanes open. Where the limit is CPU, not latency, the
 * answers come faster than the quota and nothing opens.
 */
export class LaneControl {
  /** Ids one request carries at most. */
  readonly perRequest: number;
  /** The lanes open from the start. */
  readonly base: number;
  /** Messages in flight at most, now. */
  inFlight: number;
  private readonly perSecond: number;
  private readonly now: () => number;
  private readonly isHalted: () => boolean;
  private latency = 0;
  private answers = 0;
  private windowAnswers = 0;
  private windowAt: number;
  private closed = false;
  /** Recent average of a message's body characters; 0 until one is seen. */
  private bodyChars = 0;

  constructor(settings: LaneSettings) {
    const { lanesWanted, maxIds, perSecond } = settings;
    this.perSecond = perSecond;
    this.now = settings.now ?? (() => performance.now());
    this.isHalted = settings.isHalted ?? (() => false);
    this.windowAt = this.now();
    this.perRequest = Math.max(1, Math.min(maxIds, Math.floor(perSecond / 2)));
    this.base =
      this.perRequest === 1 ? lanesWanted : Math.max(lanesWanted, Math.min(MAX_LANES, 2 * this.perRequest));
    this.inFlight = Math.max(1, this.base);
  }

  /** Requests that carry `lanes` messages in flight. */
  requestsFor(lanes: number): number {
    return this.perRequest === 1 ? lanes : Math.max(Math.min(2, lanes), Math.ceil(lanes / this.perRequest));
  }

  /** Requests to keep in flight now. */
  get requests(): number {
    return this.requestsFor(this.inFlight);
  }

  /**
   * Ids for the next request. An answer is held whole until decoded, so a request is bounded like
   * a write batch: about BATCH_BODY_CHARS of bodies at the bodies' recent average size. Small
   * mail fills the batch; mail of a megabyte a message goes two at a time.
   */
  idsPerRequest(): number {
    const bySize =
      this.bodyChars > 0 ? Math.max(1, Math.floor(BATCH_BODY_CHARS / this.bodyChars)) : this.perRequest;
    return Math.min(this.perRequest, bySize, Math.ceil(this.inFlight / this.requests));
  }

  /** A fetched message had `chars` of bodies. */
  noteBody(chars: number): void {
    this.bodyChars = this.bodyChars === 0 ? chars : this.bodyChars * 0.9 + chars * 0.1;
  }

  /**
   * `n` messages answered after `ms` on the wire. Answers the requests to keep in flight when
   * that opens more lanes, else null.
   */
  observe(ms: number, n: number): number | null {
    this.latency = this.answers === 0 ? ms : this.latency * 0.9 + ms * 0.1;
    this.answers += n;
    if (this.answers - this.windowAnswers < WINDOW_ANSWERS) return null;
    const now = this.now();
    const rate = (this.answers - this.windowAnswers) / ((now - this.windowAt) / 1000);
    this.windowAt = now;
    this.windowAnswers = this.answers;
    if (this.closed || this.isHalted() || rate >= 0.9 * this.perSecond) return null;
    this.inFlight = Math.max(this.inFlight, lanesFor(this.latency, this.base, this.perSecond));
    return this.requests;
  }

  /** Every lane has ended: no more open, whatever answers still come in. */
  close(): void {
    this.closed = true;
  }
}
