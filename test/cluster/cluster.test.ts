import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { Cluster } from "ioredis";
import { afterEach, describe, expect, inject, it } from "vitest";
import { loadConfig } from "../../core/config";
import type { MailChange } from "../../core/events";
import { SyncQueue } from "../../core/queue";
import { createRedis, redisKeys } from "../../core/redis";
import { distinctServed } from "../../gmail-sim/stats";
import { startWebServer } from "../../server/WebServer";
import { ShardedEmitter } from "../../worker/ShardedEmitter";
import type { ApiClient } from "../ApiClient";
import { connectSocket, SnapshotLog } from "../socketClient";
import { startStack, storedCount, waitForTask, waitUntil } from "../stack";

/**
 * The app on a three-master Redis Cluster (test/cluster/globalSetup.ts starts it): every Redis
 * client is a cluster client, the sync queue is split into hash-tagged shards, web nodes listen
 * with the sharded Socket.IO adapter and workers publish with worker/ShardedEmitter.ts.
 */

const clusterEnv = () => ({ REDIS_CLUSTER_NODES: inject("redisClusterNodes") });

/** The quota gate's rates for the quota test: 80% of the simulator's, room for a loaded machine's jitter. */
const GATE = { GMAIL_USER_UNITS_PER_SECOND: "80", GMAIL_PROJECT_UNITS_PER_SECOND: "240" };

/** A client of the test cluster, to ask which node owns a slot. */
async function slotOwners(): Promise<Cluster> {
  const [host, port] = inject("redisClusterNodes").split(",")[0]!.split(":") as [string, string];
  const client = new Cluster([{ host, port: Number(port) }], { redisOptions: { maxRetriesPerRequest: 1 } });
  client.on("error", () => {});
  return client;
}

async function readStream(client: ApiClient, path: string): Promise<any[]> {
  const res = await client.raw("POST", path);
  expect(res.status).toBe(200);
  return (await res.text())
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

describe("Redis Cluster mode", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  it("20 users sync at once: every task completes on its user's shard, jobs spread over at least 3 shards on several nodes, progress reaches a socket on the other web node, Bull Board lists every shard", async () => {
    const stack = await startStack({
      webs: 2,
      workers: 1,
      env: { ...clusterEnv(), ADMIN_EMAILS: "user-0@cluster.example.com" },
    });
    cleanups.push(() => stack.close());
    const spawned = await stack.spawnWorker();
    cleanups.push(() => spawned.stop());
    const keys = redisKeys(stack.config);
    expect(stack.config.syncQueueShards).toBe(8);
    expect(stack.web.ctx.queue!.prefixes).toEqual(keys.syncQueues());
    expect(keys.syncQueue(3)).toBe(`{${stack.config.queuePrefix}:3}`);

    const total = 60;
    const emails = Array.from({ length: 20 }, (_, i) => `user-${i}@cluster.example.com`);
    await Promise.all(
      emails.map((email) => stack.simControl("POST", "/sim/accounts", { email, count: total })),
    );
    await stack.simControl("PUT", "/sim/faults", { latencyMs: 2 });
    const users = await Promise.all(emails.map((email) => stack.signIn(email)));

    // User 0 watches from the other web node: what a worker publishes must reach node 1's socket.
    const socket = await connectSocket(stack.webs[1]!.url, { cookie: users[0]!.cookieHeader });
    cleanups.push(async () => socket.close());
    const log = new SnapshotLog(socket);
    const changes: MailChange[] = [];
    socket.on("mail:changed", (change) => changes.push(change));

    const started = await Promise.all(users.map((u) => u.json("POST", "/api/emails/sync")));
    for (const s of started) expect(s.status).toBe(202);
    const finals = await Promise.all(users.map((u, i) => waitForTask(u, started[i]!.body.taskId, 90_000)));
    await stack.simControl("DELETE", "/sim/faults");
    for (const { final } of finals)
      expect(final).toMatchObject({ state: "completed", result: { added: total } });
    for (const email of emails) expect(await storedCount(stack, email)).toEqual({ n: total, d: total });

    // Each task row names its user's shard, and its job is on that shard's queue.
    const queue = stack.web.ctx.queue!;
    for (const [i, s] of started.entries()) {
      const row = (await stack.web.ctx.tasks.findById(s.body.taskId))!;
      const shard = keys.shardOf(row.userId);
      expect(row.queue).toBe(keys.syncQueue(shard));
      const job = await queue.getJob(row.id, row.userId);
      expect(job, `user ${i}'s job on shard ${shard}`).toBeDefined();
      expect(await job!.getState()).toBe("completed");
    }
    const perShard = (await queue.shardJobCounts("completed")).map((c) => c.completed ?? 0);
    expect(perShard.reduce((a, b) => a + b, 0)).toBe(20);
    const usedShards = perShard.flatMap((n, shard) => (n > 0 ? [shard] : []));
    expect(usedShards.length).toBeGreaterThanOrEqual(3);

    // The used shards' keys live on more than one node: the load is spread, not one slot's.
    const cluster = await slotOwners();
    cleanups.push(async () => cluster.disconnect());
    const owners = new Set<string>();
    const ranges = await cluster.cluster("SLOTS");
    for (const shard of usedShards) {
      const slot = await cluster.cluster("KEYSLOT", `${keys.syncQueue(shard)}:email-sync:completed`);
      const [, , master] = ranges.find(([from, to]) => slot >= from && slot <= to)!;
      owners.add(`${master![0]}:${master![1]}`);
    }
    expect(owners.size).toBeGreaterThanOrEqual(2);

    // Worker → SPUBLISH → web node 1's sharded adapter → the socket of user 0.
    const watched = started[0]!.body.taskId as string;
    await log.waitFor((s) => s.taskId === watched && s.state === "completed");
    expect(log.received.some((r) => r.snapshot.taskId === watched && r.snapshot.state === "active")).toBe(
      true,
    );

    // A sync that changed mail tells the user's room alone: that room's own sharded channel.
    await waitUntil(
      async () => changes.find((c) => c.taskId === watched) ?? false,
      "mail:changed on the other node",
    );
    expect(changes.find((c) => c.taskId === watched)).toMatchObject({ added: total, deleted: 0 });

    // Bull Board shows every shard as a queue of its own.
    const board = await users[0]!.json(
      "GET",
      "/admin/queues/api/queues?activeQueue=shard-0-email-sync&status=completed&page=1",
    );
    expect(board.status).toBe(200);
    const names = board.body.queues.map((q: { name: string }) => q.name).sort();
    expect(names).toEqual(
      keys
        .syncQueues()
        .map((_, n) => `shard-${n}-email-sync`)
        .sort(),
    );
  });

  it("a worker's change-feed signal (ShardedEmitter.serverSideEmit) wakes the followers of both web nodes on the cluster", async () => {
    const stack = await startStack({ webs: 2, workers: 0, env: clusterEnv() });
    cleanups.push(() => stack.close());
    const publisher = createRedis(stack.config, "worker");
    cleanups.push(async () => publisher.disconnect());
    const emitter = new ShardedEmitter(publisher, redisKeys(stack.config).socketIo);
    const heard = stack.webs.map((web) => {
      const users: string[] = [];
      const notify = web.ctx.changeSignal.notify.bind(web.ctx.changeSignal);
      web.ctx.changeSignal.notify = (userId) => {
        users.push(userId);
        notify(userId);
      };
      return users;
    });
    // Both nodes' adapters subscribe as they start; the signal is fire-and-forget, so send until heard.
    await waitUntil(async () => {
      emitter.serverSideEmit("changes:written", "user-a");
      return heard.every((users) => users.includes("user-a"));
    }, "the signal on both web nodes");
  });

  it("the quota gate holds the simulator's limits for two workers on the cluster: under 2% of Gmail calls rejected", async () => {
    const stack = await startStack({
      workers: 1,
      env: { ...clusterEnv(), ...GATE },
    });
    cleanups.push(() => stack.close());
    const spawned = await stack.spawnWorker(GATE);
    cleanups.push(() => spawned.stop());
    // The simulator's own limits, over rolling minutes as Google meters them and a little above the
    // gate's (its per-second settings × 60): the gate must keep every worker under them together.
    await stack.simControl("PUT", "/sim/quota", { userUnitsPerMinute: 6_000, projectUnitsPerMinute: 18_000 });
    cleanups.push(() => stack.simControl("DELETE", "/sim/quota"));
    const emails = Array.from({ length: 4 }, (_, i) => `quota-${i}@cluster.example.com`);
    await Promise.all(
      emails.map((email) => stack.simControl("POST", "/sim/accounts", { email, count: 100 })),
    );
    const users = await Promise.all(emails.map((email) => stack.signIn(email)));
    await stack.simControl("DELETE", "/sim/stats");

    // As a load balancer would: only once the node says it is ready (its cluster client can be
    // a moment behind the stack's start, and a node that is not ready answers 503).
    await waitUntil(
      async () => (await fetch(`${stack.web.url}/readyz`)).ok || false,
      "the web node to be ready",
    );
    const started = await Promise.all(users.map((u) => u.json("POST", "/api/emails/sync")));
    expect(started.map((s) => `${s.status} ${s.body?.error?.code ?? ""}`)).toEqual(users.map(() => "202 "));
    const finals = await Promise.all(users.map((u, i) => waitForTask(u, started[i]!.body.taskId, 90_000)));
    for (const { final } of finals)
      expect(final).toMatchObject({ state: "completed", result: { added: 100 } });

    const stats = await stack.simControl("GET", "/sim/stats");
    const sum = (o: Record<string, number> | undefined) => Object.values(o ?? {}).reduce((a, b) => a + b, 0);
    const calls = sum(stats.calls);
    const rejected = sum(stats.rejected);
    // Every message fetched (one by one, or in a thread fetched whole where that was cheaper).
    expect(distinctServed(stats.served)).toBe(4 * 100);
    expect(rejected / calls).toBeLessThan(0.02);
  });

  it("a worker SIGKILLed mid-sync: the other worker takes its job over on the same shard and finishes it", async () => {
    const stack = await startStack({ workers: 1, env: clusterEnv() });
    cleanups.push(() => stack.close());
    const total = 1000;
    await stack.simControl("POST", "/sim/accounts", { email: "kill@cluster.example.com", count: total });
    // Slow enough that the kill lands mid-sync: batched, 1,000 messages take about 2 s at 100 ms.
    await stack.simControl("PUT", "/sim/faults", { latencyMs: 100 });
    cleanups.push(() => stack.simControl("DELETE", "/sim/faults"));
    const user = await stack.signIn("kill@cluster.example.com");
    const survivor = stack.workers[0]!;
    await Promise.all(survivor.workers.map((w) => w.pause()));
    const doomed = await stack.spawnWorker();
    cleanups.push(() => doomed.stop(0));

    await waitUntil(
      async () => (await fetch(`${stack.web.url}/readyz`)).ok || false,
      "the web node to be ready",
    );
    const { status, body } = await user.json("POST", "/api/emails/sync");
    expect(status).toBe(202);
    const early = await waitUntil(async () => {
      const s = (await user.json("GET", body.statusUrl)).body;
      if (s.state === "completed") return "finished before the kill";
      return s.progress.phase === "fetching" && s.progress.processed >= 250 ? "mid-sync" : false;
    }, "the doomed worker to get going");
    expect(early).toBe("mid-sync");
    const exited = once(doomed.child, "exit");
    doomed.child.kill("SIGKILL");
    await exited;
    for (const w of survivor.workers) w.resume();

    const { final, seen } = await waitForTask(user, body.taskId, 90_000);
    expect(seen.some((s) => s.state === "active" && s.seq > 2_000_000)).toBe(true);
    expect(final).toMatchObject({ state: "completed", result: { mode: "full" } });
    expect(await storedCount(stack, "kill@cluster.example.com")).toEqual({ n: total, d: total });
    const row = (await stack.web.ctx.tasks.findById(body.taskId))!;
    expect(row).toMatchObject({ attempts: 2, leaseOwner: null });
    const job = await stack.web.ctx.queue!.getJob(row.id, row.userId);
    expect(await job!.getState()).toBe("completed");
  });

  it("a worker serving a subset of shards (WORKER_QUEUE_SHARDS) runs its shards' syncs; a user on a shard nobody serves is told no_workers until a worker serves it", async () => {
    const stack = await startStack({ workers: 0, env: clusterEnv() });
    cleanups.push(() => stack.close());
    const keys = redisKeys(stack.config);
    const userIdOf = async (email: string) => {
      const [row] = (await stack.web.ctx.sequelize.query("SELECT id FROM users WHERE email = :email", {
        replacements: { email },
        type: "SELECT",
      })) as Array<{ id: string }>;
      return row!.id;
    };
    // Two users on different shards.
    const picked: Array<{ email: string; client: ApiClient; shard: number }> = [];
    for (let i = 0; picked.length < 2 && i < 12; i++) {
      const email = `subset-${i}@cluster.example.com`;
      await stack.simControl("POST", "/sim/accounts", { email, count: 80 });
      const client = await stack.signIn(email);
      const shard = keys.shardOf(await userIdOf(email));
      if (!picked.some((p) => p.shard === shard)) picked.push({ email, client, shard });
    }
    const [a, b] = picked as [(typeof picked)[0], (typeof picked)[0]];
    const onlyA = await stack.spawnWorker({ WORKER_QUEUE_SHARDS: String(a.shard) });
    cleanups.push(() => onlyA.stop());

    const startedA = await a.client.json("POST", "/api/emails/sync");
    expect(startedA.status).toBe(202);
    // Nobody serves B's shard: the web node says so and offers the stream, as with no worker at all.
    const refusedB = await b.client.json("POST", "/api/emails/sync");
    expect(refusedB.status).toBe(503);
    expect(refusedB.body).toMatchObject({
      error: { code: "no_workers" },
      fallback: "/api/emails/sync/stream",
    });
    const { final } = await waitForTask(a.client, startedA.body.taskId);
    expect(final).toMatchObject({ state: "completed", result: { added: 80 } });
    const aRow = (await stack.web.ctx.tasks.findById(startedA.body.taskId))!;
    expect(aRow.queue).toBe(keys.syncQueue(a.shard));

    const onlyB = await stack.spawnWorker({ WORKER_QUEUE_SHARDS: String(b.shard) });
    cleanups.push(() => onlyB.stop());
    // Ready once its heartbeat names B's shard (the deployment's set already had A's worker).
    const startedB = await waitUntil(async () => {
      const res = await b.client.json("POST", "/api/emails/sync");
      return res.status === 202 ? res : false;
    }, "a worker serving B's shard");
    const bRow = (await stack.web.ctx.tasks.findById(startedB.body.taskId))!;
    expect(bRow.queue).toBe(keys.syncQueue(b.shard));
    const after = await waitForTask(b.client, startedB.body.taskId);
    expect(after.final).toMatchObject({ state: "completed", result: { added: 80 } });
  });

  it("a logout on web node A is refused on node B within a second though B had the session cached: the invalidation crosses the cluster", async () => {
    const stack = await startStack({ webs: 2, workers: 0, env: clusterEnv() });
    cleanups.push(() => stack.close());
    // Until a node hears invalidations it keeps entries 2 s only: wait for both to listen.
    await waitUntil(
      async () => stack.webs.every((w) => w.ctx.sessions.principalCache?.listening) || false,
      "both nodes to subscribe",
    );
    await stack.simControl("POST", "/sim/accounts", { email: "leave@cluster.example.com", count: 1 });
    const onA = await stack.signIn("leave@cluster.example.com");
    const onB = onA.on(stack.webs[1]!.url);
    const cacheB = stack.webs[1]!.ctx.sessions.principalCache!;
    expect((await onB.json("GET", "/api/me")).status).toBe(200);
    const hits = cacheB.stats.hits;
    expect((await onB.json("GET", "/api/me")).status).toBe(200);
    expect(cacheB.stats.hits).toBe(hits + 1);

    expect((await onA.json("POST", "/auth/logout")).status).toBe(204);
    const deadline = Date.now() + 1_000;
    let status = (await onB.json("GET", "/api/me")).status;
    while (status !== 401 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      status = (await onB.json("GET", "/api/me")).status;
    }
    expect(status).toBe(401);
  });

  it("with no worker alive, the streaming fallback syncs through the web node, its stream slot and quota on the cluster", async () => {
    const stack = await startStack({
      workers: 0,
      env: { ...clusterEnv(), GMAIL_USER_UNITS_PER_SECOND: "5000", GMAIL_PROJECT_UNITS_PER_SECOND: "10000" },
    });
    cleanups.push(() => stack.close());
    await stack.simControl("POST", "/sim/accounts", { email: "stream@cluster.example.com", count: 150 });
    const user = await stack.signIn("stream@cluster.example.com");
    const refused = await user.json("POST", "/api/emails/sync");
    expect(refused.status).toBe(503);
    expect(refused.body.fallback).toBe("/api/emails/sync/stream");
    const lines = await readStream(user, refused.body.fallback);
    expect(lines.at(-1)).toMatchObject({ state: "completed", result: { added: 150, mode: "full" } });
    expect((await user.json("GET", "/api/me")).body.emailCount).toBe(150);
  });
  it("with every cluster node unreachable, a web node answers 503 queue_unavailable instead of queueing the request, and the streaming fallback completes the sync", async () => {
    const stack = await startStack({ workers: 0, env: clusterEnv() });
    cleanups.push(() => stack.close());
    const cut = await startWebServer(
      {
        ...stack.web.ctx.config,
        port: 0,
        redisCluster: {
          nodes: [{ host: "127.0.0.1", port: 9 }],
          username: undefined,
          password: undefined,
          tls: false,
        },
      },
      { migrate: false },
    );
    cleanups.push(() => cut.close());
    await stack.simControl("POST", "/sim/accounts", { email: "nocluster@cluster.example.com", count: 90 });
    const user = (await stack.signIn("nocluster@cluster.example.com")).on(cut.url);
    const refused = await user.json("POST", "/api/emails/sync");
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe("queue_unavailable");
    const lines = await readStream(user, refused.body.fallback);
    expect(lines.at(-1)).toMatchObject({ state: "completed", result: { added: 90 } });
    const ready = await fetch(`${cut.url}/readyz`);
    expect(ready.status).toBe(503);
    expect((await ready.json()).failed).toEqual(["redis"]);
  });

  it("a web node closing while its fail-fast cluster client is still connecting leaves no unhandled rejection: BullMQ's start-up INFO that then fails has a listener", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    cleanups.push(async () => process.off("unhandledRejection", onUnhandled));
    const config = loadConfig({
      DATABASE_URL: inject("databaseUrl"),
      ...clusterEnv(),
      QUEUE_PREFIX: `${inject("queuePrefix")}-${randomBytes(3).toString("hex")}`,
      DATA_DIR: ".data/test",
    });
    const keys = redisKeys(config);
    const request = createRedis(config, "request");
    request.on("error", () => {});
    cleanups.push(async () => request.disconnect());
    // WebServer's order: the queue first (each shard's BullMQ connection still waiting for
    // Redis), then the client. Dropping the client the moment it is ready makes the start-up's
    // INFO meet a cluster that is not ready, as a slow node's deferred retry did on CI.
    const queue = SyncQueue.open(request, keys.syncQueues(), keys.shardOf);
    await queue.close();
    request.once("ready", () => request.disconnect());
    await once(request, "ready");
    await waitUntil(async () => request.status !== "ready", "the client to drop");
    // Long enough for every shard's start-up to end and a rejection to be reported.
    await new Promise((r) => setTimeout(r, 300));
    expect(unhandled.map((r) => (r instanceof Error ? r.message : String(r)))).toEqual([]);
  });
});
