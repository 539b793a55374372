import { describe, expect, it } from "vitest";
import { frameCsp, inlinePart } from "./mailFrame";

describe("inline images (cid: URLs, RFC 2392)", () => {
  const inlineImageUrl = (src: string, inline: ReadonlyMap<string, string>) => inlinePart(src, inline)?.[1];
  const parts = new Map([
    ["logo.png@01DA1B2C", "https://app.example/api/emails/m1/attachments/A1"],
    ["ii_Photo", "https://app.example/api/emails/m1/attachments/A2"],
  ]);

  it("points a cid: URL at the download of the part with that Content-ID, %-encoded or not", () => {
    expect(inlineImageUrl("cid:logo.png@01DA1B2C", parts)).toBe(
      "https://app.example/api/emails/m1/attachments/A1",
    );
    expect(inlineImageUrl(" CID:logo.png%4001DA1B2C ", parts)).toBe(
      "https://app.example/api/emails/m1/attachments/A1",
    );
    // Angle brackets a sender left in, and a case the sender changed: still the same part.
    expect(inlineImageUrl("cid:<logo.png@01DA1B2C>", parts)).toBe(
      "https://app.example/api/emails/m1/attachments/A1",
    );
    expect(inlineImageUrl("cid:ii_photo", parts)).toBe("https://app.example/api/emails/m1/attachments/A2");
  });

  it("finds nothing for a Content-ID the message does not list, a broken escape, or another scheme", () => {
    expect(inlineImageUrl("cid:other@x", parts)).toBeUndefined();
    expect(inlineImageUrl("cid:%E0%A4%A", parts)).toBeUndefined();
    expect(inlineImageUrl("https://app.example/api/emails/m1/attachments/A1", parts)).toBeUndefined();
  });

  it("lets the frame load images from the message's own parts only when it shows some", () => {
    expect(frameCsp(false)).toBe("default-src 'none'; img-src data: cid:; form-action 'none'");
    const source = "https://app.example/api/emails/m1/attachments/";
    expect(frameCsp(false, source)).toBe(
      `default-src 'none'; img-src data: cid: ${source}; form-action 'none'`,
    );
    expect(frameCsp(true, source)).toBe(
      `default-src 'none'; img-src data: cid: ${source} https:; form-action 'none'`,
    );
  });
});
