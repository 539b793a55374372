/**
 * The few HTTP helpers every route needs: JSON and HTML answers, bounded body reading, and
 * query-string access without building a URL object per request.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ApiError } from "./errors";

const JSON_TYPE = "application/json; charset=UTF-8";
const HTML_TYPE = "text/html; charset=utf-8";
const MAX_BODY_BYTES = 1024 * 1024;
/** Room for a raw message of Gmail's 25 MB in base64, and the JSON around it. */
export const MAX_RAW_BODY_BYTES = 34 * 1024 * 1024;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers?: Record<string, string>,
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": JSON_TYPE,
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "private",
    ...headers,
  });
  res.end(text);
}

export function sendApiError(res: ServerResponse, error: ApiError): void {
  sendJson(res, error.httpStatus, error.body, error.headers);
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    "Content-Type": HTML_TYPE,
    "Content-Length": Buffer.byteLength(html),
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
  });
  res.end(html);
}

export function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { Location: location, "Content-Length": 0, "Cache-Control": "no-store" });
  res.end();
}

export class BodyError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyError(`Request body is larger than ${limit / (1024 * 1024)} MiB.`, 413));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/**
 * A form-encoded or JSON body as flat string fields (what the OAuth endpoints take). An empty body
 * is an empty record.
 */
export async function readFields(req: IncomingMessage): Promise<Record<string, string>> {
  const text = await readBody(req);
  const fields: Record<string, string> = {};
  if (text.trim() === "") return fields;
  const type = (req.headers["content-type"] ?? "").toLowerCase();
  if (type.includes("application/json") || (!type && text.trimStart().startsWith("{"))) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new BodyError("The request body is not valid JSON.", 400);
    }
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
      for (const [key, value] of Object.entries(parsed)) {
        if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
          fields[key] = String(value);
        }
      }
    }
    return fields;
  }
  for (const [key, value] of new URLSearchParams(text)) fields[key] = value;
  return fields;
}

/** A JSON object body; an empty body is `{}`. */
export async function readJsonObject(
  req: IncomingMessage,
  limit = MAX_BODY_BYTES,
): Promise<Record<string, unknown>> {
  const text = await readBody(req, limit);
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BodyError("The request body is not valid JSON.", 400);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new BodyError("The request body must be a JSON object.", 400);
  }
  return parsed as Record<string, unknown>;
}

/** Splits `req.url` into its path and its query. */
export function splitUrl(url: string): { path: string; query: URLSearchParams } {
  const mark = url.indexOf("?");
  if (mark < 0) return { path: url, query: new URLSearchParams() };
  return { path: url.slice(0, mark), query: new URLSearchParams(url.slice(mark + 1)) };
}

/** A repeated query parameter, also accepting comma-separated values (`a=1&a=2` or `a=1,2`). */
export function repeatedParam(query: URLSearchParams, name: string): string[] {
  const out: string[] = [];
  for (const raw of query.getAll(name)) {
    for (const part of raw.split(",")) {
      const value = part.trim();
      if (value) out.push(value);
    }
  }
  return out;
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}
