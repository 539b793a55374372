import { randomUUID } from "node:crypto";
import type { Sequelize } from "sequelize";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { createGmailSimulator, type GmailSimulator } from "../../gmail-sim/server";
import { distinctServed, type Served } from "../../gmail-sim/stats";
import { gmailClientFor } from "../../test/simGmail";
import { type Models, openDatabase } from "../db/sequelize";
import { EmailRepository } from "../repositories/email.repository";
import { type SyncProgressUpdate, syncMailbox } from "./syncMailbox";

const FAST_RETRY = { attempts: 10, baseDelayMs: 5, maxDelayMs: 50 };

describe("syncMailbox against the simulator and PostgreSQL", () => {
  let sim: GmailSimulator;
  let sequelize: Sequelize;
  let models: Models;
  let releaseDb: () => Promise<void>;
  let email: string;
  let store: EmailRepository;

  const control = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${sim.url}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const simIds = async (): Promise<Array<{ id: string; labelIds: string[] }>> =>
    (await control("GET", `/sim/accounts/${email}/messages?limit=100000`)).messages;
  const stats = async () => (await control("GET", "/sim/stats")).calls as Record<string, number>;
  const served = async () => (await control("GET", "/sim/stats")).served as Served;
  const unitsSpent = async () =>
    Object.values((await control("GET", "/sim/stats")).units.spent as Record<string, number>).reduce(
      (a, b) => a + b,
      0,
    );
  const rows = async () =>
    (await sequelize.query("SELECT gmail_id, labels FROM emails WHERE user_id = :u ORDER BY gmail_id", {
      replacements: { u: store ? (store as unknown as { userId: string }).userId : "" },
      type: "SELECT",
    })) as Array<{ gmail_id: string; labels: string[] }>;

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
    email = `core-${randomUUID().slice(0, 8)}@example.com`;
    await control("POST", "/sim/accounts", { email, count: 600 });
    const user = await models.User.create({ email });
    await models.GmailAccount.create({ userId: user.id, email, encryptedTokens: "unused-here" });
    store = new EmailRepository(sequelize, user.id);
    await control("DELETE", "/sim/stats");
  });

  it("first sync stores every message once, in pages of 500, with rising progress", async () => {
    const gmail = await gmailClientFor(sim.url, email);
    const steps: SyncProgressUpdate[] = [];
    const result = await syncMailbox(gmail, store, (p) => void steps.push(p), { batchSize: 50 });
    expect(result).toMatchObject({ mode: "full", added: 600, updated: 0, deleted: 0 });
    const stored = await rows();
    const expected = await simIds();
    expect(stored.map((r) => r.gmail_id)).toEqual(expected.map((m) => m.id).sort());
    const calls = await stats();
    expect(calls["messages.list"]).toBe(2);
    // Each message answered once, alone (messages.get) or with its thread (threads.get).
    expect(distinctServed(await served())).toBe(600);
    expect(calls["messages.get"]).toBeLessThanOrEqual(600);
    const fetching = steps.filter((s) => s.phase === "fetching").map((s) => s.processed);
    expect(fetching.length).toBeGreaterThan(5);
    expect(fetching).toEqual([...fetching].sort((a, b) => a - b));
    expect(steps.at(-1)).toEqual({ phase: "done", processed: 600, total: 600 });
    expect(await store.getCursor()).toBe((await control("GET", `/sim/accounts/${email}`)).historyId);
  });

  it("an unchanged mailbox makes no messages.get call the second time", async () => {
    const gmail = await gmailClientFor(sim.url, email);
    await syncMailbox(gmail, store, () => {});
    await control("DELETE", "/sim/stats");
    const again = await syncMailbox(gmail, store, () => {});
    expect(again).toMatchObject({ mode: "incremental", added: 0, updated: 0, deleted: 0 });
    expect((await stats())["messages.get"] ?? 0).toBe(0);
  });

  it("applies exactly 5 new, 2 deleted and 3 relabelled messages from history", async () => {
    const gmail = await gmailClientFor(sim.url, email);
    await syncMailbox(gmail, store, () => {});
    const before = await simIds();
    await control("POST", `/sim/accounts/${email}/messages`, { count: 5 });
    for (const m of before.slice(10, 12)) await control("DELETE", `/sim/accounts/${email}/messages/${m.id}`);
    // Three messages in the inbox, so that removing INBOX changes each of them: a seeded message
    // already starred and archived would take the change as a no-op (one run in ~60 drew one).
    const relabelled = before
      .slice(20)
      .filter((m) => m.labelIds.includes("INBOX"))
      .slice(0, 3);
    expect(relabelled).toHaveLength(3);
    for (const m of relabelled) {
      await control("POST", `/sim/accounts/${email}/messages/${m.id}/labels`, {
        add: ["STARRED"],
        remove: ["INBOX"],
      });
    }
    await control("DELETE", "/sim/stats");

    const result = await syncMailbox(gmail, store, () => {});
    expect(result).toMatchObject({ mode: "incremental", added: 5, deleted: 2, updated: 3 });
    expect((await stats())["messages.get"]).toBe(5);
    const stored = await rows();
    const truth = await simIds();
    expect(stored.map((r) => r.gmail_id)).toEqual(truth.map((m) => m.id).sort());
    const byId = new Map(stored.map((r) => [r.gmail_id, [...r.labels].sort()]));
    for (const m of truth) expect(byId.get(m.id)).toEqual([...m.labelIds].sort());
  });

  it("treats a move into spam or trash as a deletion, and a move back out as an arrival", async () => {
    const gmail = await gmailClientFor(sim.url, email);
    await syncMailbox(gmail, store, () => {});
    const [a, b] = await simIds();
    await control("POST", `/sim/accounts/${email}/messages/${a!.id}/labels`, {
      add: ["SPAM"],
      remove: ["INBOX"],
    });
    await control("POST", `/sim/accounts/${email}/messages/${b!.id}/labels`, { add: ["TRASH"] });
    const moved = await syncMailbox(gmail, store, () => {});
    expect(moved).toMatchObject({ mode: "incremental", deleted: 2, added: 0 });
    expect((await rows()).map((r) => r.gmail_id)).not.toContain(a!.id);

    await control("POST", `/sim/accounts/${email}/messages/${a!.id}/labels`, {
      remove: ["SPAM"],
      add: ["INBOX"],
    });
    await control("DELETE", "/sim/stats");
    const back = await syncMailbox(gmail, store, () => {});
    expect(back).toMatchObject({ mode: "incremental", added: 1, deleted: 0 });
    expect((await stats())["messages.get"]).toBe(1);
    expect((await rows()).map((r) => r.gmail_id)).toContain(a!.id);
    expect(await rows()).toHaveLength(599);
  });

  it("expired history falls back to a full sync that skips what is stored", async () => {
    const gmail = await gmailClientFor(sim.url, email);
    await syncMailbox(gmail, store, () => {});
    const before = await simIds();
    await control("POST", `/sim/accounts/${email}/messages`, { count: 3 });
    await control("DELETE", `/sim/accounts/${email}/messages/${before[0]!.id}`);
    await control("POST", `/sim/accounts/${email}/expire-history`);
    await control("DELETE", "/sim/stats");

    const result = await syncMailbox(gmail, store, () => {});
    expect(result).toMatchObject({ mode: "full", added: 3, deleted: 1 });
    const calls = await stats();
    expect(calls["history.list"]).toBe(1);
    expect(calls["messages.get"]).toBe(3);
    const stored = await rows();
    expect(stored).toHaveLength(602);
    expect(new Set(stored.map((r) => r.gmail_id)).size).toBe(602);
  });

  it("rides out 429, 500, 503 and dropped connections without losing or doubling a message", async () => {
    const gmail = await gmailClientFor(sim.url, email);
    await control("PUT", "/sim/faults", { rate429: 0.1, rate500: 0.05, rate503: 0.05, rateReset: 0.03 });
    try {
      const result = await syncMailbox(gmail, store, () => {}, { retry: FAST_RETRY });
      expect(result).toMatchObject({ mode: "full", added: 600 });
    } finally {
      await control("DELETE", "/sim/faults");
    }
    const faults = (await control("GET", "/sim/stats")).faults as Record<string, number>;
    expect(faults["429"]! + faults["500"]! + faults["503"]! + faults.reset!).toBeGreaterThan(10);
    const stored = await rows();
    expect(stored).toHaveLength(600);
    expect(stored.map((r) => r.gmail_id)).toEqual((await simIds()).map((m) => m.id).sort());
  });

  it("asks the quota gate before every Gmail call, retries included", async () => {
    const gmail = await gmailClientFor(sim.url, email);
    const asked: Record<string, number> = {};
    const quota = {
      take: async (method: string) => {
        asked[method] = (asked[method] ?? 0) + 1;
      },
    };
    await control("PUT", "/sim/faults", { rate500: 0.05 });
    try {
      await syncMailbox(gmail, store, () => {}, { quota, retry: FAST_RETRY });
    } finally {
      await control("DELETE", "/sim/faults");
    }
    const calls = await stats();
    const methods = ["labels.list", "users.getProfile", "messages.list", "messages.get", "threads.get"];
    expect(asked).toEqual(Object.fromEntries(methods.filter((m) => calls[m]! > 0).map((m) => [m, calls[m]])));
    expect(distinctServed(await served())).toBe(600);
  });

  it("a grant without Gmail access (403 insufficientPermissions) also asks for reauthorisation", async () => {
    const gmail = await gmailClientFor(sim.url, email, "openid");
    await expect(syncMailbox(gmail, store, () => {})).rejects.toMatchObject({ code: "reauth_required" });
  });

  it("a revoked grant stops the sync with reauth_required", async () => {
    const gmail = await gmailClientFor(sim.url, email);
    await control("POST", `/sim/accounts/${email}/revoke`);
    await expect(syncMailbox(gmail, store, () => {})).rejects.toMatchObject({ code: "reauth_required" });
  });

  it("a resumed full sync lists no page it already walked and refetches nothing already stored", async () => {
    const gmail = await gmailClientFor(sim.url, email);
    const key = `task-${randomUUID()}`;
    const historyAtStart = (await control("GET", `/sim/accounts/${email}`)).historyId;
    const stop = new AbortController();
    await expect(
      syncMailbox(
        gmail,
        store,
        (p) => {
          if (p.phase === "fetching" && p.processed >= 250) stop.abort();
        },
        { pageSize: 100, batchSize: 50, listingKey: key, signal: stop.signal },
      ),
    ).rejects.toThrow();
    const first = await stats();
    const firstUnits = await unitsSpent();
    const walked = (await store.listing(key).state())!;
    expect(walked.pages).toBeGreaterThanOrEqual(3);
    expect(walked.pages).toBeLessThan(6);
    expect(first["messages.list"]).toBe(walked.pages);
    const storedBefore = (await rows()).length;
    // Something arrives between the runs: the resumed run keeps the first run's cursor, so the
    // next incremental sync picks it up.
    await control("POST", `/sim/accounts/${email}/messages`, { count: 1 });
    await control("DELETE", "/sim/stats");

    const steps: SyncProgressUpdate[] = [];
    const result = await syncMailbox(gmail, store, (p) => void steps.push(p), {
      pageSize: 100,
      batchSize: 50,
      listingKey: key,
    });
    expect(result).toMatchObject({ mode: "full", added: 600 - storedBefore, updated: 0, deleted: 0 });
    const second = await stats();
    expect(second["users.getProfile"] ?? 0).toBe(0);
    expect(second["messages.list"]).toBe(6 - walked.pages);
    // No more than a get for each message not stored (a thread fetched whole costs two gets).
    expect(second["messages.get"]).toBeLessThanOrEqual(600 - storedBefore);
    const fetchUnits = (await unitsSpent()) - second["labels.list"]! - 5 * second["messages.list"]!;
    expect(fetchUnits).toBeLessThanOrEqual(5 * (600 - storedBefore));
    // Everything fetched and lost with the first run: what was in flight and not yet written,
    // at most 100 gets' worth (labels 1 unit, profile 1, a listing page 5).
    const firstFetchUnits = firstUnits - 1 - 1 - 5 * walked.pages;
    expect(firstFetchUnits + fetchUnits - 5 * 600).toBeLessThanOrEqual(5 * 100);
    expect(steps[0]?.phase).toBe("fetching");
    expect(steps[0]?.processed).toBeGreaterThanOrEqual(storedBefore);
    expect(result.historyId).toBe(historyAtStart);
    expect(await store.listing(key).state()).toBeNull();

    expect(await syncMailbox(gmail, store, () => {})).toMatchObject({ mode: "incremental", added: 1 });
    expect((await rows()).map((r) => r.gmail_id)).toEqual((await simIds()).map((m) => m.id).sort());
  });

  it("a full sync's deletion pass removes what Gmail no longer lists, even when the mailbox shrank during the listing", async () => {
    const gmail = await gmailClientFor(sim.url, email);
    await syncMailbox(gmail, store, () => {});
    const all = (await simIds()).map((m) => m.id);
    const goneBefore = all.slice(300, 302);
    const goneFromWalkedPage = all.slice(0, 3);
    const goneFromLastPage = all.slice(-4);
    for (const id of goneBefore) await control("DELETE", `/sim/accounts/${email}/messages/${id}`);

    let shrunk = false;
    const result = await syncMailbox(
      gmail,
      store,
      async (p) => {
        if (shrunk || p.phase !== "fetching") return;
        shrunk = true;
        for (const id of [...goneFromWalkedPage, ...goneFromLastPage])
          await control("DELETE", `/sim/accounts/${email}/messages/${id}`);
      },
      { forceFull: true, pageSize: 100 },
    );
    expect(shrunk).toBe(true);
    // Listed before they went: they stay until the history says so.
    expect(result).toMatchObject({ mode: "full", added: 0, deleted: 6 });
    const stored = new Set((await rows()).map((r) => r.gmail_id));
    for (const id of [...goneBefore, ...goneFromLastPage]) expect(stored.has(id)).toBe(false);
    for (const id of goneFromWalkedPage) expect(stored.has(id)).toBe(true);
    expect(stored.size).toBe(594);

    expect(await syncMailbox(gmail, store, () => {})).toMatchObject({ mode: "incremental", deleted: 3 });
    expect((await rows()).map((r) => r.gmail_id)).toEqual((await simIds()).map((m) => m.id).sort());
  });

  it("a failed page token from an earlier run starts the listing again instead of failing the sync", async () => {
    const gmail = await gmailClientFor(sim.url, email);
    const key = `task-${randomUUID()}`;
    const listing = store.listing(key);
    const { historyId } = await control("GET", `/sim/accounts/${email}`);
    await listing.addPage({ index: 0, ids: [], nextPageToken: "not-a-token" }, { historyId, estimate: 600 });
    await listing.markDone(0);
    const result = await syncMailbox(gmail, store, () => {}, { listingKey: key });
    expect(result).toMatchObject({ mode: "full", added: 600 });
    expect((await rows()).length).toBe(600);
  });
});
