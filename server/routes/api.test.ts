import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../../test/ApiClient";
import { checkedStack, checkResponses } from "../../test/declaredResponses";
import { type Stack, startStack, waitForTask } from "../../test/stack";

/** The read API and the edges of every route: bad input answers 4xx JSON, never a 500. */
describe("HTTP API", () => {
  let stack: Stack;
  let user: ApiClient;
  let simMessages: Array<{ id: string; labelIds: string[]; features: string[] }>;

  beforeAll(async () => {
    stack = checkedStack(await startStack());
    await stack.simControl("POST", "/sim/accounts", { email: "reader@example.com", count: 130 });
    user = await stack.signIn("reader@example.com");
    const { body } = await user.json("POST", "/api/emails/sync");
    await waitForTask(user, body.taskId);
    simMessages = (await stack.simControl("GET", "/sim/accounts/reader@example.com/messages?limit=1000"))
      .messages;
  });
  afterAll(() => stack?.close());

  it("pages through every email newest first with a cursor", async () => {
    const seen: any[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await user.json("GET", `/api/emails?limit=50${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.emails);
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(130);
    expect(seen.map((e) => e.id)).toEqual(simMessages.map((m) => m.id));
    const dates = seen.map((e) => Date.parse(e.date));
    expect(dates).toEqual([...dates].sort((a, b) => b - a));
    expect(Object.keys(seen[0]).sort()).toEqual([
      "attachmentCount",
      "date",
      "from",
      "id",
      "labels",
      "snippet",
      "subject",
      "threadId",
      "to",
    ]);
    expect(seen[0].to).toContain("reader@example.com");
    // The simulator's messages with the "attachment" feature carry files; no other one does.
    const withFiles = new Set(simMessages.filter((m) => m.features.includes("attachment")).map((m) => m.id));
    expect(withFiles.size).toBeGreaterThan(0);
    for (const e of seen) expect(e.attachmentCount > 0, e.id).toBe(withFiles.has(e.id));
  });

  it("searches subject, sender and snippet", async () => {
    const sample = (await user.json("GET", "/api/emails?limit=1")).body.emails[0];
    const word = sample.subject.split(/\s+/).find((w: string) => w.length > 4 && /^[A-Za-z]+$/.test(w));
    const bySubject = await user.json("GET", `/api/emails?q=${encodeURIComponent(word)}`);
    expect(bySubject.body.emails.length).toBeGreaterThan(0);
    expect(bySubject.body.emails.map((e: any) => e.id)).toContain(sample.id);
    for (const e of bySubject.body.emails) {
      expect(`${e.subject} ${e.from} ${e.snippet}`.toLowerCase()).toContain(word.toLowerCase());
    }
    const sender = sample.from.match(/<([^>]+)>/)?.[1] ?? sample.from;
    const bySender = await user.json("GET", `/api/emails?q=${encodeURIComponent(sender)}`);
    expect(bySender.body.emails.map((e: any) => e.id)).toContain(sample.id);
    const none = await user.json("GET", `/api/emails?q=${encodeURIComponent("%_no-such-words_%")}`);
    expect(none.body).toEqual({ emails: [], nextCursor: null });
  });

  it("answers one email with its headers", async () => {
    const id = simMessages[7]!.id;
    const one = await user.json("GET", `/api/emails/${id}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id, labels: simMessages[7]!.labelIds });
    expect(Object.keys(one.body.headers)).toEqual(expect.arrayContaining(["from", "to", "subject", "date"]));
  });

  it("marks every API answer private and unstorable, with no ETag: lists, the account, errors", async () => {
    const stranger = new ApiClient(stack.web.url);
    const answers = await Promise.all([
      user.raw("GET", "/api/emails?limit=50"),
      user.raw("GET", `/api/emails?limit=5&q=${encodeURIComponent("a")}`),
      user.raw("GET", "/api/me"),
      user.raw("GET", "/api/labels"),
      user.raw("GET", "/api/emails/nope-not-an-id"),
      user.raw("GET", "/api/no-such-route"),
      stranger.raw("GET", "/api/emails"),
    ]);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 404, 404, 401]);
    for (const res of answers) {
      expect(res.headers.get("cache-control")).toBe("private, no-store");
      expect(res.headers.get("etag")).toBeNull();
    }
    // Outside /api the rule does not apply: the health check sets no caching of its own.
    const health = await fetch(`${stack.web.url}/healthz`);
    expect(health.headers.get("cache-control")).toBeNull();
  });

  it("turns bad input into 4xx JSON errors", async () => {
    const cases: Array<[string, string, number, string, string?]> = [
      ["GET", "/api/emails?limit=0", 400, "invalid_limit"],
      ["GET", "/api/emails?limit=abc", 400, "invalid_limit"],
      ["GET", "/api/emails?limit=100000", 400, "invalid_limit"],
      ["GET", "/api/emails?limit=1&limit=2", 400, "invalid_request"],
      ["GET", "/api/emails?cursor=not-a-cursor", 400, "invalid_cursor"],
      ["GET", `/api/emails?cursor=${Buffer.from('["x",1]').toString("base64url")}`, 400, "invalid_cursor"],
      ["GET", `/api/emails?q=${"x".repeat(500)}`, 400, "invalid_query"],
      ["GET", "/api/emails/..%2F..%2Fetc", 400, "invalid_id"],
      ["GET", "/api/emails/doesnotexist", 404, "not_found"],
      ["GET", "/api/emails/sync/status/not-a-uuid", 404, "not_found"],
      ["GET", "/api/emails/sync/status/00000000-0000-4000-8000-000000000000", 404, "not_found"],
      ["GET", "/api/nothing-here", 404, "not_found"],
      ["DELETE", "/api/emails", 404, "not_found"],
      ["GET", "/no-such-page", 404, "not_found"],
      ["POST", "/api/tokens", 400, "invalid_json", "{not json"],
      ["POST", "/api/emails/sync", 400, "invalid_json", '{"a":'],
      ["POST", "/api/tokens", 413, "payload_too_large", JSON.stringify({ name: "x".repeat(100_000) })],
      ["GET", "/auth/google?login_hint=not%20an%20email", 400, "invalid_login_hint"],
      ["GET", "/auth/google/callback?code=x&state=y", 400, "oauth_state_mismatch"],
    ];
    for (const [method, path, status, code, body] of cases) {
      const res = await user.raw(method, path, {
        body,
        headers: body === undefined ? {} : { "content-type": "application/json" },
      });
      const json = await res.json();
      expect({ path, status: res.status, code: json.error?.code }).toEqual({ path, status, code });
      expect(typeof json.error.message).toBe("string");
    }
  });

  it("requires the CSRF token on cookie writes, but not with a bearer token", async () => {
    const saved = user.csrfToken;
    user.csrfToken = null;
    try {
      const refused = await user.json("POST", "/api/tokens", { name: "x" });
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe("csrf_failed");
    } finally {
      user.csrfToken = saved;
    }
    const issued = await user.json("POST", "/api/tokens", { name: "script" });
    expect(issued.status).toBe(201);
    expect(issued.body.token).toMatch(/^isk_/);

    const script = stack.web.url;
    const viaToken = await fetch(`${script}/api/emails?limit=2`, {
      headers: { authorization: `Bearer ${issued.body.token}` },
    });
    expect(viaToken.status).toBe(200);
    expect((await viaToken.json()).emails).toHaveLength(2);
    const sync = await fetch(`${script}/api/emails/sync`, {
      method: "POST",
      headers: { authorization: `Bearer ${issued.body.token}` },
    });
    expect(sync.status).toBe(202);
    await waitForTask(user, (await sync.json()).taskId);
    const bad = await fetch(`${script}/api/me`, { headers: { authorization: "Bearer isk_wrong" } });
    expect(bad.status).toBe(401);
  });

  it("stores OAuth tokens encrypted, never in the clear", async () => {
    const [row] = (await stack.web.ctx.sequelize.query(
      "SELECT a.encrypted_tokens FROM gmail_accounts a JOIN users u ON u.id = a.user_id WHERE u.email = 'reader@example.com'",
      { type: "SELECT" },
    )) as Array<{ encrypted_tokens: string }>;
    // v2.<key id>.<iv>.<tag>.<ciphertext>: see core/gmail/TokenCipher.ts.
    expect(row!.encrypted_tokens).toMatch(/^v2\.[\w-]{8}\.[\w-]{16}\.[\w-]{22}\.[\w-]+$/);
    expect(row!.encrypted_tokens).not.toMatch(/refresh|access_token|ya29|1\/\//);
  });

  it("logs out: the session cookie stops working", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "leaver@example.com", count: 1 });
    const leaver = await stack.signIn("leaver@example.com");
    const forged = await leaver.raw("POST", "/auth/logout", { headers: { "x-csrf-token": "forged" } });
    expect(forged.status).toBe(403);
    expect((await leaver.json("GET", "/api/me")).status).toBe(200);
    const res = await leaver.raw("POST", "/auth/logout");
    expect(res.status).toBe(204);
    expect((await leaver.json("GET", "/api/me")).status).toBe(401);
  });

  it("refuses a sign-in that did not grant Gmail access, in words", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "noscope@example.com", count: 1 });
    const client = checkResponses(new ApiClient(stack.web.url));
    const start = await client.raw("GET", "/auth/google?login_hint=noscope%40example.com");
    // The person unticks Gmail on the consent screen: Google grants only the other scopes.
    const consentUrl = new URL(start.headers.get("location")!);
    consentUrl.searchParams.set("scope", "openid email");
    const consent = await fetch(consentUrl, { redirect: "manual" });
    const callbackUrl = consent.headers.get("location")!;
    const refused = await client.raw("GET", callbackUrl, { headers: { accept: "application/json" } });
    expect(refused.status).toBe(400);
    expect((await refused.json()).error.code).toBe("gmail_scope_missing");
    expect((await client.json("GET", "/api/me")).status).toBe(401);
  });

  it("answers health and readiness", async () => {
    expect((await fetch(`${stack.web.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${stack.web.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ checks: { postgres: "ok", redis: "ok" } });
  });
});
