/**
 * Gmail's batch endpoint, `POST /batch/gmail/v1`, as Google documents it
 * (developers.google.com/gmail/api/guides/batch): one `multipart/mixed` request whose parts are
 * `application/http` requests (a request line, headers, a blank line, an optional body), at most
 * 100 of them. The outer request's headers (Authorization) apply to every part unless the part
 * sets its own. The answer is `multipart/mixed` too, one `application/http` response per part in
 * the same order, each `Content-ID: <response-…>` for a part that had `Content-ID: <…>`.
 *
 * Each part is a call of its own in every respect: it is served by the ordinary Gmail route handler
 * (latency, faults, authentication, quota units, stats), so a batch of n calls costs what n calls
 * cost, as Google says. It saves HTTP round trips, not quota. The parts are handed to that handler
 * in-process rather than over loopback HTTP: at Google a batch's parts cost the caller's machine
 * nothing, and here the simulator shares the machine with the worker and PostgreSQL it serves.
 */
import { randomBytes } from "node:crypto";
import { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import { Readable } from "node:stream";
import { gmailErrors } from "./errors";
import { GMAIL_PREFIX, handleGmailApi } from "./gmailApi";
import { BodyError, sendApiError, splitUrl } from "./respond";
import type { SimulatorState } from "./state";

export const BATCH_PATHS = new Set(["/batch/gmail/v1", "/batch"]);
/** Google's documented limit of calls in one batch. */
export const MAX_BATCH_PARTS = 100;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

interface InnerRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  contentId: string | null;
}

interface InnerResponse {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Answers `POST /batch/gmail/v1`. */
export function handleBatch(state: SimulatorState, req: IncomingMessage, res: ServerResponse): void {
  serveBatch(state, req, res).catch((error) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    sendApiError(res, gmailErrors.invalidArgument(message));
  });
}

/**
 * The page Google's front end answers for a URL it does not serve (or a method it refuses there),
 * as an endpoint taken away would answer.
 */
function refuseBatch(res: ServerResponse, status: 404 | 405 | 501, method: string, path: string): void {
  const title = `Error ${status} (${STATUS_CODES[status]})!!1`;
  const detail = {
    404: `The requested URL <code>${path}</code> was not found on this server.`,
    405: `The request method <code>${method}</code> is inappropriate for the URL <code>${path}</code>.`,
    501: "The server does not support the functionality required to fulfill the request.",
  }[status];
  const html = `<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>${title}</title>\n  <p><b>${status}.</b> <ins>That’s an error.</ins>\n  <p>${detail}  <ins>That’s all we know.</ins>\n`;
  res.writeHead(status, {
    "Content-Type": "text/html; charset=UTF-8",
    "Content-Length": Buffer.byteLength(html),
  });
  res.end(html);
}

/** The request's parts, or (answered already) why the batch as a whole is refused. */
async function readBatch(
  req: IncomingMessage,
  res: ServerResponse,
): Promise<Array<InnerRequest | Error> | undefined> {
  const type = req.headers["content-type"] ?? "";
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(type);
  if (!/^multipart\/mixed/i.test(type) || !boundary) {
    sendApiError(
      res,
      gmailErrors.invalidArgument("A batch request must be multipart/mixed with a boundary."),
    );
    return undefined;
  }
  const text = await readRaw(req);
  const parts = parseParts(text, boundary[1] ?? boundary[2]!);
  if (parts.length === 0) {
    sendApiError(res, gmailErrors.invalidArgument("The batch request has no parts."));
    return undefined;
  }
  if (parts.length > MAX_BATCH_PARTS) {
    sendApiError(
      res,
      gmailErrors.invalidArgument(`A batch request cannot contain more than ${MAX_BATCH_PARTS} requests.`),
    );
    return undefined;
  }
  return parts;
}

/** One part of the multipart answer: the inner HTTP response, or a 400 for a part that did not parse. */
function responsePart(out: string, part: InnerRequest | Error, answer: InnerResponse | Error): string {
  const id = !(part instanceof Error) && part.contentId ? `Content-ID: <response-${part.contentId}>\r\n` : "";
  const r: InnerResponse =
    answer instanceof Error
      ? {
          status: 400,
          statusText: "Bad Request",
          headers: { "content-type": "application/json; charset=UTF-8" },
          body: JSON.stringify(gmailErrors.invalidArgument(answer.message).body),
        }
      : answer;
  const headers = Object.entries(r.headers)
    .filter(([k]) => !["content-length", "connection", "keep-alive", "date", "transfer-encoding"].includes(k))
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : v}`)
    .join("\r\n");
  return `--${out}\r\nContent-Type: application/http\r\n${id}\r\nHTTP/1.1 ${r.status} ${r.statusText}\r\n${headers}\r\nContent-Length: ${Buffer.byteLength(r.body)}\r\n\r\n${r.body}\r\n`;
}

async function serveBatch(state: SimulatorState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (state.batchRefusal !== null) {
    req.resume();
    refuseBatch(res, state.batchRefusal, req.method ?? "POST", (req.url ?? "").split("?")[0]!);
    return;
  }
  if (req.method !== "POST") {
    sendApiError(res, gmailErrors.notFound());
    return;
  }
  const parts = await readBatch(req, res);
  if (!parts) return;
  const inherited: Record<string, string> = {};
  if (req.headers.authorization) inherited.authorization = req.headers.authorization;
  // Google runs the parts in no promised order; they are answered in the order asked.
  const answers = await Promise.all(
    parts.map((p) => (p instanceof Error ? p : serveInner(state, { ...inherited, ...p.headers }, p))),
  );
  const out = `batch_${randomBytes(12).toString("hex")}`;
  const chunks = answers.map((answer, i) => responsePart(out, parts[i]!, answer));
  chunks.push(`--${out}--\r\n`);
  const body = chunks.join("");
  res.writeHead(200, {
    "Content-Type": `multipart/mixed; boundary=${out}`,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "private",
  });
  res.end(body);
}

function readRaw(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BATCH_BYTES) {
        reject(new BodyError("The batch request is too large.", 413));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** The parts of a multipart/mixed body, each an inner request or why it could not be read. */
export function parseParts(text: string, boundary: string): Array<InnerRequest | Error> {
  const delimiter = `--${boundary}`;
  const pieces = text.split(delimiter);
  const out: Array<InnerRequest | Error> = [];
  // Before the first delimiter is the preamble; from the closing `--boundary--` on, the epilogue.
  for (const raw of pieces.slice(1)) {
    if (raw.startsWith("--")) break;
    const piece = raw.replace(/^\r?\n/, "");
    const split = /\r?\n\r?\n/.exec(piece);
    if (!split) {
      out.push(new Error("A batch part has no blank line after its headers."));
      continue;
    }
    const partHeaders = headerMap(piece.slice(0, split.index));
    const inner = piece.slice(split.index + split[0].length);
    if (!(partHeaders["content-type"] ?? "").toLowerCase().startsWith("application/http")) {
      out.push(new Error("Each batch part must be Content-Type: application/http."));
      continue;
    }
    const contentId = partHeaders["content-id"]?.replace(/^<|>$/g, "") ?? null;
    const lineEnd = inner.search(/\r?\n/);
    const requestLine = (lineEnd < 0 ? inner : inner.slice(0, lineEnd)).trim();
    const match = /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/\d(?:\.\d)?)?$/.exec(requestLine);
    if (!match) {
      out.push(new Error(`Bad request line in a batch part: "${requestLine}"`));
      continue;
    }
    const rest = lineEnd < 0 ? "" : inner.slice(lineEnd).replace(/^\r?\n/, "");
    const gap = /\r?\n\r?\n/.exec(rest);
    const headers = headerMap(gap ? rest.slice(0, gap.index) : rest);
    const body = gap ? rest.slice(gap.index + gap[0].length).replace(/\r?\n$/, "") : "";
    let path = match[2]!;
    // A part may name the full URL; only its path and query are served.
    if (/^https?:\/\//i.test(path)) {
      const url = new URL(path);
      path = url.pathname + url.search;
    }
    out.push({ method: match[1]!, path, headers, body, contentId });
  }
  return out;
}

function headerMap(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** A part's answer until it is complete: what the route handler writes to its response. */
class PartResponse {
  statusCode = 200;
  headersSent = false;
  writableEnded = false;
  destroyed = false;
  private headers: Record<string, string> = {};

  constructor(private readonly done: (answer: InnerResponse) => void) {}

  setHeader(name: string, value: number | string | readonly string[]): this {
    this.headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
    return this;
  }

  writeHead(status: number, headers?: Record<string, number | string | readonly string[]>): this {
    this.statusCode = status;
    for (const [k, v] of Object.entries(headers ?? {})) this.setHeader(k, v);
    this.headersSent = true;
    return this;
  }

  end(body?: string | Buffer): this {
    if (this.writableEnded) return this;
    this.writableEnded = true;
    this.done({
      status: this.statusCode,
      statusText: STATUS_CODES[this.statusCode] ?? "",
      headers: this.headers,
      body: body === undefined ? "" : String(body),
    });
    return this;
  }

  // The handler listens for nothing on a response; these keep the shape it may expect.
  on(): this {
    return this;
  }

  once(): this {
    return this;
  }
}

/**
 * One part, handed to the simulator's own Gmail route handler. A part cut off by an injected
 * reset is answered as Google's backend error, not by dropping the whole batch.
 */
function serveInner(
  state: SimulatorState,
  headers: Record<string, string>,
  part: InnerRequest,
): Promise<InnerResponse> {
  return new Promise((resolve) => {
    const unavailable = () =>
      resolve({
        status: 503,
        statusText: "Service Unavailable",
        headers: { "content-type": "application/json; charset=UTF-8" },
        body: JSON.stringify(gmailErrors.unavailable().body),
      });
    const res = new PartResponse(resolve);
    const req = Object.assign(Readable.from(part.body ? [Buffer.from(part.body)] : []), {
      method: part.method,
      url: part.path,
      headers: part.body ? { ...headers, "content-length": String(Buffer.byteLength(part.body)) } : headers,
      socket: {
        destroy: () => {
          res.destroyed = true;
          unavailable();
        },
      },
    });
    const { path, query } = splitUrl(part.path);
    if (!path.startsWith(GMAIL_PREFIX)) {
      sendApiError(res as unknown as ServerResponse, gmailErrors.notFound());
      return;
    }
    try {
      handleGmailApi(state, req as unknown as IncomingMessage, res as unknown as ServerResponse, path, query);
    } catch {
      unavailable();
    }
  });
}
