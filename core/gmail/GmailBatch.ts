/**
 * Gmail's batch endpoint as a MessageFetcher: up to `maxIds` whole-message gets (`format=full`) in
 * one `multipart/mixed` request (developers.google.com/gmail/api/guides/batch): each part an
 * `application/http` GET with a `Content-ID`, the outer Authorization applying to every part, and
 * one `application/http` answer per part, `Content-ID: <response-…>`, in the order asked.
 *
 * Why not `@jrmdayn/googleapis-batcher` (0.10.1, MIT; read in full before writing this): it does
 * batch the googleapis client's own calls through its `fetchImplementation`, and a part's error
 * reaches gaxios as that call's own, but it does not fit here:
 * - its batch URL is guessed from the request's origin alone (`<origin>/batch`, or
 *   `https://www.googleapis.com/batch/<api>/<version>` for that one host): a configured root URL
 *   with a path (GMAIL_API_ROOT behind a proxy) loses its path, and the URL cannot be set;
 * - a batch refused as a whole (429, 503, a proxy's HTML) becomes a plain Error without a status
 *   for every call in it ("Unexpected Content-Type header in response"), which our retry rules
 *   must treat as fatal: a busy Gmail would fail the sync instead of backing off;
 * - the calls' AbortSignal (gaxios' 30 s timeout, the sync's cancellation) is dropped for a batch:
 *   a batch that hangs is never cut off;
 * - which calls share a batch is decided by the event loop (one tick, a time window or a manual
 *   signal), not by the caller: the sync's calls pass an asynchronous quota gate first and arrive
 *   in different ticks, so batch sizes would be left to chance;
 * - every part still goes through the googleapis request path (the per-call CPU that batching is
 *   meant to save) and through a second HTTP stack (node-fetch 2) and a template engine
 *   (handlebars) to build the body.
 * What is left is small: the sync decides which ids share a request, and this class encodes and
 * decodes one multipart request with the same credentials and root URL as the Gmail client.
 */
import { randomBytes } from "node:crypto";
import type { gmail_v1 } from "@googleapis/gmail";
import type { OAuth2Client } from "google-auth-library";
import {
  type FetchOutcome,
  type FetchPart,
  type MessageFetcher,
  type MessageFetcherFactory,
  type PartOutcome,
  singleGets,
} from "../sync/MessageFetcher";
import { type BatchRefusals, BatchRefusedError, batchAbsent, withSingleFallback } from "./batchFallback";
import { connectionOf } from "./googleClients";

/** Google's limit of calls in one batch request. */
export const MAX_BATCH_IDS = 100;
/** As the Gmail client's own calls (core/gmail/googleClients.ts). */
const TIMEOUT_MS = 30_000;

/**
 * A Gmail API answer that was not a success, shaped as gaxios shapes its errors (status,
 * response.status, response.headers, response.data), so core/sync/gmailCall classifies and
 * retries it as it does a single call's, Retry-After included.
 */
export class GmailHttpError extends Error {
  readonly status: number;
  readonly code: number;
  readonly response: { status: number; headers: Headers; data: unknown };

  constructor(status: number, headers: Headers, data: unknown, context: string) {
    const said = (data as { error?: { message?: unknown } } | null)?.error?.message;
    super(`${context}: ${status}${typeof said === "string" ? ` ${said}` : ""}`);
    this.name = "GmailHttpError";
    this.status = status;
    this.code = status;
    this.response = { status, headers, data };
  }
}

/** One decoded `application/http` answer. */
export interface HttpPart {
  contentId: string | null;
  status: number;
  headers: Headers;
  body: string;
}

export class GmailBatch implements MessageFetcher {
  /** `<root>batch/gmail/v1`: the same root as every other Gmail call, whatever its path. */
  readonly url: string;
  private readonly messages: URL;
  private readonly threads: URL;

  constructor(
    private readonly auth: OAuth2Client,
    apiRoot: string,
    readonly maxIds = 50,
  ) {
    if (!Number.isInteger(maxIds) || maxIds < 1 || maxIds > MAX_BATCH_IDS)
      throw new RangeError(`a Gmail batch carries 1 to ${MAX_BATCH_IDS} calls, not ${maxIds}`);
    const root = apiRoot.endsWith("/") ? apiRoot : `${apiRoot}/`;
    this.url = new URL("batch/gmail/v1", root).href;
    this.messages = new URL("gmail/v1/users/me/messages/", root);
    this.threads = new URL("gmail/v1/users/me/threads/", root);
  }

  async fetch(ids: readonly string[], signal?: AbortSignal): Promise<FetchOutcome[]> {
    const outcomes = await this.fetchParts(
      ids.map((id) => ({ method: "messages.get", id })),
      signal,
    );
    return outcomes.map((o) => (o.ok ? { ok: true, message: o.messages[0]! } : o));
  }

  /** Message and thread gets in one request; a thread's part answers all its messages. */
  async fetchParts(parts: readonly FetchPart[], signal?: AbortSignal): Promise<PartOutcome[]> {
    if (parts.length === 0) return [];
    if (parts.length > this.maxIds)
      throw new RangeError(`${parts.length} calls for a batch of ${this.maxIds}`);
    // One call needs no envelope: a plain GET costs both ends less.
    if (parts.length === 1) return [{ ok: true, messages: await this.fetchPart(parts[0]!, signal) }];
    const boundary = `batch_${randomBytes(12).toString("hex")}`;
    const body = encodeBatch(
      boundary,
      parts.map((p) => this.pathOf(p)),
    );
    const res = await this.send(
      this.url,
      { method: "POST", body, headers: { "content-type": `multipart/mixed; boundary=${boundary}` } },
      signal,
    );
    const text = await res.text();
    if (!res.ok) {
      // The endpoint itself missing is no message's 404: the caller fetches these singly.
      if (batchAbsent(res.status)) throw new BatchRefusedError(this.url, res.status);
      throw new GmailHttpError(res.status, res.headers, parseJson(text), "Gmail batch request");
    }
    const type = res.headers.get("content-type") ?? "";
    const outer = boundaryOf(type);
    if (!/^multipart\/mixed/i.test(type) || !outer)
      throw malformed(`a batch answer of type "${type}"`, res.headers);
    const answers = decodeBatch(text, outer);
    return parts.map((p, i): PartOutcome => {
      const part = answers.byId.get(`item${i}`) ?? (answers.byId.size === 0 ? answers.all[i] : undefined);
      if (!part) return { ok: false, error: malformed(`no answer for ${p.method} ${p.id} in the batch`) };
      const data = parseJson(part.body);
      if (part.status >= 200 && part.status < 300 && data && typeof data === "object")
        return { ok: true, messages: messagesOf(p, data) };
      return {
        ok: false,
        error: new GmailHttpError(part.status, part.headers, data, `Gmail ${p.method} ${p.id} (in a batch)`),
      };
    });
  }

  private pathOf(part: FetchPart): string {
    const url = new URL(
      encodeURIComponent(part.id),
      part.method === "threads.get" ? this.threads : this.messages,
    );
    url.searchParams.set("format", "full");
    return url.pathname + url.search;
  }

  /** One plain call of `part`, outside any batch: its messages. */
  async fetchPart(part: FetchPart, signal?: AbortSignal): Promise<gmail_v1.Schema$Message[]> {
    const res = await this.send(new URL(this.pathOf(part), this.messages).href, { method: "GET" }, signal);
    const data = parseJson(await res.text());
    if (!res.ok) throw new GmailHttpError(res.status, res.headers, data, `Gmail ${part.method} ${part.id}`);
    if (!data || typeof data !== "object")
      throw malformed(`${part.method} ${part.id} answered no JSON`, res.headers);
    return messagesOf(part, data);
  }

  /** One plain `messages.get` (`format=full`), outside any batch. */
  async fetchOne(id: string, signal?: AbortSignal): Promise<gmail_v1.Schema$Message> {
    return (await this.fetchPart({ method: "messages.get", id }, signal))[0]!;
  }

  /**
   * One request with the client's credentials (refreshed when they are about to lapse). A 401 is
   * retried once after a refresh only where google-auth-library's own calls would retry it: tokens
   * without an expiry date, or a client set to refresh on failure. Otherwise it is the grant's end.
   */
  private async send(
    url: string,
    init: { method: string; body?: string; headers?: Record<string, string> },
    signal: AbortSignal | undefined,
    refreshed = false,
  ): Promise<Response> {
    const auth = await this.auth.getRequestHeaders(url);
    const headers = new Headers(init.headers);
    for (const [k, v] of auth) headers.set(k, v);
    headers.set("accept", "application/json");
    const timeout = AbortSignal.timeout(TIMEOUT_MS);
    let res: Response;
    try {
      res = await fetch(url, {
        ...init,
        headers,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw networkError(err, timeout.aborted);
    }
    const c = this.auth.credentials;
    if (
      res.status === 401 &&
      !refreshed &&
      c.access_token &&
      c.refresh_token &&
      (!c.expiry_date || this.auth.forceRefreshOnFailure)
    ) {
      await res.body?.cancel();
      await this.auth.refreshAccessToken();
      return this.send(url, init, signal, true);
    }
    return res;
  }
}

/** How `gmailBatches` handles a batch endpoint that is not there. */
export interface BatchFallbackOptions {
  /** Where refused API roots are remembered; default the process's own. */
  refusals?: BatchRefusals;
  /** Told of every batch request refused (`first`: the first for its API root in the process). */
  onRefused?: (refusal: { apiRoot: string; status: number; first: boolean; messages: number }) => void;
}

/**
 * Batches of `size` whole-message gets for every sync whose client createGmailClient made (the
 * same credentials and root URL); one `messages.get` per message for any other client, for an API
 * root whose batch endpoint refused earlier in the process, and for `size` 1 (undefined: the
 * sync's default).
 */
export function gmailBatches(
  size: number,
  fallback: BatchFallbackOptions = {},
): MessageFetcherFactory | undefined {
  if (size <= 1) return undefined;
  return (gmail) => {
    const connection = connectionOf(gmail);
    if (!connection) return singleGets(gmail);
    const batch = new GmailBatch(connection.auth, connection.apiRoot, size);
    return withSingleFallback(batch, {
      apiRoot: connection.apiRoot,
      fetchOne: (id, signal) => batch.fetchOne(id, signal),
      fetchPart: (part, signal) => batch.fetchPart(part, signal),
      ...fallback,
    });
  };
}

/** The messages a call's answer carries: the message itself, or a thread's list. */
function messagesOf(part: FetchPart, data: object): gmail_v1.Schema$Message[] {
  if (part.method === "messages.get") return [data as gmail_v1.Schema$Message];
  return (data as gmail_v1.Schema$Thread).messages ?? [];
}

/** A multipart/mixed body of GETs, one `application/http` part each, `Content-ID: <item{i}>`. */
export function encodeBatch(boundary: string, paths: readonly string[]): string {
  let body = "";
  for (let i = 0; i < paths.length; i++) {
    body += `--${boundary}\r\nContent-Type: application/http\r\nContent-ID: <item${i}>\r\n\r\nGET ${paths[i]}\r\n\r\n`;
  }
  return `${body}--${boundary}--\r\n`;
}

/** The parts of a multipart/mixed batch answer, by their `Content-ID` (without `response-`) and in order. */
export function decodeBatch(
  text: string,
  boundary: string,
): { all: HttpPart[]; byId: Map<string, HttpPart> } {
  const delimiter = `--${boundary}`;
  const all: HttpPart[] = [];
  const byId = new Map<string, HttpPart>();
  // A delimiter starts a line (RFC 2046); what precedes the first is the preamble, the CRLF
  // before each belongs to the delimiter, and what follows the closing one is the epilogue.
  let at = text.startsWith(delimiter) ? 0 : text.indexOf(`\n${delimiter}`) + 1;
  if (at === 0 && !text.startsWith(delimiter)) return { all, byId };
  for (;;) {
    const start = at + delimiter.length;
    if (text.startsWith("--", start)) break;
    const next = text.indexOf(`\n${delimiter}`, start);
    const end = next < 0 ? text.length : text[next - 1] === "\r" ? next - 1 : next;
    const part = decodePart(text.slice(start, end));
    if (part) {
      all.push(part);
      if (part.contentId) byId.set(part.contentId, part);
    }
    if (next < 0) break;
    at = next + 1;
  }
  return { all, byId };
}

function decodePart(raw: string): HttpPart | null {
  const piece = raw.replace(/^[ \t]*\r?\n/, "");
  const outer = /\r?\n\r?\n/.exec(piece);
  if (!outer) return null;
  const partHeaders = headerLines(piece.slice(0, outer.index));
  const http = piece.slice(outer.index + outer[0].length);
  const lineEnd = http.indexOf("\n");
  const status = /^HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(lineEnd < 0 ? http : http.slice(0, lineEnd));
  if (!status) return null;
  const rest = lineEnd < 0 ? "" : http.slice(lineEnd + 1);
  const gap = /\r?\n\r?\n/.exec(rest);
  const startsBlank = /^\r?\n/.exec(rest);
  const headerBlock = startsBlank ? "" : gap ? rest.slice(0, gap.index) : rest;
  const body = startsBlank
    ? rest.slice(startsBlank[0].length)
    : gap
      ? rest.slice(gap.index + gap[0].length)
      : "";
  const id = partHeaders.get("content-id")?.replace(/^<|>$/g, "") ?? null;
  return {
    contentId: id?.startsWith("response-") ? id.slice("response-".length) : id,
    status: Number(status[1]),
    headers: headerLines(headerBlock),
    body,
  };
}

function headerLines(block: string): Headers {
  const headers = new Headers();
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    try {
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    } catch {
      // A header name Headers refuses carries nothing the sync reads.
    }
  }
  return headers;
}

function boundaryOf(contentType: string): string | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** An answer we cannot read is a bad gateway's: retried as any 5xx. */
function malformed(what: string, headers = new Headers()): GmailHttpError {
  return new GmailHttpError(502, headers, null, `Gmail sent ${what}`);
}

/** fetch's failures, with the cause's code, so gmailCall retries a cut connection or a timeout. */
function networkError(err: unknown, timedOut: boolean): Error {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } })?.cause;
  const code = typeof cause?.code === "string" ? cause.code : timedOut ? "ETIMEDOUT" : "ECONNRESET";
  const detail = typeof cause?.message === "string" ? cause.message : (err as Error)?.message;
  return Object.assign(new Error(`network error talking to Gmail: ${detail ?? String(err)}`), {
    code,
    cause: err,
  });
}
