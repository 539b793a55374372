import { Redis } from "ioredis";
import type { Sequelize } from "sequelize";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { beat } from "../../core/workerHeartbeat";
import { distinctServed } from "../../gmail-sim/stats";
import { ApiClient } from "../../test/ApiClient";
import { checkedStack, checkResponses } from "../../test/declaredResponses";
import { privateRedis } from "../../test/privateRedis";
import { type Stack, startStack, storedCount, waitForTask, waitUntil } from "../../test/stack";
import { startWebServer } from "../WebServer";

describe("sync pipeline through the queue", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = checkedStack(await startStack());
  });
  afterAll(() => stack?.close());

  it("signs in through the OAuth code flow; without a session the API answers 401", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "oauth@example.com", count: 3 });
    const anonymous = checkResponses(new ApiClient(stack.web.url));
    const denied = await anonymous.json("GET", "/api/me");
    expect(denied.status).toBe(401);
    expect(denied.body.error.code).toBe("unauthorized");
    expect((await anonymous.json("POST", "/api/emails/sync")).status).toBe(401);

    const user = await stack.signIn("oauth@example.com");
    const me = await user.json("GET", "/api/me");
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ email: "oauth@example.com", emailCount: 0, lastSyncAt: null });
    expect(typeof me.body.csrfToken).toBe("string");
  });

  it("syncs a 1,200-message mailbox and reports rising progress to a poller", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "alice@example.com", count: 1200 });
    await stack.simControl("PUT", "/sim/faults", { latencyMs: 2 });
    const alice = await stack.signIn("alice@example.com");
    const t0 = Date.now();
    const started = await alice.json("POST", "/api/emails/sync");
    const answeredIn = Date.now() - t0;
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({
      state: "queued",
      statusUrl: `/api/emails/sync/status/${started.body.taskId}`,
    });
    expect(answeredIn).toBeLessThan(5_000); // generous: the budget is measured in the benchmark

    const { final, seen } = await waitForTask(alice, started.body.taskId);
    await stack.simControl("DELETE", "/sim/faults");
    expect(final.state).toBe("completed");
    expect(final.result).toEqual({ added: 1200, updated: 0, deleted: 0, mode: "full" });
    expect(final.progress).toMatchObject({ phase: "done", processed: 1200, total: 1200, percent: 100 });
    const processed = seen
      .filter((s) => s.state === "active" && s.progress.phase === "fetching" && s.progress.total === 1200)
      .map((s) => s.progress.processed);
    expect(new Set(processed).size).toBeGreaterThan(2);
    expect(processed).toEqual([...processed].sort((a, b) => a - b));
    // Every running snapshot says its pace; with no quota limit (this stack's) the estimate comes
    // from the observed rate once there is one, and is always ahead of the snapshot.
    const running = seen.filter((s) => s.state === "active" && s.progress.phase === "fetching");
    for (const s of running) {
      expect(s.rate).toBeGreaterThanOrEqual(0);
      expect(s.rateLimitedBy === null || typeof s.rateLimitedBy === "string").toBe(true);
      // The run's own units per message: a get's 5 until it has measured, then what it spent
      // (threads fetched whole cost less a message; labels and listing add a few units).
      expect(s.unitsPerMessage).toBeGreaterThan(0);
      expect(s.unitsPerMessage).toBeLessThanOrEqual(5.5);
      if (s.etaAt !== undefined) expect(s.etaAt).toBeGreaterThan(s.at);
    }
    expect(running.some((s) => s.etaAt !== undefined)).toBe(true);
    expect(final.etaAt).toBeUndefined();
    const seqs = seen.map((s) => s.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    const me = await alice.json("GET", "/api/me");
    expect(me.body.emailCount).toBe(1200);
    expect(me.body.lastSyncAt).not.toBeNull();

    // Nothing changed: the next sync is incremental and fetches nothing.
    await stack.simControl("DELETE", "/sim/stats");
    const again = await alice.json("POST", "/api/emails/sync");
    const second = await waitForTask(alice, again.body.taskId);
    expect(second.final.result).toEqual({ added: 0, updated: 0, deleted: 0, mode: "incremental" });
    expect((await stack.simControl("GET", "/sim/stats")).calls["messages.get"] ?? 0).toBe(0);
  });

  it("two POSTs at once make one task", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "twice@example.com", count: 200 });
    const user = await stack.signIn("twice@example.com");
    const [a, b, c] = await Promise.all([
      user.json("POST", "/api/emails/sync"),
      user.json("POST", "/api/emails/sync"),
      user.json("POST", "/api/emails/sync"),
    ]);
    expect([a.status, b.status, c.status]).toEqual([202, 202, 202]);
    expect(new Set([a.body.taskId, b.body.taskId, c.body.taskId]).size).toBe(1);
    expect([a, b, c].filter((r) => r.body.joined === false)).toHaveLength(1);
    const status = await user.json("GET", a.body.statusUrl);
    expect(status.body).toMatchObject({ taskId: a.body.taskId, createdAt: expect.stringMatching(/^\d{4}-/) });
    const { final } = await waitForTask(user, a.body.taskId);
    expect(final.result.added).toBe(200);
  });

  it("never shows one user another user's task or email", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "owner@example.com", count: 20 });
    await stack.simControl("POST", "/sim/accounts", { email: "other@example.com", count: 5 });
    const owner = await stack.signIn("owner@example.com");
    const other = await stack.signIn("other@example.com");
    const { body } = await owner.json("POST", "/api/emails/sync");
    await waitForTask(owner, body.taskId);
    const mine = await owner.json("GET", "/api/emails?limit=1");
    const emailId = mine.body.emails[0].id;

    expect((await owner.json("GET", `/api/emails/${emailId}`)).status).toBe(200);
    const task = await other.json("GET", `/api/emails/sync/status/${body.taskId}`);
    expect(task.status).toBe(404);
    expect(task.body.error.code).toBe("not_found");
    expect((await other.json("GET", `/api/emails/${emailId}`)).status).toBe(404);
    expect((await other.json("GET", "/api/emails")).body.emails).toEqual([]);
  });

  it("a revoked grant fails the task with reauth_required", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "revoked@example.com", count: 10 });
    const user = await stack.signIn("revoked@example.com");
    await stack.simControl("POST", "/sim/accounts/revoked@example.com/revoke");
    const { body } = await user.json("POST", "/api/emails/sync");
    const { final } = await waitForTask(user, body.taskId);
    expect(final.state).toBe("failed");
    expect(final.error.code).toBe("reauth_required");
    expect((await user.json("GET", "/api/me")).body.gmailStatus).toBe("reauth_required");
  });

  it("with no worker alive: 503 no_workers, and the stream completes the sync, fetching in batches like a worker", async () => {
    const lonely = await startWebServer(
      { ...stack.webs[0]!.ctx.config, port: 0, queuePrefix: `${stack.config.queuePrefix}-empty` },
      { migrate: false },
    );
    try {
      await stack.simControl("POST", "/sim/accounts", { email: "noworker@example.com", count: 150 });
      const user = (await stack.signIn("noworker@example.com")).on(lonely.url);
      const refused = await user.json("POST", "/api/emails/sync");
      expect(refused.status).toBe(503);
      expect(refused.body).toEqual({
        error: { code: "no_workers", message: expect.any(String) },
        fallback: "/api/emails/sync/stream",
      });
      await stack.simControl("DELETE", "/sim/stats");
      const lines = await readStream(user, refused.body.fallback);
      expect(lines.at(-1)).toMatchObject({ state: "completed", result: { added: 150, mode: "full" } });
      expect(lines.some((l) => l.state === "active")).toBe(true);
      // The stream's lines carry the same pace fields as the worker's snapshots.
      const running = lines.filter((l) => l.state === "active" && l.progress.phase === "fetching");
      for (const l of running) {
        expect(l.unitsPerMessage).toBeGreaterThan(0);
        expect(l.unitsPerMessage).toBeLessThanOrEqual(5.5);
        if (l.etaAt !== undefined) expect(l.etaAt).toBeGreaterThan(l.at);
      }
      expect((await user.json("GET", "/api/me")).body.emailCount).toBe(150);
      // GMAIL_BATCH_SIZE (50 by default): 150 messages, alone or in their threads, in a handful
      // of batch requests.
      const stats = await stack.simControl("GET", "/sim/stats");
      expect(distinctServed(stats.served)).toBe(150);
      expect(stats.batches).toBeGreaterThan(0);
      expect(stats.batches).toBeLessThanOrEqual(15);
    } finally {
      await lonely.close();
    }
  });

  it("a task whose job is lost after the 202 says no_workers once it has waited 5 s jobless, and the stream takes it over", async () => {
    // A node of its own queue: the one live "worker" there is a heartbeat, with no process to
    // take jobs or sweep orphans, so nothing but the client can move the task.
    const prefix = `${stack.config.queuePrefix}-jobless`;
    const node = await startWebServer(
      { ...stack.webs[0]!.ctx.config, port: 0, queuePrefix: prefix },
      { migrate: false },
    );
    try {
      await beat(stack.web.ctx.redis!, prefix, "heartbeat-only", 60);
      await waitUntil(async () => (await fetch(`${node.url}/readyz`)).ok || false, "the node's Redis");
      await stack.simControl("POST", "/sim/accounts", { email: "jobless@example.com", count: 80 });
      const user = (await stack.signIn("jobless@example.com")).on(node.url);
      const started = await user.json("POST", "/api/emails/sync");
      expect(started.status).toBe(202);
      const taskId: string = started.body.taskId;
      await node.ctx.dispatcher.drain();
      expect(await node.ctx.queue!.getJob(taskId)).toBeDefined();
      // Redis loses the job (a flush, a failover without persistence): just now, it is an add on its way.
      expect(await node.ctx.queue!.remove(taskId)).toBe(true);
      await expectJoblessTakeover(user, node.ctx.sequelize, taskId, 80);
      expect(await storedCount(stack, "jobless@example.com")).toEqual({ n: 80, d: 80 });
    } finally {
      await stack.web.ctx.redis!.del(`${prefix}:workers:heartbeat`);
      await node.close();
    }
  });

  it("with Redis unreachable: 503 queue_unavailable, and the stream completes the sync", async () => {
    const cut = await startWebServer(
      { ...stack.webs[0]!.ctx.config, port: 0, redisUrl: "redis://127.0.0.1:9" },
      { migrate: false },
    );
    try {
      await stack.simControl("POST", "/sim/accounts", { email: "noredis@example.com", count: 120 });
      const user = (await stack.signIn("noredis@example.com")).on(cut.url);
      const refused = await user.json("POST", "/api/emails/sync");
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe("queue_unavailable");
      expect(refused.body.fallback).toBe("/api/emails/sync/stream");
      const lines = await readStream(user, refused.body.fallback);
      expect(lines.at(-1)).toMatchObject({ state: "completed", result: { added: 120 } });
      const status = await user.json("GET", `/api/emails/sync/status/${lines.at(-1).taskId}`);
      expect(status.body).toMatchObject({ state: "completed", result: { added: 120 } });
      const ready = await fetch(`${cut.url}/readyz`);
      expect(ready.status).toBe(503);
      expect((await ready.json()).failed).toEqual(["redis"]);
    } finally {
      await cut.close();
    }
  });

  it("while the queues' Redis client is down, readiness fails and a sync request is refused with the fallback, though the request client answers", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "queue-client@example.com", count: 10 });
    const user = await stack.signIn("queue-client@example.com");
    const { redis, queueRedis } = stack.web.ctx;
    expect(queueRedis).not.toBe(redis);
    queueRedis!.disconnect();
    try {
      expect(await redis!.ping()).toBe("PONG");
      const ready = await fetch(`${stack.web.url}/readyz`);
      expect(ready.status).toBe(503);
      expect((await ready.json()).failed).toEqual(["redis"]);
      const refused = await user.json("POST", "/api/emails/sync");
      expect(refused.status).toBe(503);
      expect(refused.body).toMatchObject({
        error: { code: "queue_unavailable" },
        fallback: "/api/emails/sync/stream",
      });
    } finally {
      await queueRedis!.connect();
    }
    expect((await fetch(`${stack.web.url}/readyz`)).status).toBe(200);
    const started = await user.json("POST", "/api/emails/sync");
    expect(started.status).toBe(202);
    const { final } = await waitForTask(user, started.body.taskId);
    expect(final).toMatchObject({ state: "completed", result: { added: 10 } });
  });

  it("a stream following a task held by a dead stream takes it over once the lease lapses", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "follower@example.com", count: 60 });
    const user = await stack.signIn("follower@example.com");
    const { tasks, lease } = stack.web.ctx;
    const userId = (await stack.web.ctx.models.User.findOne({ where: { email: "follower@example.com" } }))!
      .id;
    const { task } = await tasks.createOrJoin(userId, "stream");
    // Another node's stream claims the task and dies at once: nobody renews its lease.
    expect(await lease.claim(task.id, { owner: "dead-node", runner: "stream" })).toMatchObject({ ok: true });

    const lines = await readStream(user, "/api/emails/sync/stream");
    expect(lines[0]).toMatchObject({ taskId: task.id, state: "active" });
    expect(lines.at(-1)).toMatchObject({ taskId: task.id, state: "completed", result: { added: 60 } });
    const row = await tasks.findById(task.id);
    expect(row!.attempts).toBe(2);
  });

  it("a web node stopping mid-stream hands the task back, and a worker finishes it", async () => {
    const node = await startWebServer({ ...stack.webs[0]!.ctx.config, port: 0 }, { migrate: false });
    await stack.simControl("POST", "/sim/accounts", { email: "leaving@example.com", count: 1200 });
    await stack.simControl("PUT", "/sim/faults", { latencyMs: 4 });
    const user = (await stack.signIn("leaving@example.com")).on(node.url);
    const res = await user.raw("POST", "/api/emails/sync/stream");
    const reader = res.body!.getReader();
    let text = "";
    while (!/"processed":[1-9]\d\d/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const taskId = res.headers.get("x-task-id")!;
    await node.close();
    const { body } = await user.on(stack.web.url).json("GET", `/api/emails/sync/status/${taskId}`);
    expect(body.state).toBe("queued");

    const again = await user.on(stack.web.url).json("POST", "/api/emails/sync");
    expect(again.body).toMatchObject({ taskId, joined: true });
    const { final } = await waitForTask(user.on(stack.web.url), taskId);
    await stack.simControl("DELETE", "/sim/faults");
    expect(final).toMatchObject({ state: "completed", result: { mode: "full" } });
    expect((await user.on(stack.web.url).json("GET", "/api/me")).body.emailCount).toBe(1200);
  });
});

/**
 * A queued task with no job: it reads `worker` while it may be an add on its way, `no_workers`
 * once it has waited past JOBLESS_AFTER_MS (its `updated_at` set 6 s back), and the stream with
 * `?taskId=` then takes it over and finishes it with `count` added.
 */
async function expectJoblessTakeover(user: ApiClient, sequelize: Sequelize, taskId: string, count: number) {
  const fresh = await user.json("GET", `/api/emails/sync/status/${taskId}`);
  expect(fresh.body).toMatchObject({ state: "queued", waiting: "worker" });
  await sequelize.query("UPDATE sync_tasks SET updated_at = now() - interval '6 seconds' WHERE id = $1", {
    bind: [taskId],
  });
  const stale = await user.json("GET", `/api/emails/sync/status/${taskId}`);
  expect(stale.body).toMatchObject({ state: "queued", waiting: "no_workers" });
  const lines = await readStream(user, `/api/emails/sync/stream?taskId=${taskId}`);
  expect(lines.at(-1)).toMatchObject({ taskId, state: "completed", result: { added: count } });
}

async function readStream(client: ApiClient, path: string): Promise<any[]> {
  const res = await client.raw("POST", path);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
  const text = await res.text();
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

describe("a job's add that Redis refuses after the 202", () => {
  it("leaves the task queued (not failed) with no job; after 5 s its status says no_workers, and the stream finishes it", async () => {
    const redis = await privateRedis();
    const admin = new Redis(redis.url);
    const stack = await startStack({ workers: 0, env: { REDIS_URL: redis.url } });
    try {
      await waitUntil(async () => (await fetch(`${stack.web.url}/readyz`)).ok || false, "the node's Redis");
      // A live "worker" that is only a heartbeat: nothing takes jobs or sweeps orphans.
      await beat(stack.web.ctx.redis!, stack.config.queuePrefix, "heartbeat-only", 60);
      await stack.simControl("POST", "/sim/accounts", { email: "refused-add@example.com", count: 70 });
      const user = await stack.signIn("refused-add@example.com");
      // Redis now refuses every write (reads still answer): the add's script fails with OOM.
      await admin.config("SET", "maxmemory", "1");
      const started = await user.json("POST", "/api/emails/sync");
      expect(started.status).toBe(202);
      const taskId: string = started.body.taskId;
      await stack.web.ctx.dispatcher.drain();
      expect(await stack.web.ctx.queue!.getJob(taskId)).toBeUndefined();
      await admin.config("SET", "maxmemory", "0");

      await expectJoblessTakeover(user, stack.web.ctx.sequelize, taskId, 70);
      expect(await storedCount(stack, "refused-add@example.com")).toEqual({ n: 70, d: 70 });
    } finally {
      await admin.config("SET", "maxmemory", "0").catch(() => {});
      admin.disconnect();
      await stack.close();
      await redis.close();
    }
  });
});
