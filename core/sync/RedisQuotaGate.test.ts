import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { Sequelize } from "sequelize";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createGmailSimulator, type GmailSimulator } from "../../gmail-sim/server";
import { freePort } from "../../scripts/lib/devServices";
import { gmailClientFor } from "../../test/simGmail";
import { type Models, openDatabase } from "../db/sequelize";
import { EmailRepository } from "../repositories/email.repository";
import { GmailQuota } from "./RedisQuotaGate";
import { syncMailbox } from "./syncMailbox";

// Patient retries: without the gate the simulator's quota answers many 429s on purpose.
const PATIENT = { attempts: 60, baseDelayMs: 20, maxDelayMs: 250 };

describe("Gmail quota shared through Redis", () => {
  let sim: GmailSimulator;
  let sequelize: Sequelize;
  let models: Models;
  let release: () => Promise<void>;
  const redisClients: Redis[] = [];
  const prefix = `${inject("queuePrefix")}-quota-${randomUUID().slice(0, 6)}`;

  const control = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${sim.url}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status}`);
    return res.json();
  };
  /** A "worker": its own Redis connection and quota object, as a separate process would have. */
  const workerQuota = (limits: { userUnitsPerSecond: number; projectUnitsPerSecond: number }) => {
    const redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
    redisClients.push(redis);
    return new GmailQuota(redis, prefix, limits);
  };
  const mailbox = async (count: number) => {
    const email = `quota-${randomUUID().slice(0, 8)}@example.com`;
    await control("POST", "/sim/accounts", { email, count });
    const user = await models.User.create({ email });
    await models.GmailAccount.create({ userId: user.id, email, encryptedTokens: "unused-here" });
    return {
      userId: user.id,
      store: new EmailRepository(sequelize, user.id),
      gmail: await gmailClientFor(sim.url, email),
    };
  };

  beforeAll(async () => {
    sim = createGmailSimulator();
    await sim.listen(0, "127.0.0.1");
    ({ sequelize, models, close: release } = openDatabase(inject("databaseUrl")));
  });
  afterAll(async () => {
    await control("DELETE", "/sim/quota").catch(() => {});
    for (const r of redisClients) {
      const keys = await r.keys(`${prefix}:*`);
      if (keys.length) await r.del(...keys);
      r.disconnect();
    }
    await release?.();
    await sim?.close();
  });

  it("keeps a sync under Gmail's per-user quota, where the same sync without it meets 429s", async () => {
    // Without the gate: a quota tight enough that ten calls in flight outrun it on any machine.
    await control("PUT", "/sim/quota", { userUnitsPerSecond: 100, projectUnitsPerSecond: 100_000 });
    const ungated = await mailbox(60);
    await control("DELETE", "/sim/stats");
    await syncMailbox(ungated.gmail, ungated.store, () => {}, { retry: PATIENT });
    const without = (await control("GET", "/sim/stats")).rejected as Record<string, number>;
    expect(Object.values(without).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

    await control("PUT", "/sim/quota", { userUnitsPerSecond: 600, projectUnitsPerSecond: 100_000 });

    const gated = await mailbox(200);
    const quota = workerQuota({ userUnitsPerSecond: 500, projectUnitsPerSecond: 0 });
    await control("DELETE", "/sim/stats");
    const result = await syncMailbox(gated.gmail, gated.store, () => {}, {
      retry: PATIENT,
      quota: quota.forUser(gated.userId),
    });
    expect(result.added).toBe(200);
    const stats = await control("GET", "/sim/stats");
    expect(stats.rejected).toEqual({});
    expect(stats.calls["messages.get"]).toBe(200);
  });

  it("shares the project quota between workers: two syncs on two connections stay under it together", async () => {
    await control("PUT", "/sim/quota", { userUnitsPerSecond: 100_000, projectUnitsPerSecond: 700 });
    const a = await mailbox(120);
    const b = await mailbox(120);
    const limits = { userUnitsPerSecond: 0, projectUnitsPerSecond: 600 };
    const [first, second] = [workerQuota(limits), workerQuota(limits)];
    await control("DELETE", "/sim/stats");
    const [ra, rb] = await Promise.all([
      syncMailbox(a.gmail, a.store, () => {}, { retry: PATIENT, quota: first.forUser(a.userId) }),
      syncMailbox(b.gmail, b.store, () => {}, { retry: PATIENT, quota: second.forUser(b.userId) }),
    ]);
    expect([ra.added, rb.added]).toEqual([120, 120]);
    expect((await control("GET", "/sim/stats")).rejected).toEqual({});
  });

  it("a batch's parts are taken in one go, and a batch past a bucket's size is paid in parts rather than waiting for ever", async () => {
    const gate = workerQuota({ userUnitsPerSecond: 50, projectUnitsPerSecond: 0 }).forUser(randomUUID());
    const waits: number[] = [];
    const before = Date.now();
    // 8 gets = 40 units of a 50-unit bucket: at once, no wait.
    await gate.take("messages.get", undefined, (until) => waits.push(until), 8);
    expect(waits).toEqual([]);
    // 4 more = 20 units with 10 left: one wait for the whole batch, about 200 ms.
    await gate.take("messages.get", undefined, (until) => waits.push(until), 4);
    expect(waits.length).toBeGreaterThanOrEqual(1);
    expect(waits[0]).toBeGreaterThanOrEqual(before + 150);
    // 25 gets = 125 units, more than the bucket ever holds: paid in 50-unit parts, at its rate.
    const t = Date.now();
    await gate.take("messages.get", undefined, undefined, 25);
    expect(Date.now() - t).toBeGreaterThanOrEqual(2_000);
  });

  it("with no limits configured, it is off", () => {
    expect(workerQuota({ userUnitsPerSecond: 0, projectUnitsPerSecond: 0 }).enabled).toBe(false);
    expect(workerQuota({ userUnitsPerSecond: 250, projectUnitsPerSecond: 0 }).enabled).toBe(true);
  });
});

describe("Gmail quota while Redis is unreachable", () => {
  /**
   * A client that cannot reach Redis and says so at once: nothing listens on the port, commands
   * are not queued offline, and it does not reconnect.
   */
  const unreachableRedis = async () => {
    const redis = new Redis(`redis://127.0.0.1:${await freePort()}`, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    redis.on("error", () => {});
    return redis;
  };

  it("paces calls from this process's own buckets: at 10 units/s two messages.get pass at once, the third is told to wait about 500 ms", async () => {
    const redis = await unreachableRedis();
    try {
      const quota = new GmailQuota(redis, "unreachable", {
        userUnitsPerSecond: 10,
        projectUnitsPerSecond: 0,
      });
      const gate = quota.forUser("user-1");
      const waits: number[] = [];
      const record = (until: number) => void waits.push(until);
      const before = Date.now();
      await gate.take("messages.get", undefined, record);
      await gate.take("messages.get", undefined, record);
      expect(waits).toEqual([]);

      // The third would overspend: it reports when it may go, and the test stops it there.
      const stop = new AbortController();
      let toldAt = 0;
      const third = gate.take("messages.get", stop.signal, (until) => {
        toldAt = Date.now();
        record(until);
        stop.abort();
      });
      await expect(third).rejects.toMatchObject({ name: "AbortError" });
      expect(waits).toHaveLength(1);
      // 5 units at 10 units/s, counted from the first take: no sooner, and no later than 500 ms
      // from when it was told.
      expect(waits[0]).toBeGreaterThanOrEqual(before + 500);
      expect(waits[0]).toBeLessThanOrEqual(toldAt + 500);

      // Redis really was out of reach the whole time: the gate did not get its answers there.
      expect(redis.status).not.toBe("ready");
      await expect(redis.ping()).rejects.toThrow();
    } finally {
      redis.disconnect();
    }
  });

  it("keeps one local bucket per user, so one user's spent quota does not hold another back", async () => {
    const redis = await unreachableRedis();
    try {
      const quota = new GmailQuota(redis, "unreachable", {
        userUnitsPerSecond: 10,
        projectUnitsPerSecond: 0,
      });
      const waits: string[] = [];
      const first = quota.forUser("user-1");
      await first.take("messages.get");
      await first.take("messages.get");
      const stop = new AbortController();
      const spent = first.take("messages.get", stop.signal, () => {
        waits.push("user-1");
        stop.abort();
      });
      await expect(spent).rejects.toMatchObject({ name: "AbortError" });
      const second = quota.forUser("user-2");
      await second.take("messages.get", undefined, () => waits.push("user-2"));
      await second.take("messages.get", undefined, () => waits.push("user-2"));
      expect(waits).toEqual(["user-1"]);
    } finally {
      redis.disconnect();
    }
  });

  it("a paced call goes ahead after its wait instead of failing", async () => {
    const redis = await unreachableRedis();
    try {
      const quota = new GmailQuota(redis, "unreachable", {
        userUnitsPerSecond: 10,
        projectUnitsPerSecond: 0,
      });
      const gate = quota.forUser("user-1");
      const waits: number[] = [];
      await gate.take("messages.get");
      await gate.take("messages.get");
      await gate.take("messages.get", undefined, (until) => waits.push(until));
      // It waited (a timer may wake a millisecond before the bucket has refilled, and then tops
      // up with one more tiny wait), and then it went ahead.
      expect(waits.length).toBeGreaterThanOrEqual(1);
    } finally {
      redis.disconnect();
    }
  });
});
