import { describe, expect, it } from "vitest";
import type { AccountHealthRow } from "../repositories/accountHealth.repository";
import { accountHealth, type HealthFacts, WATCH_FAILING_ALERT_MS } from "./accountHealth";

const NOW = Date.parse("2026-12-07T12:00:00Z");
const HOUR = 3_600_000;

function row(over: Partial<AccountHealthRow> = {}): AccountHealthRow {
  return {
    id: "acc-1",
    userId: "user-1",
    email: "alice@example.com",
    state: "connected",
    lastSyncAt: new Date(NOW - 90_000),
    messages: 120,
    historyId: "5000",
    watchExpiration: new Date(NOW + 5 * 24 * HOUR),
    lastPushAt: new Date(NOW - 60_000),
    watchFailures: 0,
    watchFailingSince: null,
    watchError: null,
    lastSyncKind: "incremental",
    lastFullSyncAt: new Date(NOW - 48 * HOUR),
    lastFullSyncReason: "first_sync",
    gmailTotal: 121,
    gmailTotalAt: new Date(NOW - 48 * HOUR),
    lastCheckAt: null,
    lastCheck: null,
    ...over,
  };
}

const facts = (over: Partial<AccountHealthRow> = {}, rest: Partial<HealthFacts> = {}): HealthFacts => ({
  row: row(over),
  pushOn: true,
  quota: null,
  now: NOW,
  ...rest,
});

describe("accountHealth", () => {
  it("a watched, connected account needs nothing and reports its cursor age from the last sync", () => {
    const health = accountHealth(facts());
    expect(health.push.state).toBe("watching");
    expect(health.sync.cursorAgeSeconds).toBe(90);
    expect(health.sync.lastFull).toEqual({ at: new Date(NOW - 48 * HOUR), reason: "first_sync" });
    expect(health.attention).toEqual([]);
  });

  it("a watch past its expiration reads lapsed and asks for a renewal", () => {
    const health = accountHealth(facts({ watchExpiration: new Date(NOW - 1000) }));
    expect(health.push.state).toBe("lapsed");
    expect(health.attention.map((a) => a.code)).toEqual(["watch_lapsed"]);
    expect(health.attention[0]!.message).toContain("2026-12-07T11:59:59Z");
  });

  it("an account never watched reads lapsed while push is on", () => {
    expect(accountHealth(facts({ watchExpiration: null })).push.state).toBe("lapsed");
  });

  it("without push nothing is lapsed: the state is off and nothing is asked", () => {
    const health = accountHealth(facts({ watchExpiration: null }, { pushOn: false }));
    expect(health.push.state).toBe("off");
    expect(health.attention).toEqual([]);
  });

  it("renewals failing for less than a day are shown but ask nothing; from a day on they do, with Gmail's words", () => {
    const young = accountHealth(
      facts({ watchFailures: 3, watchFailingSince: new Date(NOW - 2 * HOUR), watchError: "denied" }),
    );
    expect(young.push.failedRenewals).toBe(3);
    expect(young.attention).toEqual([]);
    const old = accountHealth(
      facts({
        watchFailures: 25,
        watchFailingSince: new Date(NOW - WATCH_FAILING_ALERT_MS),
        watchError: "User not authorized to perform this action.",
        watchExpiration: new Date(NOW - HOUR),
      }),
    );
    expect(old.attention.map((a) => a.code)).toEqual(["watch_lapsed", "watch_failing"]);
    expect(old.attention[1]!.message).toContain("25 times");
    expect(old.attention[1]!.message).toContain("User not authorized");
    expect(old.attention[1]!.action).toContain("gmail-api-push@system.gserviceaccount.com");
  });

  it("a grant Gmail refuses asks to sign in again, and push is inactive rather than lapsed", () => {
    const health = accountHealth(facts({ state: "reauth_required", watchExpiration: new Date(NOW - 1) }));
    expect(health.push.state).toBe("inactive");
    expect(health.attention.map((a) => a.code)).toEqual(["reauth_required"]);
  });

  it("a disconnected account says so and how to reconnect", () => {
    const health = accountHealth(facts({ state: "disconnected" }));
    expect(health.attention.map((a) => a.code)).toEqual(["disconnected"]);
  });

  it("the daily budget is shown spent from 95% of the project's day, with its reset", () => {
    const resetsAt = new Date(Date.parse("2026-12-08T08:00:00Z"));
    const quota = { projectUnitsPerDay: 1000, firstSyncUnitsToday: 100, resetsAt };
    expect(accountHealth(facts({}, { quota: { ...quota, projectUnitsToday: 949 } })).attention).toEqual([]);
    const spent = accountHealth(facts({}, { quota: { ...quota, projectUnitsToday: 950 } }));
    expect(spent.attention.map((a) => a.code)).toEqual(["daily_budget_spent"]);
    expect(spent.attention[0]!.message).toContain("2026-12-08T08:00:00Z");
  });

  it("no cursor age before a first sync has completed", () => {
    expect(accountHealth(facts({ historyId: null, lastSyncAt: null })).sync.cursorAgeSeconds).toBeNull();
  });
});
