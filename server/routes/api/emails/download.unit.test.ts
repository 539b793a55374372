import { describe, expect, it } from "vitest";
import { contentDisposition, contentTypeOf } from "./index";

describe("attachment download headers", () => {
  it("names the file in RFC 8187 UTF-8 with a plain-ASCII fallback", () => {
    expect(contentDisposition("Rechnung März €.pdf")).toBe(
      "attachment; filename=\"Rechnung M_rz _.pdf\"; filename*=UTF-8''Rechnung%20M%C3%A4rz%20%E2%82%AC.pdf",
    );
    expect(contentDisposition("report.csv")).toBe(
      "attachment; filename=\"report.csv\"; filename*=UTF-8''report.csv",
    );
  });

  it("lets no quote, semicolon, path separator or line break into the header", () => {
    const header = contentDisposition('../../etc/"passwd";\r\nSet-Cookie: x=1\\evil.html');
    expect(header).not.toMatch(/[\r\n]/);
    expect(header).not.toContain("/");
    expect(header.match(/"/g)).toHaveLength(2);
    expect(header).toMatch(/^attachment; filename="[^"]*"; filename\*=UTF-8''[A-Za-z0-9%._~!-]+$/);
    expect(contentDisposition("")).toBe("attachment; filename=\"attachment\"; filename*=UTF-8''attachment");
  });

  it("serves the stored type without parameters, and anything malformed as bytes", () => {
    expect(contentTypeOf("text/csv")).toBe("text/csv");
    expect(contentTypeOf("Text/HTML; charset=UTF-8")).toBe("text/html");
    expect(contentTypeOf("image/svg+xml")).toBe("image/svg+xml");
    expect(contentTypeOf("")).toBe("application/octet-stream");
    expect(contentTypeOf("text/html\r\nX-Injected: 1")).toBe("application/octet-stream");
    expect(contentTypeOf("not a type")).toBe("application/octet-stream");
  });
});
