import { createSign, generateKeyPairSync, randomBytes } from "node:crypto";
import { QueryTypes } from "sequelize";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { MailChange } from "../../../core/events";
import { MaintenanceQueue } from "../../../core/queue";
import { createRedis, redisKeys } from "../../../core/redis";
import type { ApiClient } from "../../../test/ApiClient";
import { connectSocket, type TaskSocket } from "../../../test/socketClient";
import { type Stack, startStack, waitForTask, waitUntil } from "../../../test/stack";

const TOPIC = "projects/inbox-sync-test/topics/gmail-push";
const SERVICE_ACCOUNT = "gmail-push@inbox-sync-sim.iam.gserviceaccount.com";
const METRICS_TOKEN = "scrape-0a9c1d7e5b3f48e2a6c0d9b17f3e5a24";

/** Pushes verified against the simulator's key, debounced into one sync per burst. */
describe("POST /webhooks/gmail (Gmail push through Pub/Sub)", () => {
  let stack: Stack;
  let maintenance: MaintenanceQueue;
  let redis: ReturnType<typeof createRedis>;
  let endpoint: string;
  const email = `live-${randomBytes(4).toString("hex")}@example.com`;
  let client: ApiClient;
  let userId: string;

  beforeAll(async () => {
    stack = await startStack({
      workers: 1,
      env: {
        GMAIL_PUSH_TOPIC: TOPIC,
        GMAIL_PUSH_SERVICE_ACCOUNT: SERVICE_ACCOUNT,
        SYNC_DEBOUNCE_MS: "1000",
        METRICS_TOKEN,
      },
    });
    endpoint = `${stack.web.url}/webhooks/gmail`;
    await stack.simControl("PUT", "/sim/push", { endpoint, audience: null });
    redis = createRedis(stack.config.redisUrl, "worker");
    maintenance = MaintenanceQueue.open(redis, redisKeys(stack.config).maintenanceQueue);
    await stack.simControl("POST", "/sim/accounts", { email, count: 5 });
    client = await stack.signIn(email);
    const me = await client.json("GET", "/api/me");
    expect(me.status).toBe(200);
    const [row] = await stack.web.ctx.sequelize.query<{ id: string }>(
      "SELECT user_id AS id FROM gmail_accounts WHERE email = :email",
      { replacements: { email }, type: QueryTypes.SELECT },
    );
    userId = row!.id;
    const started = await client.json("POST", "/api/emails/sync");
    await waitForTask(client, started.body.taskId);
  }, 60_000);

  afterAll(async () => {
    await maintenance?.close();
    redis?.disconnect();
    await stack?.close();
  });

  beforeEach(async () => {
    await stack.simControl("PUT", "/sim/push", { endpoint, audience: null });
    await stack.simControl("DELETE", "/sim/stats");
  });

  const tasks = async () =>
    (
      await stack.web.ctx.sequelize.query<{ id: string; state: string }>(
        "SELECT id, state FROM sync_tasks WHERE user_id = :userId ORDER BY created_at",
        { replacements: { userId }, type: QueryTypes.SELECT },
      )
    ).map((t) => t.state);

  /** Every push sent so far answered, and nothing of this user's left to run. */
  async function settled(): Promise<void> {
    await stack.simControl("GET", "/sim/stats?settled=1");
    await waitUntil(async () => {
      const state = await maintenance.pushState(userId);
      const open = (await tasks()).some((s) => s === "queued" || s === "active");
      return state.pendingJobs === 0 && !state.armed && !state.dirty && !open;
    }, "the pushes' sync to finish");
  }

  const pushStatuses = async () =>
    ((await stack.simControl("GET", "/sim/stats")).pushes as Array<{ status: number }>).map((p) => p.status);

  /** A Pub/Sub-shaped push with this bearer token (or none). */
  function post(token: string | null, address = email, body?: unknown) {
    const data = Buffer.from(JSON.stringify({ emailAddress: address, historyId: 123456 })).toString("base64");
    return fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(
        body ?? { message: { data, messageId: "1" }, subscription: "projects/p/subscriptions/s" },
      ),
    });
  }

  const now = () => Math.floor(Date.now() / 1000);
  const claims = (over: Record<string, unknown> = {}) => ({
    iss: "https://accounts.google.com",
    aud: endpoint,
    email: SERVICE_ACCOUNT,
    email_verified: true,
    sub: "100000000000000000001",
    iat: now(),
    exp: now() + 3600,
    ...over,
  });
  /** Signed with the simulator's own key, as Google signs Pub/Sub's tokens. */
  const simSigned = (over: Record<string, unknown> = {}) => stack.sim.state.signer.sign(claims(over));

  it("watches the account when it signs in, while push is on", async () => {
    const watch = await waitUntil<{ topicName: string; expiration: string }>(
      () => stack.simControl("GET", `/sim/accounts/${encodeURIComponent(email)}/watch`),
      "the sign-in's users.watch",
    );
    expect(watch.topicName).toBe(TOPIC);
    const [row] = await stack.web.ctx.sequelize.query<{ watch_expiration: Date | null }>(
      "SELECT watch_expiration FROM gmail_accounts WHERE user_id = :userId",
      { replacements: { userId }, type: QueryTypes.SELECT },
    );
    expect(row!.watch_expiration?.getTime()).toBe(Number(watch.expiration));
  });

  it("a new message's push, signed by Google's key for our audience, syncs the mailbox once", async () => {
    const before = await tasks();
    const added = await stack.simControl("POST", `/sim/accounts/${encodeURIComponent(email)}/messages`, {
      count: 1,
    });
    await settled();
    expect(await pushStatuses()).toEqual([204]);
    expect(await tasks()).toEqual([...before, "completed"]);
    const stored = await client.json("GET", `/api/emails/${added.ids[0]}`);
    expect(stored.status).toBe(200);
  });

  it("fifty pushes within the debounce make one sync", async () => {
    const before = await tasks();
    await stack.simControl("POST", `/sim/accounts/${encodeURIComponent(email)}/push`, { count: 50 });
    await settled();
    const statuses = await pushStatuses();
    expect(statuses).toHaveLength(50);
    expect(new Set(statuses)).toEqual(new Set([204]));
    expect(await tasks()).toEqual([...before, "completed"]);
  });

  it("a push arriving while a sync runs brings one more sync after it, not a join", async () => {
    // Each Gmail call outlasts the debounce, so the push's job finds the clicked sync running.
    await stack.simControl("PUT", "/sim/faults", { latencyMs: 1500 });
    try {
      const before = await tasks();
      const running = await client.json("POST", "/api/emails/sync");
      await waitUntil(async () => (await tasks()).at(-1) === "active" || false, "the clicked sync to run");
      const added = await stack.simControl("POST", `/sim/accounts/${encodeURIComponent(email)}/messages`, {
        count: 1,
      });
      await settled();
      expect(await tasks()).toEqual([...before, "completed", "completed"]);
      expect((await client.json("GET", `/api/emails/${added.ids[0]}`)).status).toBe(200);
      const ids = (
        await stack.web.ctx.sequelize.query<{ id: string }>(
          "SELECT id FROM sync_tasks WHERE user_id = :userId ORDER BY created_at",
          { replacements: { userId }, type: QueryTypes.SELECT },
        )
      ).map((t) => t.id);
      expect(ids.at(-2)).toBe(running.body.taskId);
    } finally {
      await stack.simControl("DELETE", "/sim/faults");
    }
  });

  describe("mail:changed reaches the user's room when a sync changes mail", () => {
    let socket: TaskSocket;
    const heard: MailChange[] = [];
    beforeAll(async () => {
      socket = await connectSocket(stack.web.url, { cookie: client.cookieHeader });
      socket.on("mail:changed", (change) => heard.push(change));
    });
    afterAll(() => {
      socket?.disconnect();
    });

    it("from the worker, after a push's sync: once, with the counts", async () => {
      heard.length = 0;
      await stack.simControl("POST", `/sim/accounts/${encodeURIComponent(email)}/messages`, { count: 2 });
      await settled();
      await waitUntil(async () => heard.length > 0 || false, "mail:changed");
      expect(heard).toEqual([{ added: 2, deleted: 0, updated: 0, taskId: expect.any(String) }]);
    });

    it("from the streaming fallback, and not for a sync that changed nothing", async () => {
      heard.length = 0;
      const message = (
        await stack.simControl("GET", `/sim/accounts/${encodeURIComponent(email)}/messages?limit=1`)
      ).messages[0];
      await stack.simControl("DELETE", `/sim/accounts/${encodeURIComponent(email)}/messages/${message.id}`);
      await settled();
      heard.length = 0;
      // The push's sync took the deletion; a stream now finds nothing new and says nothing.
      const quiet = await client.raw("POST", "/api/emails/sync/stream");
      await quiet.text();
      await stack.simControl("PUT", "/sim/push", { endpoint: null });
      await stack.simControl("POST", `/sim/accounts/${encodeURIComponent(email)}/messages`, { count: 1 });
      const streamed = await client.raw("POST", "/api/emails/sync/stream");
      const lines = (await streamed.text())
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines.at(-1).result).toMatchObject({ added: 1, deleted: 0 });
      await waitUntil(async () => heard.length > 0 || false, "mail:changed");
      expect(heard).toEqual([{ added: 1, deleted: 0, updated: 0, taskId: lines.at(-1).taskId }]);
    });
  });

  describe("refused tokens answer 401 and queue nothing", () => {
    const forger = generateKeyPairSync("rsa", { modulusLength: 2048 });
    /** A token with the right claims and the simulator's key id, signed by a key Google never had. */
    function forged(): string {
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
      const signed = `${b64({ alg: "RS256", kid: stack.sim.state.signer.kid, typ: "JWT" })}.${b64(claims())}`;
      const signature = createSign("RSA-SHA256").update(signed).sign(forger.privateKey).toString("base64url");
      return `${signed}.${signature}`;
    }

    const cases: Array<[string, () => string | null]> = [
      ["no token", () => null],
      ["a forged signature", forged],
      ["another audience", () => simSigned({ aud: "https://elsewhere.example/webhooks/gmail" })],
      ["an expired token", () => simSigned({ iat: now() - 7200, exp: now() - 3600 })],
      ["another sender", () => simSigned({ email: "someone@evil.example" })],
      ["another issuer", () => simSigned({ iss: "https://evil.example" })],
      [
        "alg none",
        () =>
          `${Buffer.from('{"alg":"none","kid":"x"}').toString("base64url")}.${Buffer.from(JSON.stringify(claims())).toString("base64url")}.`,
      ],
    ];
    it.each(cases)("%s", async (_what, token) => {
      const before = await tasks();
      const res = await post(token());
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe("invalid_push_token");
      expect(await maintenance.pushState(userId)).toEqual({ pendingJobs: 0, armed: false, dirty: false });
      expect(await tasks()).toEqual(before);
    });

    it("the simulator's push for another audience is refused the same way", async () => {
      const before = await tasks();
      await stack.simControl("PUT", "/sim/push", { audience: "https://elsewhere.example/webhooks/gmail" });
      await stack.simControl("POST", `/sim/accounts/${encodeURIComponent(email)}/push`, { count: 1 });
      await stack.simControl("GET", "/sim/stats?settled=1");
      expect(await pushStatuses()).toEqual([401]);
      expect(await maintenance.pushState(userId)).toEqual({ pendingJobs: 0, armed: false, dirty: false });
      expect(await tasks()).toEqual(before);
    });
  });

  it("a replayed push (same messageId, same token) is acknowledged with 204 but acts on nothing, and is counted", async () => {
    const token = simSigned();
    const data = Buffer.from(JSON.stringify({ emailAddress: email, historyId: 999 })).toString("base64");
    const messageId = `replay-${randomBytes(6).toString("hex")}`;
    const push = {
      message: { data, messageId, message_id: messageId },
      subscription: "projects/p/subscriptions/s",
    };
    const before = await tasks();

    expect((await post(token, email, push)).status).toBe(204);
    await settled();
    expect(await tasks()).toEqual([...before, "completed"]);

    for (const replay of [push, { message: { data, message_id: messageId } }]) {
      const res = await post(token, email, replay);
      expect(res.status).toBe(204);
      // notePush runs before the answer: had the replay acted, a sync would be pending or armed now.
      expect(await maintenance.pushState(userId)).toEqual({ pendingJobs: 0, armed: false, dirty: false });
    }
    await settled();
    expect(await tasks()).toEqual([...before, "completed"]);

    const metrics = await (
      await fetch(`${stack.web.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    ).text();
    expect(metrics).toMatch(/^inbox_sync_gmail_pushes_total\{outcome="replayed"\} 2$/m);
    expect(metrics).toMatch(/^inbox_sync_gmail_pushes_total\{outcome="queued"\} [1-9]/m);
    // Remembered in Redis for the token's life and its clock skew, 70 minutes.
    const ttl = await redis.ttl(`${stack.config.queuePrefix}:gmail-push:seen:${messageId}`);
    expect(ttl).toBeGreaterThan(60 * 60);
    expect(ttl).toBeLessThanOrEqual(70 * 60);
  });

  it("a push without a messageId is 400 invalid_push: it could not be told from a replay", async () => {
    const data = Buffer.from(JSON.stringify({ emailAddress: email, historyId: 1 })).toString("base64");
    const res = await post(simSigned(), email, { message: { data } });
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe("invalid_push");
    expect(await maintenance.pushState(userId)).toEqual({ pendingJobs: 0, armed: false, dirty: false });
  });

  it("a good token with a body that is not a Gmail notification is 400", async () => {
    for (const body of [
      {},
      { message: { data: "!!!" } },
      { message: { data: Buffer.from("{}").toString("base64") } },
    ]) {
      const res = await post(simSigned(), email, body);
      expect(res.status).toBe(400);
    }
    expect(await maintenance.pushState(userId)).toEqual({ pendingJobs: 0, armed: false, dirty: false });
  });

  it("an address nobody here syncs is acknowledged (204) and queues nothing", async () => {
    const before = await tasks();
    const res = await post(simSigned(), `nobody-${randomBytes(4).toString("hex")}@example.com`);
    expect(res.status).toBe(204);
    expect(await maintenance.pushState(userId)).toEqual({ pendingJobs: 0, armed: false, dirty: false });
    expect(await tasks()).toEqual(before);
  });

  it("disconnecting Gmail stops the watch", async () => {
    const other = `live-${randomBytes(4).toString("hex")}@example.com`;
    await stack.simControl("POST", "/sim/accounts", { email: other, count: 1 });
    const leaving = await stack.signIn(other);
    await waitUntil(
      () => stack.simControl("GET", `/sim/accounts/${encodeURIComponent(other)}/watch`),
      "the sign-in's users.watch",
    );
    const res = await leaving.json("POST", "/api/account/disconnect");
    expect(res.status).toBe(204);
    const stats = await stack.simControl("GET", "/sim/stats");
    expect(stats.calls["users.stop"]).toBe(1);
    await expect(
      stack.simControl("GET", `/sim/accounts/${encodeURIComponent(other)}/watch`),
    ).rejects.toThrow();
  });
});

describe("POST /webhooks/gmail: limits and switches", () => {
  let stack: Stack | undefined;
  afterAll(async () => {
    await stack?.close();
  });

  it("past RATE_LIMIT_GMAIL_PUSH an address gets 429 with Retry-After, before any token is read", async () => {
    stack = await startStack({
      workers: 0,
      env: { GMAIL_PUSH_TOPIC: TOPIC, RATE_LIMIT_GMAIL_PUSH: "2/60" },
    });
    // Counted in Redis, shared by every web node, once the node's Redis client is up.
    await waitUntil(async () => stack!.web.ctx.redis?.status === "ready" || false, "redis");
    const hit = () => fetch(`${stack!.web.url}/webhooks/gmail`, { method: "POST" });
    expect((await hit()).status).toBe(401);
    expect((await hit()).status).toBe(401);
    const refused = await hit();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await refused.json()).error.code).toBe("rate_limited");
  });

  it("with push off the route answers 404", async () => {
    const off = await startStack({ workers: 0 });
    try {
      const res = await fetch(`${off.web.url}/webhooks/gmail`, { method: "POST" });
      expect(res.status).toBe(404);
    } finally {
      await off.close();
    }
  });
});
