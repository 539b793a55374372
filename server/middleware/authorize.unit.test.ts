import { describe, expect, it } from "vitest";
import { TOKEN_SCOPES } from "../../core/auth/scopes";
import type { Principal } from "../../core/services/SessionService";
import { openApiDocument, ROUTES } from "../openapi";
import { routeFinder } from "../routes/api/route";
import { authorize } from "./authenticate";

const find = routeFinder(ROUTES);
const token = (...scopes: (typeof TOKEN_SCOPES)[number][]): Principal => ({
  userId: "u",
  tokenId: "t",
  scopes,
  via: "token",
});
const session: Principal = { userId: "u", sessionId: "s", csrfToken: "c", via: "session" };
const codeOf = (fn: () => void): string | null => {
  try {
    fn();
    return null;
  } catch (err) {
    return (err as { code: string }).code;
  }
};

describe("route scopes", () => {
  it("finds a request's declared route: literal paths first, any case, a trailing slash", () => {
    expect(find("POST", "/api/emails/sync")?.path).toBe("/api/emails/sync");
    expect(find("GET", "/api/emails/abc")?.path).toBe("/api/emails/:id");
    expect(find("GET", "/API/Emails/abc/")?.path).toBe("/api/emails/:id");
    expect(find("GET", "/api/emails/sync/status/t1")?.path).toBe("/api/emails/sync/status/:taskId");
    expect(find("DELETE", "/api/emails/abc")).toBeUndefined();
    expect(find("GET", "/api/nowhere")).toBeUndefined();
  });

  it("a token needs the route's scope (403 insufficient_scope), a session never does", () => {
    const emails = find("GET", "/api/emails")!;
    const sync = find("POST", "/api/emails/sync")!;
    expect(codeOf(() => authorize(token("sync"), emails))).toBe("insufficient_scope");
    expect(codeOf(() => authorize(token("read"), emails))).toBeNull();
    expect(codeOf(() => authorize(token("read"), sync))).toBe("insufficient_scope");
    expect(codeOf(() => authorize(token("sync"), sync))).toBeNull();
    expect(codeOf(() => authorize(session, sync))).toBeNull();
  });

  it("session routes refuse every token; an undeclared path is a token's 404; revoking itself needs no scope", () => {
    expect(codeOf(() => authorize(token(...TOKEN_SCOPES), find("POST", "/api/tokens")))).toBe(
      "session_required",
    );
    expect(codeOf(() => authorize(token(...TOKEN_SCOPES), find("DELETE", "/api/account")))).toBe(
      "session_required",
    );
    expect(codeOf(() => authorize(token(...TOKEN_SCOPES), undefined))).toBe("not_found");
    expect(codeOf(() => authorize(session, undefined))).toBeNull();
    expect(codeOf(() => authorize(token(), find("DELETE", "/api/tokens/x")))).toBeNull();
  });

  it("every route a token may call names its scope, and only known scopes", () => {
    for (const route of ROUTES.filter((r) => r.auth === "session_or_token")) {
      expect({ path: route.path, has: "scope" in route }).toEqual({ path: route.path, has: true });
      if (route.scope) expect(TOKEN_SCOPES).toContain(route.scope);
    }
  });

  it("the OpenAPI document shows each operation's scope, the 403s, and the token fields", () => {
    const doc = openApiDocument() as any;
    const list = doc.paths["/api/emails"].get;
    expect(list.security).toEqual([{ bearer: ["read"] }, { session: [] }]);
    expect(list.responses["403"].description).toMatch(/insufficient_scope/);
    expect(doc.paths["/api/emails/sync"].post.security).toEqual([{ bearer: ["sync"] }, { session: [] }]);
    expect(doc.paths["/api/tokens"].post.security).toEqual([{ session: [] }]);
    expect(doc.paths["/api/tokens"].get.responses["401"].description).toMatch(/token_expired/);
    const body = JSON.stringify(doc.paths["/api/tokens"].post.requestBody);
    expect(body).toMatch(/"scopes"/);
    expect(body).toMatch(/"expiresInDays"/);
    expect(Object.keys(doc.components.schemas.TokenInfo.properties)).toEqual(
      expect.arrayContaining(["scopes", "expiresAt"]),
    );
    expect(doc.components.schemas.TokenScope.enum).toEqual([...TOKEN_SCOPES]);
  });
});
