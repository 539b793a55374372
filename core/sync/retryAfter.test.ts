import { randomUUID } from "node:crypto";
import type { Sequelize } from "sequelize";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { createGmailSimulator, type GmailSimulator } from "../../gmail-sim/server";
import { gmailClientFor } from "../../test/simGmail";
import { type Models, openDatabase } from "../db/sequelize";
import { EmailRepository } from "../repositories/email.repository";
import { type SyncWait, syncMailbox } from "./syncMailbox";

// Our own backoff is at most 50 ms here, so any wait of a second or more is Retry-After's doing.
const FAST_RETRY = { attempts: 10, baseDelayMs: 5, maxDelayMs: 50 };
const MESSAGES = 40;

/** The k-th smallest of each list: a pairing where each `a` ≥ its `b` + gap exists only if this holds. */
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

describe("a sync through googleapis honours Gmail's Retry-After", () => {
  let sim: GmailSimulator;
  let sequelize: Sequelize;
  let models: Models;
  let releaseDb: () => Promise<void>;
  /** Every Retry-After the simulator sent: its own clock when it wrote the header, and the value. */
  let sent: Array<{ at: number; value: string }> = [];

  const control = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${sim.url}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };

  const mailbox = async () => {
    const email = `retry-after-${randomUUID().slice(0, 8)}@example.com`;
    await control("POST", "/sim/accounts", { email, count: MESSAGES });
    const user = await models.User.create({ email });
    await models.GmailAccount.create({ userId: user.id, email, encryptedTokens: "unused-here" });
    const store = new EmailRepository(sequelize, user.id);
    const gmail = await gmailClientFor(sim.url, email);
    const storedIds = async () =>
      (
        (await sequelize.query("SELECT gmail_id FROM emails WHERE user_id = :u ORDER BY gmail_id", {
          replacements: { u: user.id },
          type: "SELECT",
        })) as Array<{ gmail_id: string }>
      ).map((r) => r.gmail_id);
    const simIds = async () =>
      ((await control("GET", `/sim/accounts/${email}/messages?limit=1000`)).messages as Array<{ id: string }>)
        .map((m) => m.id)
        .sort();
    return { store, gmail, storedIds, simIds };
  };

  /** Runs one full sync under the given faults; answers its result, every wait it reported, and the faults met. */
  const syncUnder = async (faults: Record<string, unknown>) => {
    const box = await mailbox();
    await control("DELETE", "/sim/stats");
    await control("PUT", "/sim/faults", faults);
    const waits: SyncWait[] = [];
    let result: Awaited<ReturnType<typeof syncMailbox>>;
    try {
      result = await syncMailbox(box.gmail, box.store, () => {}, {
        retry: FAST_RETRY,
        onWait: (wait) => void waits.push(wait),
      });
    } finally {
      await control("DELETE", "/sim/faults");
    }
    const met = (await control("GET", "/sim/stats")).faults as Record<string, number>;
    return { ...box, result, waits, met, faults: (met["429"] ?? 0) + (met["503"] ?? 0) };
  };

  beforeAll(async () => {
    ({ sequelize, models, close: releaseDb } = openDatabase(inject("databaseUrl")));
  });
  // A simulator of its own per test: its fault draws start from the same seed whatever ran before.
  beforeEach(async () => {
    sent = [];
    sim = createGmailSimulator();
    await sim.listen(0, "127.0.0.1");
    // White-box: note each Retry-After the simulator hands out, on its own clock.
    const faults = sim.state.faults;
    const original = faults.retryAfterHeaders.bind(faults);
    faults.retryAfterHeaders = (now = Date.now()) => {
      const headers = original(now);
      if (headers) sent.push({ at: now, value: headers["Retry-After"]! });
      return headers;
    };
  });
  afterEach(async () => {
    await sim?.close();
  });
  afterAll(async () => {
    await releaseDb?.();
  });

  it("Retry-After: 1 on 429s and 503s: every retry is reported with an until at least a second after Google answered, and the sync stores every message once", async () => {
    // Rates high enough that the simulator's seeded draws give this sync both statuses within its
    // first calls, however many calls the plan makes and in whatever order the lanes send them.
    const run = await syncUnder({ rate429: 0.15, rate503: 0.1, retryAfterSeconds: 1 });
    expect(run.met["429"]).toBeGreaterThan(0);
    expect(run.met["503"]).toBeGreaterThan(0);
    expect(sent.map((s) => s.value)).toEqual(Array(run.faults).fill("1"));

    const retries = run.waits.filter((w) => w.reason === "retry");
    expect(run.waits.every((w) => w.reason === "retry")).toBe(true);
    expect(retries).toHaveLength(run.faults);
    const untils = sorted(retries.map((w) => w.until));
    const earliest = sorted(sent.map((s) => s.at + 1_000));
    untils.forEach((until, k) => {
      expect(until).toBeGreaterThanOrEqual(earliest[k]!);
    });

    expect(run.result).toMatchObject({ mode: "full", added: MESSAGES, updated: 0, deleted: 0 });
    const stored = await run.storedIds();
    expect(stored).toHaveLength(MESSAGES);
    expect(stored).toEqual(await run.simIds());
  });

  it("Retry-After as an HTTP-date: every retry is reported with an until no sooner than that date", async () => {
    // A rate at which a fault comes within the first few calls, whatever their number and order.
    const run = await syncUnder({ rate429: 0.2, retryAfterSeconds: 1, retryAfterFormat: "http-date" });
    expect(run.faults).toBeGreaterThan(0);
    expect(sent).toHaveLength(run.faults);
    const dates = sent.map((s) => Date.parse(s.value));
    for (const [k, date] of dates.entries()) {
      expect(sent[k]!.value).toMatch(/ GMT$/);
      expect(date).toBeGreaterThanOrEqual(sent[k]!.at + 1_000);
    }

    const retries = run.waits.filter((w) => w.reason === "retry");
    expect(retries).toHaveLength(run.faults);
    const untils = sorted(retries.map((w) => w.until));
    const notBefore = sorted(dates);
    untils.forEach((until, k) => {
      expect(until).toBeGreaterThanOrEqual(notBefore[k]!);
    });

    expect(run.result).toMatchObject({ mode: "full", added: MESSAGES, updated: 0, deleted: 0 });
    const stored = await run.storedIds();
    expect(stored).toHaveLength(MESSAGES);
    expect(stored).toEqual(await run.simIds());
  });
});
