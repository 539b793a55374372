import { randomUUID } from "node:crypto";
import type { Sequelize } from "sequelize";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { createGmailSimulator, type GmailSimulator } from "../../gmail-sim/server";
import { distinctServed, type Served } from "../../gmail-sim/stats";
import { SimControl } from "../../test/SimControl";
import { gmailClientFor } from "../../test/simGmail";
import { type Models, openDatabase } from "../db/sequelize";
import { BatchRefusals } from "../gmail/batchFallback";
import { gmailBatches } from "../gmail/GmailBatch";
import { EmailRepository } from "../repositories/email.repository";
import { syncMailbox } from "./syncMailbox";

const FAST_RETRY = { attempts: 10, baseDelayMs: 5, maxDelayMs: 50 };

describe("syncMailbox through Gmail's batch endpoint, against the simulator and PostgreSQL", () => {
  let sim: GmailSimulator;
  let sequelize: Sequelize;
  let models: Models;
  let releaseDb: () => Promise<void>;
  let email: string;
  let store: EmailRepository;
  let userId: string;

  const control = (method: string, path: string, body?: unknown) =>
    new SimControl(sim.url).call(method, path, body);
  const simIds = async (): Promise<string[]> =>
    (await control("GET", `/sim/accounts/${email}/messages?limit=100000`)).messages.map(
      (m: { id: string }) => m.id,
    );
  const stats = async () =>
    (await control("GET", "/sim/stats")) as {
      calls: Record<string, number>;
      faults: Record<string, number>;
      batches: number;
      served: Served;
    };
  const storedIds = async () =>
    (
      (await sequelize.query("SELECT gmail_id FROM emails WHERE user_id = :u ORDER BY gmail_id", {
        replacements: { u: userId },
        type: "SELECT",
      })) as Array<{ gmail_id: string }>
    ).map((r) => r.gmail_id);

  beforeAll(async () => {
    sim = createGmailSimulator();
    await sim.listen(0, "127.0.0.1");
    ({ sequelize, models, close: releaseDb } = openDatabase(inject("databaseUrl")));
  });
  afterAll(async () => {
    await releaseDb?.();
    await sim?.close();
  });

  beforeEach(async () => {
    email = `batch-${randomUUID().slice(0, 8)}@example.com`;
    await control("POST", "/sim/accounts", { email, count: 600 });
    const user = await models.User.create({ email });
    userId = user.id;
    await models.GmailAccount.create({ userId: user.id, email, encryptedTokens: "unused-here" });
    store = new EmailRepository(sequelize, user.id);
    await control("DELETE", "/sim/stats");
  });

  it("a full sync in batches stores every message exactly once, in far fewer HTTP requests than messages", async () => {
    const gmail = await gmailClientFor(sim.url, email);
    const result = await syncMailbox(gmail, store, () => {}, {
      messages: gmailBatches(50),
      concurrency: 50,
    });
    expect(result).toMatchObject({ mode: "full", added: 600, deleted: 0 });
    const stored = await storedIds();
    expect(stored).toEqual((await simIds()).sort());
    const { calls, batches, served } = await stats();
    // Every part is a call of its own (a message, or a whole thread), each message answered once.
    expect(distinctServed(served)).toBe(600);
    expect(calls["messages.get"]! + calls["threads.get"]!).toBeLessThanOrEqual(600);
    // 50 lanes as two requests of 25: at least 24 batches, and never a request per message.
    expect(batches).toBeGreaterThanOrEqual(24);
    expect(batches).toBeLessThan(60);
    // The next sync finds nothing to fetch: history says nothing changed.
    expect(await syncMailbox(gmail, store, () => {}, { messages: gmailBatches(50) })).toMatchObject({
      mode: "incremental",
      added: 0,
    });
  });

  it("parts answering 429 or 500 are retried alone: each failed part is asked once more, nothing else twice", async () => {
    const gmail = await gmailClientFor(sim.url, email);
    // Labels, profile and listing first, without faults: what is counted is the fetch.
    const asked: Record<string, number> = {};
    const quota = {
      take: async (method: string, _signal?: AbortSignal, _onWait?: unknown, times = 1) => {
        asked[method] = (asked[method] ?? 0) + times;
      },
    };
    await control("PUT", "/sim/faults", { rate429: 0.08, rate500: 0.08 });
    let result: Awaited<ReturnType<typeof syncMailbox>>;
    try {
      result = await syncMailbox(gmail, store, () => {}, {
        messages: gmailBatches(50),
        concurrency: 20,
        retry: FAST_RETRY,
        quota,
      });
    } finally {
      await control("DELETE", "/sim/faults");
    }
    expect(result).toMatchObject({ mode: "full", added: 600 });
    expect(await storedIds()).toEqual((await simIds()).sort());
    const { calls, faults, batches, served } = await stats();
    // A fetch call that faulted is one sent and not answered (a message's, or a thread's).
    const fetchFaults =
      calls["messages.get"]! - served["messages.get"] + calls["threads.get"]! - served.threads;
    // Faults also hit the listing's calls; every one of them, list or fetch, was retried alone.
    const allFaults = faults["429"]! + faults["500"]!;
    expect(fetchFaults).toBeGreaterThan(10);
    expect(allFaults - fetchFaults).toBe(
      calls["messages.list"]! + calls["labels.list"]! + calls["users.getProfile"]! - 4,
    );
    expect(distinctServed(served)).toBe(600);
    // The quota gate was asked once per part sent, retries included: a batch costs its parts.
    expect(asked["messages.get"]).toBe(calls["messages.get"]);
    expect(asked["threads.get"] ?? 0).toBe(calls["threads.get"]);
    // A request per batch, and one per retried part (a single message needs no envelope).
    expect(batches).toBeLessThan(600 / 5);
  });

  it("a part's Retry-After (429 with Retry-After: 1) is waited out before that part is asked again", async () => {
    const gmail = await gmailClientFor(sim.url, email);
    const retries: Array<{ until: number; at: number }> = [];
    await control("PUT", "/sim/faults", { rate429: 0.02, retryAfterSeconds: 1 });
    let result: Awaited<ReturnType<typeof syncMailbox>>;
    try {
      result = await syncMailbox(gmail, store, () => {}, {
        messages: gmailBatches(50),
        retry: FAST_RETRY,
        onWait: (w) => {
          if (w.reason === "retry") retries.push({ until: w.until, at: Date.now() });
        },
      });
    } finally {
      await control("DELETE", "/sim/faults");
    }
    expect(result).toMatchObject({ mode: "full", added: 600 });
    expect(await storedIds()).toEqual((await simIds()).sort());
    const { faults } = await stats();
    expect(retries.length).toBe(faults["429"]);
    expect(retries.length).toBeGreaterThan(0);
    // Our own backoff here is at most 50 ms: each wait is the server's second.
    for (const r of retries) expect(r.until - r.at).toBeGreaterThanOrEqual(950);
  });

  it("a message deleted between the listing and its batch is skipped, and the sync completes", async () => {
    const gmail = await gmailClientFor(sim.url, email);
    const all = await simIds();
    const doomed = all.slice(-5);
    let deleted = false;
    const result = await syncMailbox(
      gmail,
      store,
      async (p) => {
        if (deleted || p.phase !== "fetching") return;
        deleted = true;
        for (const id of doomed) await control("DELETE", `/sim/accounts/${email}/messages/${id}`);
      },
      { messages: gmailBatches(50), concurrency: 20, pageSize: 100 },
    );
    expect(deleted).toBe(true);
    expect(result).toMatchObject({ mode: "full", added: 595 });
    const stored = await storedIds();
    expect(stored).toHaveLength(595);
    for (const id of doomed) expect(stored).not.toContain(id);
  });

  it("a revoked grant stops a batched sync with reauth_required", async () => {
    const gmail = await gmailClientFor(sim.url, email);
    let revoked = false;
    await expect(
      syncMailbox(
        gmail,
        store,
        async (p) => {
          if (revoked || p.phase !== "fetching") return;
          revoked = true;
          await control("POST", `/sim/accounts/${email}/revoke`);
        },
        { messages: gmailBatches(50), concurrency: 20 },
      ),
    ).rejects.toMatchObject({ code: "reauth_required" });
    expect(revoked).toBe(true);
  });

  it("a batch endpoint answering 404 makes the sync fetch one messages.get each: it completes, every message stored once", async () => {
    const gmail = await gmailClientFor(sim.url, email);
    const refused: number[] = [];
    await control("PUT", "/sim/batch", { status: 404 });
    let result: Awaited<ReturnType<typeof syncMailbox>>;
    try {
      result = await syncMailbox(gmail, store, () => {}, {
        // A memory of refusing roots of this test's own: the other tests here batch at this root.
        messages: gmailBatches(50, {
          refusals: new BatchRefusals(),
          onRefused: (r) => refused.push(r.status),
        }),
        concurrency: 20,
        retry: FAST_RETRY,
      });
    } finally {
      await control("DELETE", "/sim/batch");
    }
    expect(result).toMatchObject({ mode: "full", added: 600, deleted: 0 });
    const stored = await storedIds();
    expect(stored).toHaveLength(600);
    expect(stored).toEqual((await simIds()).sort());
    const { calls, batches, served } = await stats();
    // Only the requests in flight when the first refusal came were batches; each message
    // answered once, by a single messages.get or threads.get.
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((s) => s === 404)).toBe(true);
    expect(batches).toBe(refused.length);
    expect(distinctServed(served)).toBe(600);
    expect(calls["messages.get"]).toBe(served["messages.get"]);
  });
});
