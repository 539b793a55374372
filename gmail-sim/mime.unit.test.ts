/**
 * The simulator's MIME building blocks: quoted-printable both ways, windows-1252/ISO-8859-1
 * encoding, and a serialised tree parsing back to the same parts and bytes.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeCharset,
  decodeQuotedPrintable,
  encodeCharset,
  encodeQuotedPrintable,
  leaf,
  leaves,
  multipart,
  parseMime,
  serialize,
} from "./mime";

describe("gmail-sim MIME", () => {
  it("quoted-printable round-trips any bytes, in lines of at most 76 characters of printable ASCII", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (array) => {
        const bytes = Buffer.from(array);
        const encoded = encodeQuotedPrintable(bytes);
        expect(/^[\t\r\n\x20-\x7e]*$/.test(encoded)).toBe(true);
        for (const line of encoded.split("\r\n")) {
          expect(line.length).toBeLessThanOrEqual(76);
          expect(/[ \t]$/.test(line)).toBe(false);
        }
        expect(decodeQuotedPrintable(encoded).equals(bytes)).toBe(true);
      }),
    );
  });

  it("encodes windows-1252's euro sign and curly quotes as 0x80-0x9F and reads them back", () => {
    const text = "5 € – “très” n’est";
    const bytes = encodeCharset(text, "windows-1252");
    expect([...bytes.subarray(2, 3)]).toEqual([0x80]);
    expect(bytes.includes(0x93) && bytes.includes(0x94) && bytes.includes(0x92)).toBe(true);
    expect(decodeCharset(bytes, "windows-1252")).toBe(text);
    expect(decodeCharset(encodeCharset("Grüße ½ £", "ISO-8859-1"), "ISO-8859-1")).toBe("Grüße ½ £");
    expect(encodeCharset("東", "ISO-8859-1").toString("latin1")).toBe("?");
  });

  it("parses a serialised tree back to the same types, names and bytes in every transfer encoding", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 300 }),
        fc.uint8Array({ minLength: 1, maxLength: 2000 }),
        fc.constantFrom("7bit", "quoted-printable", "base64") as fc.Arbitrary<
          "7bit" | "quoted-printable" | "base64"
        >,
        (text, file, encoding) => {
          const safe = encoding === "7bit" ? text.replace(/[^\x20-\x7e]/g, "") : text;
          const tree = multipart("multipart/mixed", "outer-b", [
            multipart("multipart/alternative", "inner-b", [
              leaf({ mimeType: "text/plain", charset: "UTF-8", encoding, data: Buffer.from(safe) }),
              leaf({
                mimeType: "text/html",
                charset: "UTF-8",
                encoding: "base64",
                data: Buffer.from(`<p>${safe}</p>`),
              }),
            ]),
            leaf({
              mimeType: "application/pdf",
              encoding: "base64",
              data: Buffer.from(file),
              filename: "a b.pdf",
            }),
          ]);
          tree.headers = [{ name: "Subject", value: "x" }, ...tree.headers];
          const parsed = parseMime(serialize(tree));
          const got = leaves(parsed).map(({ partId, node }) => [
            partId,
            node.mimeType,
            node.filename,
            node.data,
          ]);
          expect(got).toEqual([
            ["0.0", "text/plain", "", Buffer.from(safe)],
            ["0.1", "text/html", "", Buffer.from(`<p>${safe}</p>`)],
            ["1", "application/pdf", "a b.pdf", Buffer.from(file)],
          ]);
        },
      ),
      { numRuns: 60 },
    );
  });
});
