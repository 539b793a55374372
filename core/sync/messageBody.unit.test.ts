import type { gmail_v1 } from "@googleapis/gmail";
import iconv from "iconv-lite";
import { describe, expect, it } from "vitest";
import { charsetOf, contentIdOf, decodePartData, messageBody } from "./messageBody";

type Part = gmail_v1.Schema$MessagePart;

const CP1252 = "Le café coûte 5 € – “très” cher… n’est-ce pas?";
const LATIN1 = "Grüße aus Köln, à bientôt: 12½ Franken, 3 £.";

/** A body part as Gmail sends it: bytes in the part's charset, base64url. */
function leaf(mimeType: string, text: string, charset = "UTF-8", extra: Partial<Part> = {}): Part {
  const bytes = iconv.encode(text, charset);
  return {
    partId: "",
    mimeType,
    filename: "",
    headers: [{ name: "Content-Type", value: `${mimeType}; charset="${charset}"` }],
    body: { size: bytes.length, data: bytes.toString("base64url") },
    ...extra,
  };
}

const multipart = (mimeType: string, ...parts: Part[]): Part => ({
  partId: "",
  mimeType,
  filename: "",
  headers: [{ name: "Content-Type", value: `${mimeType}; boundary="b"` }],
  body: { size: 0 },
  parts,
});

const file = (filename: string, mimeType: string, size: number, attachmentId: string): Part => ({
  partId: "1",
  mimeType,
  filename,
  headers: [
    { name: "Content-Type", value: `${mimeType}; name="${filename}"` },
    { name: "Content-Disposition", value: `attachment; filename="${filename}"` },
  ],
  body: { size, attachmentId },
});

describe("messageBody (Gmail format=full part trees)", () => {
  it("reads windows-1252 bytes 0x80-0x9F as the euro sign and curly quotes, which TextDecoder garbles", () => {
    const data = iconv.encode(CP1252, "windows-1252").toString("base64url");
    expect(decodePartData(data, "windows-1252")).toBe(CP1252);
    expect(decodePartData(data, "cp1252")).toBe(CP1252);
  });

  it("reads ISO-8859-1 and us-ascii labels the way browsers do, and an unknown charset as UTF-8", () => {
    expect(decodePartData(iconv.encode(LATIN1, "latin1").toString("base64url"), "iso-8859-1")).toBe(LATIN1);
    // Labelled ISO-8859-1 but written by a windows-1252 program: still the euro sign.
    expect(decodePartData(Buffer.from([0x80]).toString("base64url"), "iso-8859-1")).toBe("€");
    expect(decodePartData(Buffer.from("Zürich ✓").toString("base64url"), "us-ascii")).toBe("Zürich ✓");
    expect(decodePartData(Buffer.from("Zürich").toString("base64url"), "x-no-such-charset")).toBe("Zürich");
    expect(decodePartData(Buffer.from("a\u0000b").toString("base64url"), "utf-8")).toBe("ab");
  });

  it("finds the charset parameter quoted, bare, in any case, or not at all", () => {
    expect(charsetOf('text/plain; charset="ISO-8859-1"')).toBe("iso-8859-1");
    expect(charsetOf("text/plain; format=flowed; CHARSET=Windows-1252")).toBe("windows-1252");
    expect(charsetOf("text/plain")).toBeUndefined();
    expect(charsetOf(undefined)).toBeUndefined();
  });

  it("takes text and HTML from multipart/mixed → alternative and lists the attachment without its data", () => {
    const payload = multipart(
      "multipart/mixed",
      multipart(
        "multipart/alternative",
        leaf("text/plain", `${CP1252}\r\n`, "windows-1252"),
        leaf("text/html", `<p>${CP1252}</p>`, "windows-1252"),
      ),
      file("report-7.pdf", "application/pdf", 4096, "ANGjdJ-att-1"),
    );
    expect(messageBody(payload)).toEqual({
      text: `${CP1252}\r\n`,
      html: `<p>${CP1252}</p>`,
      attachments: [
        { attachmentId: "ANGjdJ-att-1", filename: "report-7.pdf", mimeType: "application/pdf", size: 4096 },
      ],
    });
  });

  it("reads a single-part message, and one with only HTML, leaving the other body null", () => {
    expect(messageBody(leaf("text/plain", LATIN1, "ISO-8859-1"))).toEqual({
      text: LATIN1,
      html: null,
      attachments: [],
    });
    expect(messageBody(multipart("multipart/alternative", leaf("text/html", "<b>x</b>")))).toEqual({
      text: null,
      html: "<b>x</b>",
      attachments: [],
    });
    expect(messageBody(undefined)).toEqual({ text: null, html: null, attachments: [] });
  });

  it("prefers the last alternative of each kind and looks into multipart/related for the HTML and inline images", () => {
    const inline: Part = {
      ...file("logo.png", "image/png", 120, "ANGjdJ-logo"),
      headers: [{ name: "Content-Disposition", value: 'inline; filename="logo.png"' }],
    };
    const payload = multipart(
      "multipart/alternative",
      leaf("text/plain", "plain one"),
      leaf("text/plain", "plain two"),
      multipart("multipart/related", leaf("text/html", '<img src="cid:logo">'), inline),
    );
    expect(messageBody(payload)).toEqual({
      text: "plain two",
      html: '<img src="cid:logo">',
      attachments: [{ attachmentId: "ANGjdJ-logo", filename: "logo.png", mimeType: "image/png", size: 120 }],
    });
  });

  it("lists an inline image's Content-ID without its angle brackets, so the HTML's cid: URL finds it", () => {
    const image = (contentId: string | null, xAttachmentId?: string): Part => ({
      ...file("logo.png", "image/png", 120, "ANGjdJ-logo"),
      headers: [
        { name: "Content-Disposition", value: 'inline; filename="logo.png"' },
        ...(contentId === null ? [] : [{ name: "content-id", value: contentId }]),
        ...(xAttachmentId ? [{ name: "X-Attachment-Id", value: xAttachmentId }] : []),
      ],
    });
    const idOf = (part: Part) =>
      messageBody(multipart("multipart/related", leaf("text/html", "<p>hi</p>"), part)).attachments[0]
        ?.contentId;
    expect(idOf(image("<logo.png@01DA1B2C>"))).toBe("logo.png@01DA1B2C");
    expect(idOf(image("  < ii_18c4f2a9 >  "))).toBe("ii_18c4f2a9");
    // Gmail's own header when the part has no Content-ID; none at all lists no contentId.
    expect(idOf(image(null, "ii_abc123"))).toBe("ii_abc123");
    expect(
      messageBody(multipart("multipart/related", leaf("text/html", "x"), image(null))).attachments[0],
    ).toEqual({
      attachmentId: "ANGjdJ-logo",
      filename: "logo.png",
      mimeType: "image/png",
      size: 120,
    });
    expect(contentIdOf({ headers: [{ name: "Content-ID", value: "<>" }] })).toBeUndefined();
  });

  it("joins several inline text parts of a multipart/mixed, and never reads an attachment as the body", () => {
    const textFile: Part = { ...leaf("text/plain", "a,b\n1,2\n"), filename: "data.csv" };
    textFile.body = { size: 8, attachmentId: "ANGjdJ-csv" };
    const payload = multipart(
      "multipart/mixed",
      leaf("text/plain", "first"),
      textFile,
      leaf("text/plain", "second"),
    );
    expect(messageBody(payload)).toEqual({
      text: "first\n\nsecond",
      html: null,
      attachments: [{ attachmentId: "ANGjdJ-csv", filename: "data.csv", mimeType: "text/plain", size: 8 }],
    });
  });

  it("skips a named part Gmail sent inline (no attachmentId to fetch it by) and a forwarded message's inner parts", () => {
    const inlineData: Part = { ...leaf("text/plain", "x"), filename: "note.txt" };
    const forwarded = multipart("message/rfc822", leaf("text/plain", "inner"));
    expect(
      messageBody(multipart("multipart/mixed", leaf("text/plain", "outer"), inlineData, forwarded)),
    ).toEqual({
      text: "outer",
      html: null,
      attachments: [],
    });
  });
});
