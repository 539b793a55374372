import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { Sequelize } from "sequelize";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { createGmailSimulator, type GmailSimulator } from "../../gmail-sim/server";
import { SimControl } from "../../test/SimControl";
import { gmailClientFor } from "../../test/simGmail";
import { type Models, openDatabase } from "../db/sequelize";
import { gmailBatches } from "../gmail/GmailBatch";
import { resolveQuotaTable } from "../gmail/quotaProfile";
import { redisKeys } from "../redis";
import { EmailRepository } from "../repositories/email.repository";
import { fetchCostsOf, threadUnits } from "./fetch/threadPlan";
import type { MailMessage } from "./MailStore";
import { GmailQuotaBudget } from "./RedisQuotaBudget";
import type { SyncProgressUpdate } from "./SyncOptions";
import { syncMailbox } from "./syncMailbox";

/** The 20/40 table some guides list, with a per-user minute large enough not to slow the test. */
const TABLE = resolveQuotaTable({
  GMAIL_QUOTA_PROFILE: "2026",
  GMAIL_METHOD_COSTS: "messages.get:20,threads.get:40",
  GMAIL_USER_UNITS_PER_MINUTE: "100000000",
});
const COSTS = fetchCostsOf(TABLE.costs);
const MESSAGES = 1_200;

describe("the thread/message plan in a full sync, against the simulator, PostgreSQL and the Redis quota gate", () => {
  let sim: GmailSimulator;
  let sequelize: Sequelize;
  let models: Models;
  let releaseDb: () => Promise<void>;
  let redis: Redis;
  let budget: GmailQuotaBudget;
  let email: string;
  let userId: string;
  let store: EmailRepository;
  /** Every id the sync wrote, as often as it wrote it. */
  let writes: Map<string, number>;
  /** Units the gate let through, by method. */
  let gateUnits: Record<string, number>;
  const prefix = `${inject("queuePrefix")}-threads-${randomUUID().slice(0, 6)}`;

  const control = (method: string, path: string, body?: unknown) =>
    new SimControl(sim.url).call(method, path, body);
  const simMessages = async (): Promise<Array<{ id: string; threadId: string }>> =>
    (await control("GET", `/sim/accounts/${email}/messages?limit=100000`)).messages;
  const simUnits = async () =>
    ((await control("GET", "/sim/stats")) as { units: { spent: Record<string, number> } }).units.spent;
  /** The store, its writes counted per id. */
  const counting = () => {
    const spy = Object.create(store) as EmailRepository;
    spy.upsert = (messages: MailMessage[]) => {
      for (const m of messages) writes.set(m.gmailId, (writes.get(m.gmailId) ?? 0) + 1);
      return store.upsert(messages);
    };
    return spy;
  };
  const sync = async (progress: SyncProgressUpdate[], forceFull = false) =>
    syncMailbox(await gmailClientFor(sim.url, email), counting(), (u) => void progress.push(u), {
      messages: gmailBatches(50),
      methodCosts: TABLE.costs,
      quota: budget.forUser(userId),
      // Pages of 200 ids: threads cross page boundaries, as they do in a real listing.
      pageSize: 200,
      forceFull,
    });
  /** The fewest fetch units any plan could spend on these messages: each thread at its cheaper price. */
  const floorUnits = (messages: Array<{ threadId: string }>) => {
    const perThread = new Map<string, number>();
    for (const m of messages) perThread.set(m.threadId, (perThread.get(m.threadId) ?? 0) + 1);
    let units = 0;
    for (const n of perThread.values()) units += threadUnits(n, COSTS);
    return units;
  };

  beforeAll(async () => {
    sim = createGmailSimulator();
    await sim.listen(0, "127.0.0.1");
    ({ sequelize, models, close: releaseDb } = openDatabase(inject("databaseUrl")));
    redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    await control("DELETE", "/sim/quota");
    const keys = await redis?.keys(`${prefix}*`);
    if (keys?.length) await redis.del(...keys);
    redis?.disconnect();
    await releaseDb?.();
    await sim?.close();
  });

  beforeEach(async () => {
    email = `threads-${randomUUID().slice(0, 8)}@example.com`;
    await control("POST", "/sim/accounts", { email, count: MESSAGES, threading: "mixed" });
    await control("PUT", "/sim/quota", { costs: { "messages.get": 20, "threads.get": 40 } });
    const user = await models.User.create({ email });
    userId = user.id;
    await models.GmailAccount.create({ userId, email, encryptedTokens: "unused-here" });
    store = new EmailRepository(sequelize, userId);
    budget = new GmailQuotaBudget(
      redis,
      redisKeys({
        queuePrefix: `${prefix}-${randomUUID().slice(0, 6)}`,
        redisCluster: null,
        syncQueueShards: 1,
      }),
      TABLE,
    );
    gateUnits = {};
    budget.observer = {
      spent: (method, units) => {
        gateUnits[method] = (gateUnits[method] ?? 0) + units;
      },
      refused: () => {},
    };
    writes = new Map();
    await control("DELETE", "/sim/stats");
  });
  it("a first sync of 1-20-message threads under the 20/40 table stores every message exactly once, for fewer units than a messages.get each", async () => {
    const progress: SyncProgressUpdate[] = [];
    const result = await sync(progress);
    const listed = await simMessages();
    expect(result).toMatchObject({ mode: "full", added: MESSAGES, updated: 0, deleted: 0 });
    // Exactly once: every message of the mailbox written by one upsert, none twice.
    expect([...writes.keys()].sort()).toEqual(listed.map((m) => m.id).sort());
    expect([...writes.values()].every((n) => n === 1)).toBe(true);

    const spent = await simUnits();
    expect(spent["threads.get"]).toBeGreaterThan(0);
    const fetchUnits = (spent["messages.get"] ?? 0) + spent["threads.get"]!;
    const allGets = MESSAGES * COSTS.messageGet;
    expect(fetchUnits).toBeLessThan(0.8 * allGets);
    // The plan works page by page, yet lands near the cheapest plan that knows every thread whole.
    expect(fetchUnits).toBeLessThanOrEqual(1.1 * floorUnits(listed));
    // The gate paid for exactly what Gmail charged: the sync's count of units is honest.
    expect(gateUnits).toEqual(spent);

    // The snapshot's units per message are the run's own, listing and labels included.
    const lastSaid = progress.filter((u) => u.unitsPerMessage !== undefined).at(-1)!.unitsPerMessage!;
    const allUnits = Object.values(spent).reduce((a, b) => a + b, 0);
    expect(lastSaid).toBeLessThan(COSTS.messageGet);
    expect(lastSaid).toBeCloseTo(allUnits / MESSAGES, 0);
  });

  it("a full listing with part of each thread stored fetches only what is missing, and writes no stored message again", async () => {
    await sync([]);
    const listed = await simMessages();
    // Two in three messages lost from the mirror, spread through every thread.
    const lost = listed.filter((_, i) => i % 3 !== 0).map((m) => m.id);
    await store.remove(lost);
    writes = new Map();
    await control("DELETE", "/sim/stats");

    const result = await sync([], true);
    expect(result).toMatchObject({ mode: "full", added: lost.length, updated: 0, deleted: 0 });
    expect([...writes.keys()].sort()).toEqual([...lost].sort());
    expect([...writes.values()].every((n) => n === 1)).toBe(true);
    const spent = await simUnits();
    const fetchUnits = (spent["messages.get"] ?? 0) + (spent["threads.get"] ?? 0);
    expect(fetchUnits).toBeLessThan(lost.length * COSTS.messageGet);
    const lostSet = new Set(lost);
    expect(fetchUnits).toBeLessThanOrEqual(1.1 * floorUnits(listed.filter((m) => lostSet.has(m.id))));
  });
});
