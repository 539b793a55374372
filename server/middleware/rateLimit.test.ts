import { spawn } from "node:child_process";
import { once } from "node:events";
import { io } from "socket.io-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ApiError, errorFromResponse } from "../../client/src/api";
import { humanError } from "../../client/src/errors";
import { ConfigError, loadConfig } from "../../core/config";

import type { ApiClient } from "../../test/ApiClient";
import { privateRedis } from "../../test/privateRedis";
import { connectSocket, refusal, subscribe, type TaskSocket } from "../../test/socketClient";
import { type Stack, startStack, waitForTask } from "../../test/stack";

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Reads an NDJSON stream to its end. */
async function readStream(res: Response): Promise<any[]> {
  const text = await res.text();
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** A 429 as the contract has it: the code, words, and a whole number of seconds to wait. */
async function expectRateLimited(res: Response, maxSeconds: number): Promise<number> {
  expect(res.status).toBe(429);
  const retryAfter = res.headers.get("retry-after");
  expect(retryAfter).toMatch(/^\d+$/);
  const seconds = Number(retryAfter);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(maxSeconds);
  expect(await res.json()).toEqual({ error: { code: "rate_limited", message: expect.any(String) } });
  return seconds;
}

describe("RATE_LIMIT_* settings", () => {
  const base = { DATA_DIR: ".data/test" };

  it("reads points/seconds, and has defaults for every limit", () => {
    const config = loadConfig({ ...base, RATE_LIMIT_SYNC: "5/10", RATE_LIMIT_STREAMS: "3" });
    expect(config.rateLimits.sync).toEqual({ points: 5, duration: 10 });
    expect(config.rateLimits.streams).toBe(3);
    expect(loadConfig(base).rateLimits).toEqual({
      signIn: { points: 30, duration: 60 },
      badToken: { points: 10, duration: 60 },
      sync: { points: 20, duration: 60 },
      tokenCreate: { points: 10, duration: 3600 },
      socketConnect: { points: 30, duration: 60 },
      subscribe: { points: 60, duration: 60 },
      gmailPush: { points: 1200, duration: 60 },
      streams: 2,
      feedFollowers: 10,
    });
  });

  it.each(["20", "a/b", "0/60", "20/0", "-1/60", "20/60/1"])(
    "refuses %j in one line naming the variable",
    (v) => {
      expect(() => loadConfig({ ...base, RATE_LIMIT_SYNC: v })).toThrow(ConfigError);
      expect(() => loadConfig({ ...base, RATE_LIMIT_SYNC: v })).toThrow(
        /^Invalid configuration: RATE_LIMIT_SYNC /,
      );
    },
  );
});

describe("rate limits shared by two web nodes through Redis", () => {
  let stack: Stack;
  let users = 0;
  const sockets: TaskSocket[] = [];

  beforeAll(async () => {
    stack = await startStack({
      webs: 2,
      env: {
        RATE_LIMIT_SIGN_IN: "40/60",
        RATE_LIMIT_BAD_TOKEN: "5/60",
        RATE_LIMIT_SYNC: "4/60",
        RATE_LIMIT_TOKEN_CREATE: "2/3600",
        RATE_LIMIT_SOCKET_CONNECT: "3/60",
        RATE_LIMIT_SUBSCRIBE: "4/60",
        RATE_LIMIT_STREAMS: "1",
      },
    });
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await stack?.close();
  });

  const url = (node: number) => stack.webs[node]!.url;

  async function newUser(count = 5): Promise<ApiClient> {
    const email = `limits${++users}@example.com`;
    await stack.simControl("POST", "/sim/accounts", { email, count });
    return stack.signIn(email);
  }

  it("a burst of sync requests from one user is refused with 429 and Retry-After by both nodes; another user is unaffected", async () => {
    const alice = await newUser();
    const nodes = [alice, alice.on(url(1))];
    // Four points in all, two spent on each node: neither node alone has reached the limit.
    for (const [i, status] of [202, 202, 202, 202].entries()) {
      expect((await nodes[i % 2]!.raw("POST", "/api/emails/sync")).status).toBe(status);
    }
    await expectRateLimited(await nodes[0]!.raw("POST", "/api/emails/sync"), 60);
    await expectRateLimited(await nodes[1]!.raw("POST", "/api/emails/sync"), 60);
    // The streaming fallback draws on the same allowance.
    await expectRateLimited(await nodes[1]!.raw("POST", "/api/emails/sync/stream"), 60);
    // Reads are not limited.
    expect((await nodes[1]!.raw("GET", "/api/me")).status).toBe(200);

    const bob = await newUser();
    for (const client of [bob, bob.on(url(1))]) {
      const res = await client.json("POST", "/api/emails/sync");
      expect(res.status).toBe(202);
      await waitForTask(client, res.body.taskId);
    }
  });

  it("the polling CLI says it was rate limited and how long to wait (exit 4, the server refused)", async () => {
    const user = await newUser();
    const { body } = await user.json("POST", "/api/tokens", { name: "cli" });
    for (let i = 0; i < 4; i++) expect((await user.raw("POST", "/api/emails/sync")).status).toBe(202);
    const child = spawn(process.execPath, ["--import", "tsx", "cli/inbox-sync.ts", "sync", "--no-wait"], {
      env: { PATH: process.env.PATH ?? "", INBOX_SYNC_URL: url(1), INBOX_SYNC_TOKEN: body.token },
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const [code] = await once(child, "exit");
    expect(code).toBe(4);
    expect(stderr).toMatch(
      /^inbox-sync: POST \/api\/emails\/sync was rate limited \(429\): try again in \d+ s\n$/,
    );
  });

  it("token creation is limited per user", async () => {
    const carol = await newUser();
    expect((await carol.json("POST", "/api/tokens", { name: "one" })).status).toBe(201);
    expect((await carol.on(url(1)).json("POST", "/api/tokens", { name: "two" })).status).toBe(201);
    const third = await carol.raw("POST", "/api/tokens", {
      body: JSON.stringify({ name: "three" }),
      headers: { "content-type": "application/json" },
    });
    await expectRateLimited(third, 3600);
    const [row] = (await stack.web.ctx.sequelize.query(
      "SELECT count(*)::int AS n FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.email = :email",
      { replacements: { email: `limits${users}@example.com` }, type: "SELECT" },
    )) as Array<{ n: number }>;
    expect(row!.n).toBe(2);
  });

  it("failed bearer lookups are limited per address; a good token never spends the allowance", async () => {
    const dave = await newUser();
    const { body } = await dave.json("POST", "/api/tokens", { name: "script" });
    const good: string = body.token;
    const call = (node: number, token: string, ip: string) =>
      fetch(`${url(node)}/api/me`, {
        headers: { authorization: `Bearer ${token}`, "x-forwarded-for": ip },
      });
    const scanner = "203.0.113.9";
    const script = "198.51.100.7";

    // Far more good requests than the allowance: only failures count.
    for (let i = 0; i < 12; i++) expect((await call(i % 2, good, script)).status).toBe(200);

    // Five wrong tokens are told 401, spread over both nodes; then the address is refused unread.
    for (let i = 0; i < 5; i++) expect((await call(i % 2, `isk_wrong${i}`, scanner)).status).toBe(401);
    await expectRateLimited(await call(0, "isk_wrong5", scanner), 60);
    await expectRateLimited(await call(1, "isk_wrong6", scanner), 60);
    // Its sockets too, whichever node.
    const socket = io(url(1), {
      path: "/socket.io",
      transports: ["websocket"],
      extraHeaders: { "x-forwarded-for": scanner },
      auth: { token: "isk_wrong7" },
      reconnection: false,
      forceNew: true,
    });
    const refused = await new Promise<Error & { data?: unknown }>((resolve) =>
      socket.once("connect_error", resolve),
    );
    socket.close();
    expect(refused.message).toBe("rate_limited");
    expect(refused.data).toEqual({ code: "rate_limited", retryAfter: expect.any(Number) });
    // A blocked address gets no answer about any token, a good one included: otherwise the
    // refusal would tell a guesser which guess was right.
    await expectRateLimited(await call(0, good, scanner), 60);

    // Every other address is untouched, good tokens and bad.
    expect((await call(1, good, script)).status).toBe(200);
    expect((await call(0, "isk_typo", "192.0.2.44")).status).toBe(401);
    // A session cookie is not a bearer lookup and is not affected.
    expect((await dave.raw("GET", "/api/me", { headers: { "x-forwarded-for": scanner } })).status).toBe(200);
  });

  it("sign-in and its callback are limited per address", async () => {
    const from = (ip: string, path: string, node = 0) =>
      fetch(`${url(node)}${path}`, { headers: { "x-forwarded-for": ip }, redirect: "manual" });
    const ip = "203.0.113.50";
    for (let i = 0; i < 20; i++) {
      expect((await from(ip, "/auth/google?login_hint=x%40example.com", i % 2)).status).toBe(302);
      // A callback without its state cookie is refused (400), and still spends a point.
      expect((await from(ip, "/auth/google/callback?code=c&state=s", i % 2)).status).toBe(400);
    }
    await expectRateLimited(await from(ip, "/auth/google", 1), 60);
    await expectRateLimited(await from(ip, "/auth/google/callback?code=c&state=s", 0), 60);
    expect((await from("203.0.113.51", "/auth/google", 1)).status).toBe(302);
  });

  it("socket connections per user across nodes, and task:subscribe per socket", async () => {
    const erin = await newUser();
    const { body } = await erin.json("POST", "/api/emails/sync");
    await waitForTask(erin, body.taskId);
    for (const node of [0, 1, 0]) sockets.push(await connectSocket(url(node), { cookie: erin.cookieHeader }));
    expect(await refusal(url(1), { cookie: erin.cookieHeader })).toBe("rate_limited");
    const frank = await newUser();
    const franks = await connectSocket(url(1), { cookie: frank.cookieHeader });
    sockets.push(franks);

    const socket = sockets[0]!;
    for (let i = 0; i < 4; i++) expect(await subscribe(socket, body.taskId)).toMatchObject({ ok: true });
    expect(await subscribe(socket, body.taskId)).toEqual({ ok: false, error: { code: "rate_limited" } });
    // The socket stays open, and other sockets of the same user have their own allowance.
    expect(socket.connected).toBe(true);
    expect(await subscribe(sockets[1]!, body.taskId)).toMatchObject({ ok: true });
    expect(await subscribe(franks, "no-such-task")).toEqual({ ok: false, error: { code: "not_found" } });
  });

  it("a user may hold one stream at a time across nodes; the slot frees when the stream ends", async () => {
    const grace = await newUser(200);
    await stack.simControl("PUT", "/sim/faults", { latencyMs: 40 });
    try {
      const first = await grace.raw("POST", "/api/emails/sync/stream");
      expect(first.status).toBe(200);
      const second = await grace.on(url(1)).raw("POST", "/api/emails/sync/stream");
      expect(await expectRateLimited(second, 60)).toBe(10);
      const lines = await readStream(first);
      expect(lines.at(-1)).toMatchObject({ state: "completed", result: { added: 200 } });
    } finally {
      await stack.simControl("DELETE", "/sim/faults");
    }
    const again = await grace.on(url(1)).raw("POST", "/api/emails/sync/stream");
    expect(again.status).toBe(200);
    expect((await readStream(again)).at(-1)).toMatchObject({ state: "completed" });
  });
});

describe("the browser app's words for a 429", () => {
  const answer = (retryAfter?: string) =>
    errorFromResponse(
      new Response(JSON.stringify({ error: { code: "rate_limited", message: "Too many sync requests." } }), {
        status: 429,
        headers: retryAfter ? { "retry-after": retryAfter } : {},
      }),
    );

  it("say how long to wait, from Retry-After in seconds or as a date", async () => {
    expect(humanError(await answer("42"))).toBe("Too many requests. Try again in 42 seconds.");
    expect(humanError(await answer("1"))).toBe("Too many requests. Try again in 1 second.");
    expect(humanError(await answer("150"))).toBe("Too many requests. Try again in about 3 minutes.");
    expect(humanError(await answer("3600"))).toBe("Too many requests. Try again in about an hour.");
    const inTwoMinutes = new Date(Date.now() + 120_000).toUTCString();
    expect((await answer(inTwoMinutes)).retryAfter).toBeGreaterThanOrEqual(119);
  });

  it("fall back to a plain sentence without Retry-After", async () => {
    const err = await answer();
    expect(err).toBeInstanceOf(ApiError);
    expect(humanError(err)).toBe("Too many requests. Wait a moment and try again.");
  });
});

describe("rate limits with Redis down", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  it("count in each node's memory, and the streaming fallback still completes", async () => {
    const redis = await privateRedis();
    cleanups.push(() => redis.close());

    const stack = await startStack({
      workers: 0,
      env: { REDIS_URL: redis.url, RATE_LIMIT_SYNC: "4/60", RATE_LIMIT_STREAMS: "1" },
    });
    cleanups.push(() => stack.close());
    await stack.simControl("POST", "/sim/accounts", { email: "no-redis@example.com", count: 150 });
    const user = await stack.signIn("no-redis@example.com");

    await redis.stop("SIGKILL");
    await waitUntil(async () => stack.web.ctx.redis?.status !== "ready", "the web node to lose Redis");

    const refused = await user.json("POST", "/api/emails/sync");
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe("queue_unavailable");
    const stream = await user.raw("POST", refused.body.fallback);
    expect(stream.status).toBe(200);
    const lines = await readStream(stream);
    expect(lines.at(-1)).toMatchObject({ state: "completed", result: { added: 150, mode: "full" } });
    expect((await user.json("GET", "/api/me")).body.emailCount).toBe(150);

    // Still counted, in memory: two points spent above, two left, then 429.
    expect((await user.raw("POST", "/api/emails/sync")).status).toBe(503);
    expect((await user.raw("POST", "/api/emails/sync")).status).toBe(503);
    await expectRateLimited(await user.raw("POST", "/api/emails/sync"), 60);
  });
});
