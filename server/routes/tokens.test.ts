import { createHash } from "node:crypto";
import { QueryTypes } from "sequelize";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TOKEN_CAP } from "../../core/services/SessionService";
import type { ApiClient } from "../../test/ApiClient";
import { checkedStack } from "../../test/declaredResponses";
import { connectSocket, disconnection, refusal, type TaskSocket } from "../../test/socketClient";
import { type Stack, startStack } from "../../test/stack";

const sha256 = (v: string) => createHash("sha256").update(v).digest("hex");

/** API tokens: list without secrets, expiry, a per-user cap, revocation that reaches every node. */
describe("API tokens", () => {
  let stack: Stack;
  const sockets: TaskSocket[] = [];
  let n = 0;

  beforeAll(async () => {
    // Sockets are rechecked every 4 s: one closed within 1 s was closed by the revocation itself.
    stack = checkedStack(await startStack({ webs: 2, env: { SOCKET_RECHECK_SECONDS: "4" } }));
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(() => stack?.close());

  async function newUser(): Promise<ApiClient> {
    const email = `tokens-${++n}@example.com`;
    await stack.simControl("POST", "/sim/accounts", { email, count: 2 });
    return stack.signIn(email);
  }

  const query = <T extends object>(sql: string, replacements: Record<string, unknown>) =>
    stack.web.ctx.sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT });

  /**
   * Tests here move rows back in time, not the nodes' clocks: what each node's 30 s principal
   * cache holds runs out as those 30 s would.
   */
  const forgetCachedPrincipals = () => {
    for (const web of stack.webs) web.ctx.sessions.principalCache?.clear();
  };

  const bearer = (node: number, token: string, path = "/api/me", method = "GET") =>
    fetch(`${stack.webs[node]!.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });

  async function tokenSocket(node: number, token: string): Promise<TaskSocket> {
    const socket = await connectSocket(stack.webs[node]!.url, { token });
    sockets.push(socket);
    return socket;
  }

  it("lists name, created, last used, expiry and scopes of each token, never the secret or its hash", async () => {
    const user = await newUser();
    const forever = await user.json("POST", "/api/tokens", { name: "backup script" });
    const weekly = await user.json("POST", "/api/tokens", { name: "  cron  ", expiresInDays: 7 });
    expect(forever.status).toBe(201);
    expect(weekly.status).toBe(201);
    expect(forever.body.token).toMatch(/^isk_/);
    expect(weekly.body).toMatchObject({ name: "cron", expiresAt: expect.any(String), lastUsedAt: null });
    const days = (t: { expiresAt: string; createdAt: string }) =>
      (Date.parse(t.expiresAt) - Date.parse(t.createdAt)) / 86_400_000;
    expect(days(weekly.body)).toBeCloseTo(7, 3);
    // Without an expiry a token lasts 90 days; without scopes it may read and sync.
    expect(days(forever.body)).toBeCloseTo(90, 3);
    expect(forever.body.scopes).toEqual(["read", "sync"]);

    expect((await bearer(1, forever.body.token)).status).toBe(200);

    const res = await user.raw("GET", "/api/tokens");
    const text = await res.text();
    expect(res.status).toBe(200);
    for (const t of [forever.body.token, weekly.body.token]) {
      expect(text).not.toContain(t);
      expect(text).not.toContain(sha256(t));
    }
    const { tokens } = JSON.parse(text);
    expect(tokens.map((t: any) => Object.keys(t).sort())).toEqual([
      ["createdAt", "expiresAt", "id", "lastUsedAt", "name", "scopes"],
      ["createdAt", "expiresAt", "id", "lastUsedAt", "name", "scopes"],
    ]);
    // Newest first; the one used just now says so.
    expect(tokens.map((t: any) => t.name)).toEqual(["cron", "backup script"]);
    expect(tokens[1]).toMatchObject({
      id: forever.body.id,
      expiresAt: forever.body.expiresAt,
      scopes: ["read", "sync"],
      lastUsedAt: expect.any(String),
    });
    expect(tokens[0]).toMatchObject({
      id: weekly.body.id,
      expiresAt: weekly.body.expiresAt,
      lastUsedAt: null,
    });

    // Another user sees none of them.
    const other = await newUser();
    expect((await other.json("GET", "/api/tokens")).body).toEqual({ tokens: [] });
  });

  it("refuses bad creation bodies with a 400 naming the problem", async () => {
    const user = await newUser();
    const cases: Array<[unknown, string]> = [
      [{ expiresInDays: 0 }, "invalid_expiry"],
      [{ expiresInDays: -3 }, "invalid_expiry"],
      [{ expiresInDays: 1.5 }, "invalid_expiry"],
      [{ expiresInDays: "7" }, "invalid_expiry"],
      [{ expiresInDays: 366 }, "invalid_expiry"],
      [{ name: "x".repeat(101) }, "invalid_name"],
      [{ name: { $gt: "" } }, "invalid_name"],
      [{ name: "ok", expires: 7 }, "invalid_request"],
      [{ scopes: ["read", "admin"] }, "invalid_scope"],
      [{ scopes: "read" }, "invalid_scope"],
      [{ scopes: [null] }, "invalid_scope"],
      [[1, 2], "invalid_request"],
      ["just text", "invalid_json"],
    ];
    for (const [body, code] of cases) {
      const res = await user.json("POST", "/api/tokens", body);
      expect({ body, status: res.status, code: res.body.error?.code }).toEqual({ body, status: 400, code });
      expect(res.body.error.message).toEqual(expect.any(String));
    }
    expect((await user.json("GET", "/api/tokens")).body.tokens).toEqual([]);
    // No body at all is a token without a name, with the default scopes and expiry.
    const plain = await user.json("POST", "/api/tokens");
    expect(plain.status).toBe(201);
    expect(plain.body).toMatchObject({ name: "", scopes: ["read", "sync"], expiresAt: expect.any(String) });
    // null asks for the default expiry too: no token lasts for ever.
    const nullExpiry = await user.json("POST", "/api/tokens", { expiresInDays: null });
    expect(nullExpiry.status).toBe(201);
    expect(
      (Date.parse(nullExpiry.body.expiresAt) - Date.parse(nullExpiry.body.createdAt)) / 86_400_000,
    ).toBeCloseTo(90, 3);
  });

  it(`caps live tokens at ${TOKEN_CAP} per user, even when requests race; revoked and expired ones free a place`, async () => {
    const user = await newUser();
    const answers = await Promise.all(
      Array.from({ length: TOKEN_CAP + 5 }, (_, i) => user.json("POST", "/api/tokens", { name: `t${i}` })),
    );
    const created = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status !== 201);
    expect(created).toHaveLength(TOKEN_CAP);
    expect(refused.map((a) => [a.status, a.body.error.code])).toEqual(
      Array.from({ length: 5 }, () => [409, "too_many_tokens"]),
    );
    expect((await user.json("GET", "/api/tokens")).body.tokens).toHaveLength(TOKEN_CAP);

    // Another user's cap is their own.
    expect((await (await newUser()).json("POST", "/api/tokens", { name: "mine" })).status).toBe(201);

    expect((await user.json("DELETE", `/api/tokens/${created[0]!.body.id}`)).status).toBe(204);
    await query("UPDATE api_tokens SET expires_at = now() - interval '1 minute' WHERE id = :id", {
      id: created[1]!.body.id,
    });
    expect((await user.json("POST", "/api/tokens", { name: "after revoke" })).status).toBe(201);
    expect((await user.json("POST", "/api/tokens", { name: "after expiry" })).status).toBe(201);
    expect((await user.json("POST", "/api/tokens", { name: "one too many" })).status).toBe(409);
  });

  it("a revoked token answers 401 at once, and its socket on the other web node closes within 1 s", async () => {
    const user = await newUser();
    const { body } = await user.json("POST", "/api/tokens", { name: "to revoke" });
    const keep = (await user.json("POST", "/api/tokens", { name: "to keep" })).body;
    const doomed = await tokenSocket(1, body.token);
    const kept = await tokenSocket(1, keep.token);
    const cookieSocket = await connectSocket(stack.webs[1]!.url, { cookie: user.cookieHeader });
    sockets.push(cookieSocket);
    expect((await bearer(1, body.token)).status).toBe(200);

    const closed = disconnection(doomed, 1_000);
    const revoked = await user.json("DELETE", `/api/tokens/${body.id}`);
    expect(revoked.status).toBe(204);
    expect(await closed).toBe("io server disconnect");

    for (const node of [0, 1]) {
      const res = await bearer(node, body.token);
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe("unauthorized");
      expect(await refusal(stack.webs[node]!.url, { token: body.token })).toBe("unauthorized");
    }
    // Only that token's socket: the user's other token and their browser stay connected.
    expect(kept.connected).toBe(true);
    expect(cookieSocket.connected).toBe(true);
    expect((await bearer(0, keep.token)).status).toBe(200);
    expect((await user.json("GET", "/api/tokens")).body.tokens.map((t: any) => t.id)).toEqual([keep.id]);
    // Gone is gone: a second revoke is a 404.
    expect((await user.json("DELETE", `/api/tokens/${body.id}`)).status).toBe(404);
  });

  it("revoking answers 404 for another user's token and for ids that are not tokens", async () => {
    const owner = await newUser();
    const stranger = await newUser();
    const { body } = await owner.json("POST", "/api/tokens", { name: "owner's" });
    for (const id of [body.id, "00000000-0000-4000-8000-000000000000", "not-a-uuid", "1%27%20OR%201=1"]) {
      const res = await stranger.json("DELETE", `/api/tokens/${id}`);
      expect({ id, status: res.status, code: res.body.error.code }).toEqual({
        id,
        status: 404,
        code: "not_found",
      });
    }
    expect((await bearer(0, body.token)).status).toBe(200);
    expect((await owner.json("GET", "/api/tokens")).body.tokens).toHaveLength(1);
  });

  it("an expired token answers 401 token_expired, and a socket it opened is closed by the periodic recheck", async () => {
    const user = await newUser();
    const { body } = await user.json("POST", "/api/tokens", { name: "short", expiresInDays: 1 });
    const socket = await tokenSocket(0, body.token);
    const closed = disconnection(socket, 15_000);
    await query("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = :id", {
      id: body.id,
    });
    forgetCachedPrincipals();

    for (const node of [0, 1]) {
      const res = await bearer(node, body.token);
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe("token_expired");
    }
    expect(await refusal(stack.webs[1]!.url, { token: body.token })).toBe("unauthorized");
    expect(await closed).toBe("io server disconnect");
    // Still listed (as expired) until the purge job removes it.
    expect((await user.json("GET", "/api/tokens")).body.tokens[0]).toMatchObject({ id: body.id });
  });

  it("writes last used at most once a minute, not on every request", async () => {
    const user = await newUser();
    const { body } = await user.json("POST", "/api/tokens", { name: "busy script" });
    const lastUsed = async () =>
      (
        await query<{ last_used_at: Date | null }>("SELECT last_used_at FROM api_tokens WHERE id = :id", {
          id: body.id,
        })
      )[0]!.last_used_at;
    expect(await lastUsed()).toBeNull();
    expect((await bearer(0, body.token)).status).toBe(200);
    const first = await lastUsed();
    expect(first).toBeInstanceOf(Date);
    for (let i = 0; i < 5; i++) expect((await bearer(i % 2, body.token)).status).toBe(200);
    expect(await lastUsed()).toEqual(first);

    // A minute later (moved back in the database) the next use writes it again.
    await query("UPDATE api_tokens SET last_used_at = now() - interval '61 seconds' WHERE id = :id", {
      id: body.id,
    });
    forgetCachedPrincipals();
    const before = await lastUsed();
    expect((await bearer(1, body.token)).status).toBe(200);
    const after = await lastUsed();
    expect(after!.getTime()).toBeGreaterThan(before!.getTime() + 60_000);
  });

  it("minting tokens needs the browser session: an API token gets 403 session_required, may list, and may revoke only itself", async () => {
    const user = await newUser();
    const { body } = await user.json("POST", "/api/tokens", { name: "script" });
    const other = (await user.json("POST", "/api/tokens", { name: "other" })).body;
    const mint = await fetch(`${stack.web.url}/api/tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${body.token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "successor" }),
    });
    expect(mint.status).toBe(403);
    expect((await mint.json()).error.code).toBe("session_required");

    const list = await bearer(0, body.token, "/api/tokens");
    expect(list.status).toBe(200);
    expect((await list.json()).tokens).toHaveLength(2);
    // Not a sibling: a leaked token must not cut off its owner's other scripts.
    const sibling = await bearer(0, body.token, `/api/tokens/${other.id}`, "DELETE");
    expect(sibling.status).toBe(403);
    expect((await sibling.json()).error.code).toBe("session_required");
    expect((await bearer(0, other.token)).status).toBe(200);
    // Nor anything else that is not itself (no lookup: the same 403).
    expect(
      (await bearer(0, body.token, "/api/tokens/00000000-0000-4000-8000-000000000000", "DELETE")).status,
    ).toBe(403);
    // The session may revoke any of the user's tokens.
    expect((await user.json("DELETE", `/api/tokens/${other.id}`)).status).toBe(204);
    expect((await bearer(0, other.token)).status).toBe(401);
    // A script may revoke itself.
    expect((await bearer(0, body.token, `/api/tokens/${body.id}`, "DELETE")).status).toBe(204);
    expect((await bearer(0, body.token)).status).toBe(401);
  });

  it("a token does only what its scopes allow: 403 insufficient_scope without the scope, 2xx with it; the session does all", async () => {
    const user = await newUser();
    const mint = async (scopes: string[]) => {
      const res = await user.json("POST", "/api/tokens", { name: scopes.join("+") || "none", scopes });
      expect(res.status).toBe(201);
      expect(res.body.scopes).toEqual(scopes);
      return res.body as { id: string; token: string };
    };
    const reader = await mint(["read"]);
    const syncer = await mint(["sync"]);
    const nothing = await mint([]);
    const reserved = await mint(["changes", "webhooks"]);
    const refused = async (res: Response, scope: string) => {
      expect(res.status).toBe(403);
      const { error } = await res.json();
      expect(error.code).toBe("insufficient_scope");
      expect(error.message).toContain(`"${scope}"`);
    };

    // read: mail, labels, me, tokens; not starting a sync, nor the streaming one.
    for (const path of ["/api/emails", "/api/labels", "/api/me", "/api/tokens"]) {
      expect({ path, status: (await bearer(0, reader.token, path)).status }).toEqual({ path, status: 200 });
    }
    await refused(await bearer(0, reader.token, "/api/emails/sync", "POST"), "sync");
    await refused(await bearer(1, reader.token, "/api/emails/sync/stream", "POST"), "sync");

    // sync: starts one; reading mail or the task's status is read's.
    const started = await bearer(1, syncer.token, "/api/emails/sync", "POST");
    expect(started.status).toBe(202);
    const { taskId } = await started.json();
    await refused(await bearer(0, syncer.token, `/api/emails/sync/status/${taskId}`), "read");
    await refused(await bearer(0, syncer.token, "/api/emails"), "read");
    expect((await bearer(0, reader.token, `/api/emails/sync/status/${taskId}`)).status).toBe(200);

    // changes opens the change feed and nothing else; a token with no scope opens nothing at all.
    expect((await bearer(0, reserved.token, "/api/changes")).status).toBe(200);
    await refused(await bearer(0, reader.token, "/api/changes"), "changes");
    await refused(await bearer(0, reserved.token, "/api/me"), "read");
    await refused(await bearer(0, nothing.token, "/api/me"), "read");
    // Live progress is read's, on sockets too.
    expect(await refusal(stack.webs[0]!.url, { token: syncer.token })).toBe("insufficient_scope");
    expect((await tokenSocket(0, reader.token)).connected).toBe(true);

    // The session may do everything.
    expect((await user.json("GET", "/api/emails")).status).toBe(200);
    expect((await user.json("GET", `/api/emails/sync/status/${taskId}`)).status).toBe(200);

    // A token with no scope may still revoke itself.
    expect((await bearer(0, nothing.token, `/api/tokens/${nothing.id}`, "DELETE")).status).toBe(204);
    expect((await bearer(0, nothing.token)).status).toBe(401);
  });

  it("scopes are stored once each, in the list's order, whatever the request's order or repeats", async () => {
    const user = await newUser();
    const res = await user.json("POST", "/api/tokens", { scopes: ["sync", "read", "sync"] });
    expect(res.status).toBe(201);
    expect(res.body.scopes).toEqual(["read", "sync"]);
    expect((await user.json("GET", "/api/tokens")).body.tokens[0].scopes).toEqual(["read", "sync"]);
  });

  it("cookie-authenticated token writes need the CSRF header", async () => {
    const user = await newUser();
    const { body } = await user.json("POST", "/api/tokens", { name: "x" });
    const saved = user.csrfToken;
    user.csrfToken = null;
    try {
      const res = await user.json("DELETE", `/api/tokens/${body.id}`);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("csrf_failed");
    } finally {
      user.csrfToken = saved;
    }
    expect((await bearer(0, body.token)).status).toBe(200);
  });
});
