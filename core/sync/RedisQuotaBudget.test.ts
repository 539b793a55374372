import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createGmailSimulator, type GmailSimulator } from "../../gmail-sim/server";
import { gmailClientFor } from "../../test/simGmail";
import { DailyBudgetSpentError } from "../errors";
import { type GmailQuotaTable, pacificDay, resolveQuotaTable } from "../gmail/quotaProfile";
import { redisKeys } from "../redis";
import { GmailQuotaBudget } from "./RedisQuotaBudget";

/** The 2026 table with some values overridden (0 = no limit). */
function table(overrides: Record<string, string>): GmailQuotaTable {
  return resolveQuotaTable({ GMAIL_QUOTA_PROFILE: "2026", ...overrides });
}

describe("Gmail quota budget shared through Redis (per user and project per minute, per project per day)", () => {
  const clients: Redis[] = [];
  const prefix = `${inject("queuePrefix")}-budget-${randomUUID().slice(0, 6)}`;
  /** A "worker": its own Redis connection and budget, as a separate process would have. */
  const keysOf = (space: string) =>
    redisKeys({ queuePrefix: `${prefix}-${space}`, redisCluster: null, syncQueueShards: 1 });
  /** A "worker": its own Redis connection and budget, as a separate process would have; a test's own keys. */
  const worker = (t: GmailQuotaTable, now?: () => number, space = randomUUID().slice(0, 8)) => {
    const redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
    clients.push(redis);
    return new GmailQuotaBudget(redis, keysOf(space), t, now);
  };

  afterAll(async () => {
    for (const r of clients) {
      const keys = await r.keys(`${prefix}-*`);
      if (keys.length) await r.del(...keys);
      r.disconnect();
    }
  });

  it("takes from the user's minute until it is spent, then names the user's limit and the wait; another user has a minute of their own", async () => {
    const budget = worker(table({ GMAIL_USER_UNITS_PER_MINUTE: "100" }));
    const alice = budget.forUser(randomUUID());
    for (let i = 0; i < 20; i++) expect(await alice.spend("messages.get")).toEqual({ ok: true });
    const refused = await alice.spend("messages.get");
    expect(refused).toMatchObject({ ok: false, limit: "user" });
    expect(refused.ok === false && refused.waitMs > 0 && refused.waitMs <= 61_000).toBe(true);
    expect(await budget.forUser(randomUUID()).spend("messages.get")).toEqual({ ok: true });
  });

  it("tells its observer the units each take spent, and the ones it held back or Gmail refused, by reason", async () => {
    const budget = worker(table({ GMAIL_USER_UNITS_PER_MINUTE: "100" }));
    const seen: string[] = [];
    budget.observer = {
      spent: (method, units) => void seen.push(`spent ${method} ${units}`),
      refused: (method, units, reason, by) => void seen.push(`${by} ${method} ${units} ${reason}`),
    };
    const gate = budget.forUser(randomUUID());
    await gate.take("messages.get", undefined, undefined, 20);
    const stop = new AbortController();
    await expect(gate.take("messages.list", stop.signal, () => stop.abort())).rejects.toThrow();
    await gate.refused!("project", "messages.get");
    expect(seen).toEqual([
      "spent messages.get 100",
      "gate messages.list 5 userRateLimitExceeded",
      "gmail messages.get 5 rateLimitExceeded",
    ]);
  });

  it("charges the table's costs: at threads.get 40, a 200-unit minute pays five thread reads", async () => {
    const budget = worker(
      table({ GMAIL_USER_UNITS_PER_MINUTE: "200", GMAIL_METHOD_COSTS: "threads.get:40" }),
    );
    const gate = budget.forUser(randomUUID());
    for (let i = 0; i < 5; i++) expect((await gate.spend("threads.get")).ok).toBe(true);
    expect(await gate.spend("threads.get")).toMatchObject({ ok: false, limit: "user" });
    expect(budget.cost("messages.get", 50)).toBe(250);
  });

  it("shares the project's minute between workers and takes nothing from a user whose call the project refuses", async () => {
    const t = table({ GMAIL_PROJECT_UNITS_PER_MINUTE: "100" });
    const [first, second] = [worker(t, undefined, "shared"), worker(t, undefined, "shared")];
    const bob = randomUUID();
    for (let i = 0; i < 20; i++)
      expect((await first.forUser(randomUUID()).spend("messages.get")).ok).toBe(true);
    expect(await second.forUser(bob).spend("messages.get")).toMatchObject({ ok: false, limit: "project" });
    expect(await clients[clients.length - 1]!.hgetall(keysOf("shared").quotaUser(bob))).toEqual({});
  });

  it("refuses the project's day until midnight Pacific Time, then counts a new day", async () => {
    const clock = { now: Date.parse("2026-12-08T07:59:00Z") }; // 23:59 PST on 7 December
    const budget = worker(table({ GMAIL_PROJECT_UNITS_PER_DAY: "100" }), () => clock.now);
    const gate = budget.forUser(randomUUID());
    expect((await gate.spend("users.watch")).ok).toBe(true);
    expect(await gate.spend("users.getProfile")).toEqual({ ok: false, waitMs: 60_000, limit: "day" });
    clock.now = Date.parse("2026-12-08T08:00:00Z");
    expect(pacificDay(clock.now)).toBe("2026-12-08");
    expect((await gate.spend("users.getProfile")).ok).toBe(true);
  });

  it("first syncs spend at most 95% of the day, each user a fair share of it, and stop with DailyBudgetSpentError where other syncs still pay", async () => {
    const clock = { now: Date.parse("2026-12-08T20:00:00Z") };
    const budget = worker(table({ GMAIL_PROJECT_UNITS_PER_DAY: "1000" }), () => clock.now);
    const [alice, bob] = [randomUUID(), randomUUID()];
    const aliceFirst = budget.forUser(alice).forFullSync();
    // Alone, Alice's first sync may spend the whole 950 of first syncs' part.
    for (let i = 0; i < 60; i++) expect((await aliceFirst.spend("messages.get")).ok).toBe(true);
    // Bob's first sync arrives: each now has 475; Alice has spent 300 and goes on to 475.
    const bobFirst = budget.forUser(bob).forFullSync();
    expect((await bobFirst.spend("messages.get")).ok).toBe(true);
    for (let i = 0; i < 35; i++) expect((await aliceFirst.spend("messages.get")).ok).toBe(true);
    expect(await aliceFirst.spend("messages.get")).toMatchObject({ ok: false, limit: "day" });
    await expect(aliceFirst.take("messages.get")).rejects.toBeInstanceOf(DailyBudgetSpentError);
    await expect(aliceFirst.take("messages.get")).rejects.toMatchObject({
      until: Date.parse("2026-12-09T08:00:00Z"),
    });
    // Bob's share is his: he reaches 475 too, then the first syncs' part is spent (950).
    for (let i = 0; i < 94; i++) expect((await bobFirst.spend("messages.get")).ok).toBe(true);
    expect(await bobFirst.spend("messages.get")).toMatchObject({ ok: false, limit: "day" });
    // An incremental sync still pays from the kept 50 units.
    for (let i = 0; i < 10; i++) expect((await budget.forUser(alice).spend("messages.get")).ok).toBe(true);
    expect(await budget.forUser(alice).spend("messages.get")).toMatchObject({ ok: false, limit: "day" });
  });

  it("a parked user leaves the fair share: the users still running split what the parked ones left of the first syncs' part", async () => {
    const clock = { now: Date.parse("2026-12-08T20:00:00Z") };
    const budget = worker(table({ GMAIL_PROJECT_UNITS_PER_DAY: "1000" }), () => clock.now);
    // Batches of 20 messages.get: 100 units a step, so a user parks below an uneven share.
    const step = async (gate: ReturnType<typeof budget.forUser>) => (await gate.spend("messages.get", 20)).ok;
    const users = [randomUUID(), randomUUID(), randomUUID(), randomUUID()].map((u) =>
      budget.forUser(u).forFullSync(),
    );
    // Four first syncs spend at once: a share of 950 ÷ 4 = 237.5 each.
    for (const gate of users) expect(await step(gate)).toBe(true);
    const spentUntilParked = async (gate: (typeof users)[number]) => {
      let units = 100;
      while (await step(gate)) units += 100;
      return units;
    };
    const [first, second, third, last] = users as [
      (typeof users)[0],
      (typeof users)[0],
      (typeof users)[0],
      (typeof users)[0],
    ];
    // The first parks at 200 (a third step would pass 237.5): three still compete for 750.
    expect(await spentUntilParked(first)).toBe(200);
    // 750 ÷ 3 = 250: the second parks at 200 too, then 550 ÷ 2 = 275: the third at 200.
    expect(await spentUntilParked(second)).toBe(200);
    expect(await spentUntilParked(third)).toBe(200);
    // The last user alone competes for the 350 the others left, not for 237.5 of 950.
    expect(await spentUntilParked(last)).toBe(300);
    // A parked user that runs again before the reset rejoins with what it spent, and is held
    // to its share again: nothing of the first syncs' part is left.
    expect(await step(first)).toBe(false);
  });

  it("a finished first sync leaves the fair share: the users still running split what it did not spend", async () => {
    const clock = { now: Date.parse("2026-12-08T20:00:00Z") };
    const budget = worker(table({ GMAIL_PROJECT_UNITS_PER_DAY: "1000" }), () => clock.now);
    const [small, big] = [randomUUID(), randomUUID()];
    const smallFirst = budget.forUser(small).forFullSync();
    const bigFirst = budget.forUser(big).forFullSync();
    // Both first syncs spend at once: 475 each of the first syncs' 950.
    expect((await smallFirst.spend("messages.get", 20)).ok).toBe(true);
    expect((await bigFirst.spend("messages.get")).ok).toBe(true);
    // The small mailbox's sync ends having spent 100: the big one alone competes for the 850 left.
    await budget.forUser(small).fullSyncEnded!();
    let units = 5;
    while ((await bigFirst.spend("messages.get")).ok) units += 5;
    expect(units).toBe(850);
  });

  it("learns a lower user limit from Google's refusals, shared by every worker, and recovers it minute by minute", async () => {
    const clock = { now: Date.parse("2026-12-08T20:00:00Z") };
    const t = table({ GMAIL_USER_UNITS_PER_MINUTE: "100" });
    const space = randomUUID().slice(0, 8);
    const [first, second] = [worker(t, () => clock.now, space), worker(t, () => clock.now, space)];
    const user = randomUUID();
    await first.forUser(user).refused!("user");
    // The other worker plans with 70 of the table's 100 units: fourteen messages.get, not twenty.
    const gate = second.forUser(user);
    for (let i = 0; i < 14; i++) expect((await gate.spend("messages.get")).ok).toBe(true);
    expect(await gate.spend("messages.get")).toMatchObject({ ok: false, limit: "user" });
    // Another user's minute and the project's are untouched.
    for (let i = 0; i < 20; i++)
      expect((await second.forUser(randomUUID()).spend("messages.get")).ok).toBe(true);
    // Six quiet minutes later (by the gate's clock) the table's 100 hold again: six more fit.
    clock.now += 6 * 60_000;
    for (let i = 0; i < 6; i++) expect((await gate.spend("messages.get")).ok).toBe(true);
    expect(await gate.spend("messages.get")).toMatchObject({ ok: false, limit: "user" });
  });

  it("take() waits its turn and reports until when, paying a batch larger than a minute in parts", async () => {
    const budget = worker(table({ GMAIL_USER_UNITS_PER_MINUTE: "100" }));
    const gate = budget.forUser(randomUUID());
    await gate.take("messages.get", undefined, undefined, 20);
    const waits: Array<[number, string | undefined]> = [];
    const controller = new AbortController();
    const taking = gate.take("messages.get", controller.signal, (until, limit) => {
      waits.push([until, limit]);
      controller.abort();
    });
    await expect(taking).rejects.toThrow();
    expect(waits).toHaveLength(1);
    expect(waits[0]![0] - Date.now()).toBeGreaterThan(0);
    expect(waits[0]![1]).toBe("user");
  });

  it("while Redis cannot answer, spends from this process's own windows and day at the same limits", async () => {
    const down = new Redis({
      port: 1,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    const clock = { now: Date.parse("2026-12-08T07:59:00Z") };
    const budget = new GmailQuotaBudget(
      down,
      prefix,
      table({ GMAIL_USER_UNITS_PER_MINUTE: "100", GMAIL_PROJECT_UNITS_PER_DAY: "150" }),
      () => clock.now,
    );
    const alice = budget.forUser("alice");
    for (let i = 0; i < 20; i++) expect((await alice.spend("messages.get")).ok).toBe(true);
    expect(await alice.spend("messages.get")).toMatchObject({ ok: false, limit: "user" });
    for (let i = 0; i < 10; i++) expect((await budget.forUser("bob").spend("messages.get")).ok).toBe(true);
    expect(await budget.forUser("carol").spend("messages.get")).toEqual({
      ok: false,
      waitMs: 60_000,
      limit: "day",
    });
    down.disconnect();
  });

  it("with every limit 0 it is off", () => {
    const off = worker(
      table({
        GMAIL_USER_UNITS_PER_MINUTE: "0",
        GMAIL_PROJECT_UNITS_PER_MINUTE: "0",
        GMAIL_PROJECT_UNITS_PER_DAY: "0",
      }),
    );
    expect(off.enabled).toBe(false);
    expect(worker(table({})).enabled).toBe(true);
  });

  it("on a cluster every key of one spend carries the quota hash tag, so the script runs in one slot", () => {
    const keys = redisKeys({
      queuePrefix: "p",
      redisCluster: { nodes: [], username: undefined, password: undefined, tls: false },
      syncQueueShards: 8,
    });
    const tag = (key: string) => /\{([^}]*)\}/.exec(key)?.[1];
    expect(tag(keys.quotaUser("u"))).toBe("p:quota");
    expect(tag(`${keys.quotaProject}:day:2026-12-07`)).toBe("p:quota");
  });
});

describe("the budget against the simulator's 2026 quota", () => {
  let sim: GmailSimulator;
  const clients: Redis[] = [];
  const prefix = `${inject("queuePrefix")}-budget-sim-${randomUUID().slice(0, 6)}`;

  beforeAll(async () => {
    sim = createGmailSimulator({ accounts: [{ email: "budget@example.com", count: 40 }] });
    await sim.listen(0, "127.0.0.1");
  });
  afterAll(async () => {
    for (const r of clients) {
      const keys = await r.keys(`${prefix}:*`);
      if (keys.length) await r.del(...keys);
      r.disconnect();
    }
    await sim?.close();
  });

  it("agrees with Gmail on the same minute: every call the budget admits is served, and the next one Gmail would refuse it holds back", async () => {
    const put = await fetch(`${sim.url}/sim/quota`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ profile: "2026", userUnitsPerMinute: 100 }),
    });
    expect(put.status).toBe(200);
    const redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
    clients.push(redis);
    const budget = new GmailQuotaBudget(redis, prefix, table({ GMAIL_USER_UNITS_PER_MINUTE: "100" }));
    const gate = budget.forUser(randomUUID());
    const gmail = await gmailClientFor(sim.url, "budget@example.com");
    const { data } = await gmail.users.messages.list({ userId: "me", maxResults: 30 });
    // The list took 5 of Gmail's 100 units; the budget pays for it too.
    expect((await gate.spend("messages.list")).ok).toBe(true);
    let served = 0;
    for (const m of data.messages!) {
      if (!(await gate.spend("messages.get")).ok) break;
      await gmail.users.messages.get({ userId: "me", id: m.id!, format: "minimal" });
      served++;
    }
    expect(served).toBe(19);
    const refused = await gmail.users.messages
      .get({ userId: "me", id: data.messages![19]!.id!, format: "minimal" })
      .then(
        () => undefined,
        (error: { status?: number }) => error.status,
      );
    expect(refused).toBe(403);
  });
});
