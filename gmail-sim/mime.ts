/**
 * MIME trees: the seeded messages are built as trees, serialised to RFC 822 for `format=raw`, and
 * walked into Gmail's `payload` for `format=full`; a message added through the control API as raw
 * RFC 822 is parsed back into the same tree, so both kinds answer every format the same way.
 *
 * Leaves hold their bytes after transfer decoding but still in their own charset, because that is
 * what Gmail's `body.data` carries: the client reads the charset from the part's Content-Type.
 */
import { createHash } from "node:crypto";
import { decodeCharset, encodeCharset } from "./charset";

export { decodeCharset, encodeCharset };

export interface Header {
  name: string;
  value: string;
}

export type TransferEncoding = "7bit" | "8bit" | "quoted-printable" | "base64" | "binary";

export interface MimeLeaf {
  kind: "leaf";
  /** The part's own headers (for the root: the whole message's headers). */
  headers: Header[];
  mimeType: string;
  filename: string;
  encoding: TransferEncoding;
  /** Bytes after transfer decoding, in the part's charset. */
  data: Buffer;
}

export interface MimeMultipart {
  kind: "multipart";
  headers: Header[];
  mimeType: string;
  boundary: string;
  parts: MimeNode[];
}

export type MimeNode = MimeLeaf | MimeMultipart;

// ---------------------------------------------------------------------------------------------
// Transfer encodings.

/** RFC 2045 §6.7 quoted-printable; CRLF in the data are kept as hard line breaks. */
export function encodeQuotedPrintable(data: Buffer): string {
  const lines: string[] = [];
  let line = "";
  const push = (token: string) => {
    if (line.length + token.length > 75) {
      lines.push(`${line}=`);
      line = "";
    }
    line += token;
  };
  for (let i = 0; i < data.length; i++) {
    const byte = data[i]!;
    if (byte === 0x0d && data[i + 1] === 0x0a) {
      lines.push(line);
      line = "";
      i++;
      continue;
    }
    // Whitespace ending a line or the data must be encoded (RFC 2045 rule 3).
    const endsLine = i + 1 === data.length || (data[i + 1] === 0x0d && data[i + 2] === 0x0a);
    const literal =
      (byte >= 33 && byte <= 126 && byte !== 61) || ((byte === 0x20 || byte === 0x09) && !endsLine);
    push(literal ? String.fromCharCode(byte) : `=${byte.toString(16).toUpperCase().padStart(2, "0")}`);
  }
  if (line) lines.push(line);
  return lines.join("\r\n");
}

export function decodeQuotedPrintable(text: string): Buffer {
  const soft = text.replace(/=\r?\n/g, "");
  const out: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    const ch = soft.charCodeAt(i);
    if (ch === 61 && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      out.push(Number.parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(ch & 0xff);
  }
  return Buffer.from(out);
}

function encodeBase64Lines(data: Buffer): string {
  return (data.toString("base64").match(/.{1,76}/g) ?? []).join("\r\n");
}

// ---------------------------------------------------------------------------------------------
// Building and serialising.

export function leaf(options: {
  mimeType: string;
  charset?: string;
  encoding: TransferEncoding;
  data: Buffer;
  filename?: string;
  extraHeaders?: Header[];
}): MimeLeaf {
  const filename = options.filename ?? "";
  const type = options.charset
    ? `${options.mimeType}; charset="${options.charset}"`
    : filename
      ? `${options.mimeType}; name="${filename}"`
      : options.mimeType;
  const headers: Header[] = [{ name: "Content-Type", value: type }];
  if (filename) headers.push({ name: "Content-Disposition", value: `attachment; filename="${filename}"` });
  headers.push({ name: "Content-Transfer-Encoding", value: options.encoding });
  if (options.extraHeaders) headers.push(...options.extraHeaders);
  return {
    kind: "leaf",
    headers,
    mimeType: options.mimeType,
    filename,
    encoding: options.encoding,
    data: options.data,
  };
}

export function multipart(
  mimeType: string,
  boundary: string,
  parts: MimeNode[],
  headers?: Header[],
): MimeMultipart {
  return {
    kind: "multipart",
    headers: headers ?? [{ name: "Content-Type", value: `${mimeType}; boundary="${boundary}"` }],
    mimeType,
    boundary,
    parts,
  };
}

function encodedBody(node: MimeLeaf): Buffer {
  switch (node.encoding) {
    case "base64":
      return Buffer.from(encodeBase64Lines(node.data), "latin1");
    case "quoted-printable":
      return Buffer.from(encodeQuotedPrintable(node.data), "latin1");
    default:
      return node.data;
  }
}

/** The node as RFC 822 bytes (its headers, a blank line, its body). */
export function serialize(node: MimeNode): Buffer {
  const head = Buffer.from(`${node.headers.map((h) => `${h.name}: ${h.value}\r\n`).join("")}\r\n`, "latin1");
  if (node.kind === "leaf") return Buffer.concat([head, encodedBody(node)]);
  const chunks: Buffer[] = [head];
  for (const part of node.parts) {
    chunks.push(
      Buffer.from(`--${node.boundary}\r\n`, "latin1"),
      serialize(part),
      Buffer.from("\r\n", "latin1"),
    );
  }
  chunks.push(Buffer.from(`--${node.boundary}--\r\n`, "latin1"));
  return Buffer.concat(chunks);
}

// ---------------------------------------------------------------------------------------------
// Parsing (for messages added as raw RFC 822).

export function headerValue(headers: readonly Header[], name: string): string | undefined {
  const wanted = name.toLowerCase();
  return headers.find((h) => h.name.toLowerCase() === wanted)?.value;
}

/** `type/subtype; a=b; c="d"` → the lower-cased type and its parameters (names lower-cased). */
export function parseParams(value: string | undefined): { value: string; params: Record<string, string> } {
  if (!value) return { value: "", params: {} };
  const [first, ...rest] = value.split(/;(?=(?:[^"]*"[^"]*")*[^"]*$)/);
  const params: Record<string, string> = {};
  for (const item of rest) {
    const eq = item.indexOf("=");
    if (eq < 0) continue;
    const key = item.slice(0, eq).trim().toLowerCase();
    let val = item.slice(eq + 1).trim();
    if (val.startsWith('"') && val.endsWith('"') && val.length >= 2) val = val.slice(1, -1);
    params[key] = val;
  }
  return { value: (first ?? "").trim().toLowerCase(), params };
}

function splitHead(buffer: Buffer): { headers: Header[]; body: Buffer } {
  const text = buffer.toString("latin1");
  const match = /\r?\n\r?\n/.exec(text);
  const headText = match ? text.slice(0, match.index) : text;
  const body = match ? buffer.subarray(match.index + match[0].length) : Buffer.alloc(0);
  const headers: Header[] = [];
  for (const line of headText.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && headers.length > 0) {
      headers[headers.length - 1]!.value += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    headers.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
  }
  return { headers, body };
}

function transferEncodingOf(headers: readonly Header[]): TransferEncoding {
  const value = (headerValue(headers, "Content-Transfer-Encoding") ?? "7bit").trim().toLowerCase();
  return value === "quoted-printable" || value === "base64" || value === "8bit" || value === "binary"
    ? value
    : "7bit";
}

/** Parses an RFC 822 message (or a MIME part) into a tree. Never throws: odd input gives a text leaf. */
export function parseMime(buffer: Buffer, defaultType = "text/plain"): MimeNode {
  const { headers, body } = splitHead(buffer);
  const type = parseParams(headerValue(headers, "Content-Type"));
  const mimeType = type.value || defaultType;
  const boundary = type.params.boundary;
  if (mimeType.startsWith("multipart/") && boundary) {
    const text = body.toString("latin1");
    const delimiter = `--${boundary}`;
    const parts: MimeNode[] = [];
    const pieces = text.split(new RegExp(`(?:^|\\r?\\n)${escapeRegExp(delimiter)}`));
    for (const piece of pieces.slice(1)) {
      if (piece.startsWith("--")) break;
      const content = piece.replace(/^[ \t]*\r?\n/, "");
      const childDefault = mimeType === "multipart/digest" ? "message/rfc822" : "text/plain";
      parts.push(parseMime(Buffer.from(content, "latin1"), childDefault));
    }
    return { kind: "multipart", headers, mimeType, boundary, parts };
  }
  const encoding = transferEncodingOf(headers);
  const rawBody = body.toString("latin1");
  const data =
    encoding === "base64"
      ? Buffer.from(rawBody.replace(/[^A-Za-z0-9+/=_-]/g, ""), "base64")
      : encoding === "quoted-printable"
        ? decodeQuotedPrintable(rawBody)
        : body;
  const disposition = parseParams(headerValue(headers, "Content-Disposition"));
  const filename = disposition.params.filename ?? type.params.name ?? "";
  return { kind: "leaf", headers, mimeType, filename, encoding, data };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// ---------------------------------------------------------------------------------------------
// Reading a tree.

export interface PartRef {
  partId: string;
  node: MimeLeaf;
}

/** Every leaf with its Gmail partId ("" for a single-part message, "0", "1.0", …). */
export function leaves(node: MimeNode, partId = ""): PartRef[] {
  if (node.kind === "leaf") return [{ partId, node }];
  return node.parts.flatMap((child, i) => leaves(child, partId === "" ? String(i) : `${partId}.${i}`));
}

export function charsetOf(node: MimeLeaf): string | undefined {
  return parseParams(headerValue(node.headers, "Content-Type")).params.charset;
}

/** The first text/plain and text/html leaves that are not attachments, decoded to strings. */
export function bodies(root: MimeNode): { text: string; html: string } {
  let text: string | undefined;
  let html: string | undefined;
  for (const { node } of leaves(root)) {
    if (node.filename) continue;
    if (node.mimeType === "text/plain" && text === undefined)
      text = decodeCharset(node.data, charsetOf(node));
    if (node.mimeType === "text/html" && html === undefined) html = decodeCharset(node.data, charsetOf(node));
  }
  return { text: text ?? "", html: html ?? "" };
}

/** Gmail's attachment ids are long opaque strings; these are stable per (message, part). */
export function attachmentIdFor(messageId: string, partId: string): string {
  const digest = createHash("sha256").update(`${messageId}\0${partId}`).digest();
  return `ANGjdJ${Buffer.concat([digest, createHash("sha256").update(digest).digest()]).toString("base64url")}`;
}

function base64url(data: Buffer): string {
  // Gmail's URL-safe base64 keeps the '=' padding.
  return data.toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
}

export { base64url as gmailBase64url };

/** Gmail's `payload` (format=full) for a node. */
export function payloadOf(node: MimeNode, messageId: string, partId = ""): Record<string, unknown> {
  const out: Record<string, unknown> = {
    partId,
    mimeType: node.mimeType,
    filename: node.kind === "leaf" ? node.filename : "",
    headers: node.headers,
  };
  if (node.kind === "multipart") {
    out.body = { size: 0 };
    out.parts = node.parts.map((child, i) =>
      payloadOf(child, messageId, partId === "" ? String(i) : `${partId}.${i}`),
    );
  } else if (node.filename) {
    out.body = { attachmentId: attachmentIdFor(messageId, partId), size: node.data.length };
  } else {
    out.body = { size: node.data.length, data: base64url(node.data) };
  }
  return out;
}

/** The attachment leaf with this id, if any. */
export function findAttachment(
  root: MimeNode,
  messageId: string,
  attachmentId: string,
): MimeLeaf | undefined {
  for (const { partId, node } of leaves(root)) {
    if (node.filename && attachmentIdFor(messageId, partId) === attachmentId) return node;
  }
  return undefined;
}

/** Attachments as an app would list them. */
export function attachmentsOf(
  root: MimeNode,
  messageId: string,
): { partId: string; filename: string; mimeType: string; size: number; attachmentId: string }[] {
  return leaves(root)
    .filter(({ node }) => node.filename)
    .map(({ partId, node }) => ({
      partId,
      filename: node.filename,
      mimeType: node.mimeType,
      size: node.data.length,
      attachmentId: attachmentIdFor(messageId, partId),
    }));
}
