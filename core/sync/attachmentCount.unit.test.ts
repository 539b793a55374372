import { describe, expect, it } from "vitest";
import { attachmentCount } from "./attachmentCount";
import type { MailAttachment } from "./MailStore";

const part = (name: string, contentId?: string): MailAttachment => ({
  attachmentId: `A-${name}`,
  filename: name,
  mimeType: "application/octet-stream",
  size: 10,
  ...(contentId ? { contentId } : {}),
});

describe("attachmentCount: the files a message shows, not the images its HTML shows inline", () => {
  it("counts every part of a message without HTML, Content-IDs or not", () => {
    expect(attachmentCount([], null)).toBe(0);
    expect(attachmentCount([part("a.pdf"), part("b.pdf", "f_123")], null)).toBe(2);
  });

  it("leaves out the parts the HTML shows through cid: URLs, in markup and in CSS", () => {
    const html =
      '<img src="cid:logo@x"><div style="background:url(cid:bg@x)"></div><img src=\'CID:%3Cphoto%40x%3E\'>';
    const parts = [
      part("logo.png", "logo@x"),
      part("bg.png", "bg@x"),
      part("photo.jpg", "photo@x"),
      part("a.pdf"),
    ];
    expect(attachmentCount(parts, html)).toBe(1);
  });

  it("counts a part whose Content-ID the HTML does not name, even when another id begins with it", () => {
    const html = '<img src="cid:logo@x.long">';
    expect(attachmentCount([part("logo.png", "logo@x"), part("other.png", "ii_abc")], html)).toBe(2);
  });

  it("matches Content-IDs without regard to case", () => {
    expect(attachmentCount([part("logo.png", "Logo@X")], '<img src="cid:LOGO@x">')).toBe(0);
  });
});
