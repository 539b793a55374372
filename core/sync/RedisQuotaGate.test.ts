import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { Sequelize } from "sequelize";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createGmailSimulator, type GmailSimulator } from "../../gmail-sim/server";
import { gmailClientFor } from "../../test/simGmail";
import { GmailAccount, User } from "../db/models";
import { openDatabase } from "../db/sequelize";
import { PostgresMailStore } from "./PostgresMailStore";
import { GmailQuota } from "./RedisQuotaGate";
import { syncMailbox } from "./syncMailbox";

// Patient retries: without the gate the simulator's quota answers many 429s on purpose.
const PATIENT = { attempts: 60, baseDelayMs: 20, maxDelayMs: 250 };

describe("Gmail quota shared through Redis", () => {
  let sim: GmailSimulator;
  let sequelize: Sequelize;
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
    const user = await User.create({ email });
    await GmailAccount.create({ userId: user.id, email, encryptedTokens: "unused-here" });
    return {
      userId: user.id,
      store: new PostgresMailStore(sequelize, user.id),
      gmail: await gmailClientFor(sim.url, email),
    };
  };

  beforeAll(async () => {
    sim = createGmailSimulator();
    await sim.listen(0, "127.0.0.1");
    ({ sequelize, release } = openDatabase(inject("databaseUrl")));
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
    await control("PUT", "/sim/quota", { userUnitsPerSecond: 600, projectUnitsPerSecond: 100_000 });
    const ungated = await mailbox(200);
    await control("DELETE", "/sim/stats");
    await syncMailbox(ungated.gmail, ungated.store, () => {}, { retry: PATIENT });
    const without = (await control("GET", "/sim/stats")).rejected as Record<string, number>;
    expect(Object.values(without).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

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

  it("with no limits configured, it is off", () => {
    expect(workerQuota({ userUnitsPerSecond: 0, projectUnitsPerSecond: 0 }).enabled).toBe(false);
    expect(workerQuota({ userUnitsPerSecond: 250, projectUnitsPerSecond: 0 }).enabled).toBe(true);
  });
});
