import { createServer, type Server } from "node:http";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../core/logger";
import { freePort } from "../scripts/lib/devServices";
import { ApiClient } from "../test/ApiClient";
import { connectSocket, refusal } from "../test/socketClient";
import { type Stack, startStack } from "../test/stack";
import { createApp } from "./app";
import { attachRealtime } from "./realtime";
import { healthRoutes } from "./routes/health";
import type { WebContext } from "./WebContext";

const METRICS_TOKEN = "m3tr1cs-7f9c2a41e8b05d63c1a7f2e49b8d0c56";

/** Parses a Content-Security-Policy header into directive → sources. */
function csp(header: string | null): Record<string, string[]> {
  expect(header).toBeTruthy();
  return Object.fromEntries(
    header!
      .split(";")
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...sources]) => [name!, sources]),
  );
}

/**
 * The browser app's directives, exactly: anything looser would be a regression. img-src allows
 * data: and https: for the message frame (a srcdoc frame inherits the page's policy), whose own
 * CSP keeps remote images out until the reader asks for them.
 */
const APP_DIRECTIVES = {
  "default-src": ["'self'"],
  "script-src": ["'self'"],
  "style-src": ["'self'"],
  "img-src": ["'self'", "data:", "https:"],
  "connect-src": ["'self'"],
  "font-src": ["'self'"],
  "base-uri": ["'self'"],
  "form-action": ["'self'"],
  "object-src": ["'none'"],
  "frame-ancestors": ["'none'"],
};

describe("security headers, cookies, metrics, readiness and the queue dashboard", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { ADMIN_EMAILS: "root@example.com", METRICS_TOKEN } });
    await stack.simControl("POST", "/sim/accounts", { email: "root@example.com", count: 3 });
    await stack.simControl("POST", "/sim/accounts", { email: "plain@example.com", count: 3 });
  });
  afterAll(() => stack?.close());

  it("every kind of answer carries the strict CSP and the other helmet headers, without HSTS outside production", async () => {
    const signedIn = await stack.signIn("plain@example.com");
    const answers = [
      await fetch(`${stack.web.url}/`),
      await fetch(`${stack.web.url}/healthz`),
      await fetch(`${stack.web.url}/api/me`),
      await fetch(`${stack.web.url}/no/such/page`),
      await fetch(`${stack.web.url}/metrics`),
      await signedIn.raw("GET", "/api/me"),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 200, 401, 404, 401, 200]);
    for (const res of answers) {
      const policy = csp(res.headers.get("content-security-policy"));
      expect(policy).toEqual(APP_DIRECTIVES);
      expect(res.headers.get("content-security-policy")).not.toContain("unsafe-inline");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("referrer-policy")).toBe("same-origin");
      expect(res.headers.get("cross-origin-opener-policy")).toBe("same-origin");
      expect(res.headers.get("strict-transport-security")).toBeNull();
      expect(res.headers.get("x-powered-by")).toBeNull();
    }
  });

  it("the session cookie is isid, httpOnly and SameSite=Lax over plain http, without Secure", async () => {
    const client = new ApiClient(stack.web.url);
    const start = await client.raw("GET", "/auth/google?login_hint=plain%40example.com");
    const consent = await fetch(start.headers.get("location")!, { redirect: "manual" });
    const callback = await client.raw("GET", consent.headers.get("location")!);
    const session = callback.headers.getSetCookie().find((c) => /^(__Host-)?isid=/.test(c));
    expect(session).toMatch(/^isid=[^;]+; Max-Age=\d+; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Lax$/);
  });

  it("/metrics answers only its bearer token: 401 without it or with a wrong one", async () => {
    const none = await fetch(`${stack.web.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
    expect((await none.json()).error.code).toBe("unauthorized");
    const wrong = await fetch(`${stack.web.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN.slice(0, -1)}x` },
    });
    expect(wrong.status).toBe(401);
    // A signed-in user's session is no key to it either.
    const user = await stack.signIn("plain@example.com");
    expect((await user.raw("GET", "/metrics")).status).toBe(401);
    const right = await fetch(`${stack.web.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(right.status).toBe(200);
    expect(await right.text()).toMatch(/^inbox_sync_workers_alive /m);
  });

  it("/metrics is not served at all (404) when METRICS_TOKEN is unset", async () => {
    const bare = await startStack({ workers: 0 });
    try {
      const res = await fetch(`${bare.web.url}/metrics`);
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain("inbox_sync_");
      const guessed = await fetch(`${bare.web.url}/metrics`, { headers: { authorization: "Bearer x" } });
      expect(guessed.status).toBe(404);
    } finally {
      await bare.close();
    }
  });

  it("Bull Board has the same headers, with only the inline styles its page needs added", async () => {
    const root = await stack.signIn("root@example.com");
    const page = await root.raw("GET", "/admin/queues");
    expect(page.status).toBe(200);
    const policy = csp(page.headers.get("content-security-policy"));
    expect(policy).toEqual({
      ...APP_DIRECTIVES,
      "style-src": ["'self'", "'unsafe-inline'"],
      // No message frame here, so none of the app's image exceptions.
      "img-src": ["'self'"],
    });
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    // Refusals on the way in carry them too.
    const anonymous = await fetch(`${stack.web.url}/admin/queues`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("x-frame-options")).toBe("DENY");
  });

  it("Bull Board refuses a cookie-authenticated write without our Origin or the CSRF token, and one from another origin", async () => {
    const root = await stack.signIn("root@example.com");
    const queue = stack.web.ctx.queue!;
    const pause = "/admin/queues/api/queues/email-sync/pause";
    const resume = "/admin/queues/api/queues/email-sync/resume";
    const origin = new URL(stack.web.ctx.config.publicUrl).origin;
    // The admin's cookie and nothing else, as a browser sends it along with another site's request.
    const withCookie = (path: string, headers: Record<string, string> = {}) =>
      fetch(`${stack.web.url}${path}`, { method: "PUT", headers: { cookie: root.cookieHeader, ...headers } });

    // A cross-site form or fetch riding the admin's cookie: no CSRF header, and either no Origin
    // (an old browser) or the attacker's.
    const bare = await withCookie(pause);
    expect(bare.status).toBe(403);
    expect((await bare.json()).error.code).toBe("csrf_failed");
    const foreign = await withCookie(pause, { origin: "https://evil.example" });
    expect(foreign.status).toBe(403);
    expect((await foreign.json()).error.code).toBe("cross_origin");
    // Even with the CSRF token, a page of another origin is refused.
    const foreignWithToken = await withCookie(pause, {
      origin: "https://evil.example",
      "x-csrf-token": root.csrfToken!,
    });
    expect(foreignWithToken.status).toBe(403);
    expect(await queue.isPaused()).toBe(false);

    // Bull Board's own page sends our Origin; a script sends the session's CSRF token.
    const fromDashboard = await withCookie(pause, { origin });
    expect(fromDashboard.status).toBe(200);
    expect(await queue.isPaused()).toBe(true);
    const fromScript = await withCookie(resume, { "x-csrf-token": root.csrfToken! });
    expect(fromScript.status).toBe(200);
    expect(await queue.isPaused()).toBe(false);

    // Reads need neither; a non-admin is refused before any of this.
    expect((await root.raw("GET", "/admin/queues/api/queues?activeQueue=email-sync")).status).toBe(200);
    const plain = await stack.signIn("plain@example.com");
    const notAdmin = await plain.raw("PUT", pause, { headers: { origin } });
    // (plain's own client adds its CSRF token: the refusal is about who, not how.)
    expect(notAdmin.status).toBe(403);
    expect((await notAdmin.json()).error.code).toBe("not_admin");
    expect(await queue.isPaused()).toBe(false);
  });

  describe("in production (https PUBLIC_URL)", () => {
    let server: Server;
    let url: string;
    let ctx: WebContext;
    beforeAll(async () => {
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      const base = stack.web.ctx;
      // The same node's services, configured as production behind a TLS-terminating proxy.
      ctx = {
        ...base,
        io: undefined,
        config: {
          ...base.config,
          env: "production",
          publicUrl: "https://inbox.example.com",
          google: { ...base.config.google, redirectUri: `${url}/auth/google/callback` },
        },
      };
      server = createServer(createApp(ctx));
      ctx.io = attachRealtime(server, ctx, null);
      await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    });
    afterAll(async () => {
      ctx.io?.local.disconnectSockets(true);
      await new Promise<void>((resolve) => {
        ctx.io?.close(() => resolve()) ?? resolve();
        server.closeAllConnections();
      });
    });

    it("sends HSTS and upgrade-insecure-requests", async () => {
      const res = await fetch(`${url}/`);
      expect(res.headers.get("strict-transport-security")).toBe("max-age=31536000");
      expect(csp(res.headers.get("content-security-policy"))).toEqual({
        ...APP_DIRECTIVES,
        "upgrade-insecure-requests": [],
      });
    });

    it("names the session cookie __Host-isid, Secure, and accepts it under no other name, on HTTP and Socket.IO", async () => {
      const client = new ApiClient(url);
      await client.signIn("plain@example.com");
      const value = client.cookieHeader.match(/(?:^|; )__Host-isid=([^;]+)/)?.[1];
      expect(value).toBeTruthy();
      expect(client.cookieHeader).not.toMatch(/(?:^|; )isid=/);

      // The attributes, from a fresh sign-in's Set-Cookie.
      const again = new ApiClient(url);
      const start = await again.raw("GET", "/auth/google?login_hint=plain%40example.com");
      expect(start.headers.getSetCookie().join("\n")).toMatch(/; Secure/);
      let res = start;
      let session: string | undefined;
      for (let hop = 0; hop < 8 && !session; hop++) {
        const next = new URL(res.headers.get("location")!, url).toString();
        res = next.startsWith(url) ? await again.raw("GET", next) : await fetch(next, { redirect: "manual" });
        session = res.headers.getSetCookie().find((c) => c.startsWith("__Host-isid="));
      }
      expect(session).toMatch(
        /^__Host-isid=[^;]+; Max-Age=\d+; Path=\/; Expires=[^;]+; HttpOnly; Secure; SameSite=Lax$/,
      );
      expect(session).not.toMatch(/Domain=/i);

      expect((await client.json("GET", "/api/me")).status).toBe(200);
      // The development name carries no session here: a cookie planted without __Host- is ignored.
      const planted = await fetch(`${url}/api/me`, { headers: { cookie: `isid=${value}` } });
      expect(planted.status).toBe(401);

      const socket = await connectSocket(url, { cookie: `__Host-isid=${value}` });
      expect(socket.connected).toBe(true);
      socket.disconnect();
      expect(await refusal(url, { cookie: `isid=${value}` })).toBe("unauthorized");
    });
  });
});

describe("readiness", () => {
  /** `queueRedis`: the queues' own client, the same one as the request client unless given. */
  const probe = async (db: { query(): Promise<unknown> }, redis: unknown, queueRedis: unknown = redis) => {
    const repos = { ping: () => db.query() };
    const app = express().use(
      healthRoutes({
        repos,
        redis,
        queueRedis,
        logger: createLogger("test", "silent"),
      } as unknown as WebContext),
    );
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      return { status: res.status, text: await res.text() };
    } finally {
      server.close();
    }
  };
  const upDb = { query: async () => [[{ "?column?": 1 }]] };
  const upRedis = { ping: async () => "PONG" };

  it("names the failed dependency and never its error text", async () => {
    const downDb = {
      query: async () => {
        throw new Error('password authentication failed for user "inbox" (db.internal:5432)');
      },
    };
    const downRedis = {
      ping: async () => {
        throw new Error("connect ECONNREFUSED 10.0.3.7:6379");
      },
    };
    const db = await probe(downDb, upRedis);
    expect(db.status).toBe(503);
    expect(JSON.parse(db.text)).toEqual({
      status: "unavailable",
      checks: { postgres: "failed", redis: "ok" },
      failed: ["postgres"],
    });
    expect(db.text).not.toMatch(/password|inbox|db\.internal|5432/);

    const cache = await probe(upDb, downRedis);
    expect(cache.status).toBe(503);
    expect(JSON.parse(cache.text).failed).toEqual(["redis"]);
    expect(cache.text).not.toMatch(/ECONNREFUSED|10\.0\.3\.7/);

    // The queues' client down alone is Redis down: a sync request would be refused.
    const queues = await probe(upDb, upRedis, downRedis);
    expect(queues.status).toBe(503);
    expect(JSON.parse(queues.text).failed).toEqual(["redis"]);
    expect(queues.text).not.toMatch(/ECONNREFUSED|10\.0\.3\.7/);

    const both = await probe(downDb, null);
    expect(JSON.parse(both.text).failed).toEqual(["postgres", "redis"]);
    expect(both.text).not.toMatch(/not configured/);

    const ok = await probe(upDb, upRedis);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toEqual({
      status: "ok",
      checks: { postgres: "ok", redis: "ok" },
      failed: [],
    });
  });
});
