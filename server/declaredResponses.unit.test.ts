import { describe, expect, it } from "vitest";
import { declaredRoute, expectDeclared } from "../test/declaredResponses";

const page = {
  emails: [
    {
      id: "m1",
      threadId: "t1",
      from: "a@example.com",
      to: "b@example.com",
      subject: "Hi",
      snippet: "Hello",
      date: "2026-01-01T00:00:00.000Z",
      labels: ["INBOX"],
      attachmentCount: 0,
    },
  ],
  nextCursor: null,
};

/** The check the API tests run on every answer (test/declaredResponses.ts). */
describe("answers checked against the routes' declared schemas", () => {
  it("finds the route of a URL, literal paths before ones with parameters", () => {
    expect(declaredRoute("GET", "/api/emails?limit=5")?.path).toBe("/api/emails");
    expect(declaredRoute("GET", "/api/emails/abc")?.path).toBe("/api/emails/:id");
    expect(declaredRoute("POST", "/api/emails/sync")?.path).toBe("/api/emails/sync");
    expect(declaredRoute("GET", "/no/such/route")).toBeUndefined();
  });

  it("passes a declared answer, and shared middleware answers such as 401 and 413", () => {
    expect(() => expectDeclared("GET", "/api/emails", 200, page)).not.toThrow();
    const unauthorized = { error: { code: "unauthorized", message: "Sign in first." } };
    expect(() => expectDeclared("GET", "/api/emails", 401, unauthorized)).not.toThrow();
    const tooLarge = { error: { code: "payload_too_large", message: "Too large." } };
    expect(() => expectDeclared("POST", "/api/tokens", 413, tooLarge)).not.toThrow();
    expect(() => expectDeclared("DELETE", "/api/tokens/x", 204, null)).not.toThrow();
  });

  it("fails an undeclared status, a missing or extra field, a wrong type, and a body where none is declared", () => {
    expect(() => expectDeclared("GET", "/api/emails", 418, page)).toThrow(/status not declared/);
    const { labels: _, ...missing } = page.emails[0]!;
    expect(() => expectDeclared("GET", "/api/emails", 200, { ...page, emails: [missing] })).toThrow(/labels/);
    const extra = { ...page, emails: [{ ...page.emails[0], body: "leaked" }] };
    expect(() => expectDeclared("GET", "/api/emails", 200, extra)).toThrow(/body/);
    expect(() => expectDeclared("GET", "/api/emails", 200, { ...page, nextCursor: 5 })).toThrow(/nextCursor/);
    expect(() => expectDeclared("DELETE", "/api/tokens/x", 204, { ok: true })).toThrow(/without a body/);
  });
});
