import { describe, expect, it } from "vitest";
import { nextPacificMidnight, pacificDay, QuotaLimiter } from "./quota";
import { parseQuotaSettings, type QuotaSettings } from "./quotaSettings";

function limiterAt(start: string, body: Record<string, unknown>) {
  const clock = { now: Date.parse(start) };
  const limiter = new QuotaLimiter(() => clock.now);
  const settings = parseQuotaSettings(body);
  if (typeof settings === "string") throw new Error(settings);
  limiter.set(settings);
  return { clock, limiter };
}

/** How many calls of `method` are admitted in a row before the first refusal. */
function admittedInARow(limiter: QuotaLimiter, account: string, method: "messages.get" | "threads.get") {
  let n = 0;
  while (limiter.charge(account, method).ok) n++;
  return n;
}

describe("quota profiles", () => {
  it("2026 allows 6,000 units per user per rolling minute, 1,200,000 per project per minute and 80,000,000 per day, refused with 403", () => {
    const settings = parseQuotaSettings({ profile: "2026" }) as QuotaSettings;
    expect(settings).toMatchObject({
      profile: "2026",
      userUnitsPerMinute: 6_000,
      projectUnitsPerMinute: 1_200_000,
      projectUnitsPerDay: 80_000_000,
      userUnitsPerSecond: null,
      projectUnitsPerSecond: null,
      rateLimitStatus: 403,
    });
    expect(settings.costs["messages.get"]).toBe(5);
    expect(settings.costs["threads.get"]).toBe(10);
  });

  it("legacy is 250 units per user per second and 20,000 per project per second, refused with 429", () => {
    expect(parseQuotaSettings({ profile: "legacy" })).toMatchObject({
      userUnitsPerSecond: 250,
      projectUnitsPerSecond: 20_000,
      userUnitsPerMinute: null,
      rateLimitStatus: 429,
    });
  });

  it("the per-second body without a profile limits only what it names, as the control API always took it", () => {
    expect(parseQuotaSettings({ userUnitsPerSecond: 20 })).toMatchObject({
      profile: null,
      userUnitsPerSecond: 20,
      projectUnitsPerSecond: null,
      projectUnitsPerDay: null,
      rateLimitStatus: 429,
    });
  });

  it("overrides one value of a profile, lifts one with null, and overrides method costs", () => {
    const settings = parseQuotaSettings({
      profile: "2026",
      userUnitsPerMinute: 300,
      projectUnitsPerDay: null,
      costs: { "messages.get": 20, "threads.get": 40 },
    }) as QuotaSettings;
    expect(settings.userUnitsPerMinute).toBe(300);
    expect(settings.projectUnitsPerMinute).toBe(1_200_000);
    expect(settings.projectUnitsPerDay).toBeNull();
    expect(settings.costs["messages.get"]).toBe(20);
    expect(settings.costs["messages.list"]).toBe(5);
  });

  it("refuses an unknown profile, field or method and a cost that is not a whole number", () => {
    expect(parseQuotaSettings({ profile: "2027" })).toMatch(/profile/);
    expect(parseQuotaSettings({ userUnitsPerHour: 5 })).toMatch(/Unknown field "userUnitsPerHour"/);
    expect(parseQuotaSettings({ costs: { "messages.send": 100 } })).toMatch(/Unknown method "messages.send"/);
    expect(parseQuotaSettings({ costs: { "messages.get": 2.5 } })).toMatch(/whole number/);
    expect(parseQuotaSettings({ userUnitsPerMinute: -1 })).toMatch(/positive/);
    expect(parseQuotaSettings({ rateLimitStatus: 500 })).toMatch(/403 or 429/);
  });
});

describe("QuotaLimiter", () => {
  it("admits 1,200 messages.get a minute per user under 2026 (6,000 units at 5), then refuses with the seconds until the window frees room", () => {
    const { clock, limiter } = limiterAt("2026-12-07T20:00:00.000Z", { profile: "2026" });
    expect(admittedInARow(limiter, "a@example.com", "messages.get")).toBe(1_200);
    expect(limiter.charge("a@example.com", "messages.get")).toEqual({
      ok: false,
      cost: 5,
      reason: "userRateLimitExceeded",
      retryAfterSeconds: 60,
    });
    // Another user has a minute of their own.
    expect(limiter.charge("b@example.com", "messages.get").ok).toBe(true);
    clock.now += 59_000;
    expect(limiter.charge("a@example.com", "messages.get")).toMatchObject({
      ok: false,
      retryAfterSeconds: 1,
    });
    clock.now += 1_000;
    expect(limiter.charge("a@example.com", "messages.get").ok).toBe(true);
  });

  it("counts a rolling minute, not a calendar minute: half spent at :00 and half at :30 leaves room at 1:00 for the first half only", () => {
    const { clock, limiter } = limiterAt("2026-12-07T20:00:00.000Z", { profile: "2026" });
    for (let i = 0; i < 600; i++) expect(limiter.charge("a@example.com", "messages.get").ok).toBe(true);
    clock.now += 30_000;
    for (let i = 0; i < 600; i++) expect(limiter.charge("a@example.com", "messages.get").ok).toBe(true);
    clock.now += 29_000;
    expect(limiter.charge("a@example.com", "messages.get").ok).toBe(false);
    clock.now += 1_000;
    expect(admittedInARow(limiter, "a@example.com", "messages.get")).toBe(600);
  });

  it("charges the configured costs: at messages.get 20 and threads.get 40, 6,000 units are 300 gets or 150 thread reads", () => {
    const costs = { "messages.get": 20, "threads.get": 40 };
    const gets = limiterAt("2026-12-07T20:00:00.000Z", { profile: "2026", costs });
    expect(admittedInARow(gets.limiter, "a@example.com", "messages.get")).toBe(300);
    const threads = limiterAt("2026-12-07T20:00:00.000Z", { profile: "2026", costs });
    expect(admittedInARow(threads.limiter, "a@example.com", "threads.get")).toBe(150);
  });

  it("refuses the project's minute with rateLimitExceeded when users together pass it", () => {
    const { limiter } = limiterAt("2026-12-07T20:00:00.000Z", {
      profile: "2026",
      projectUnitsPerMinute: 100,
    });
    for (let i = 0; i < 10; i++) expect(limiter.charge("a@example.com", "messages.get").ok).toBe(true);
    for (let i = 0; i < 10; i++) expect(limiter.charge("b@example.com", "messages.get").ok).toBe(true);
    expect(limiter.charge("c@example.com", "messages.get")).toMatchObject({
      ok: false,
      reason: "rateLimitExceeded",
    });
  });

  it("refuses the day's quota until midnight Pacific Time, then starts a new day", () => {
    // 23:59:00 PST on 7 December is 07:59:00 UTC on the 8th.
    const { clock, limiter } = limiterAt("2026-12-08T07:59:00.000Z", {
      profile: "2026",
      projectUnitsPerDay: 50,
    });
    expect(admittedInARow(limiter, "a@example.com", "messages.get")).toBe(10);
    expect(limiter.charge("b@example.com", "messages.get")).toEqual({
      ok: false,
      cost: 5,
      reason: "dailyLimitExceeded",
      retryAfterSeconds: 60,
    });
    expect(limiter.usage()).toMatchObject({ day: "2026-12-07", projectUnitsToday: 50 });
    clock.now += 60_000;
    expect(limiter.charge("b@example.com", "messages.get").ok).toBe(true);
    expect(limiter.usage()).toMatchObject({ day: "2026-12-08", projectUnitsToday: 5 });
  });

  it("a refused call is charged nothing", () => {
    const { limiter } = limiterAt("2026-12-07T20:00:00.000Z", { profile: "2026", userUnitsPerMinute: 10 });
    expect(limiter.charge("a@example.com", "messages.get").ok).toBe(true);
    expect(limiter.charge("a@example.com", "threads.get").ok).toBe(false);
    expect(limiter.charge("a@example.com", "messages.get").ok).toBe(true);
    expect(limiter.usage().userUnitsLastMinute).toEqual({ "a@example.com": 10 });
  });

  it("a clock set back does not stall the minute: slots stamped later than now count for nothing", () => {
    const { clock, limiter } = limiterAt("2026-12-07T20:00:00.000Z", {
      profile: "2026",
      userUnitsPerMinute: 10,
    });
    expect(admittedInARow(limiter, "a@example.com", "messages.get")).toBe(2);
    clock.now -= 7 * 86_400_000;
    expect(limiter.charge("a@example.com", "messages.get").ok).toBe(true);
  });
});

describe("Pacific days", () => {
  it("midnight is 08:00 UTC in winter (PST) and 07:00 UTC in summer (PDT)", () => {
    expect(new Date(nextPacificMidnight(Date.parse("2026-12-07T20:00:00Z"))).toISOString()).toBe(
      "2026-12-08T08:00:00.000Z",
    );
    expect(new Date(nextPacificMidnight(Date.parse("2026-07-01T12:00:00Z"))).toISOString()).toBe(
      "2026-07-02T07:00:00.000Z",
    );
    expect(pacificDay(Date.parse("2026-12-08T07:59:59Z"))).toBe("2026-12-07");
    expect(pacificDay(Date.parse("2026-12-08T08:00:00Z"))).toBe("2026-12-08");
  });

  it("finds the right midnight on the nights the clocks change (8 March and 1 November 2026)", () => {
    // 01:00 PST on 8 March: the clocks go forward at 02:00, so that night's midnight is PDT.
    expect(new Date(nextPacificMidnight(Date.parse("2026-03-08T09:00:00Z"))).toISOString()).toBe(
      "2026-03-09T07:00:00.000Z",
    );
    // 01:00 PDT on 1 November: the clocks go back at 02:00, so that night's midnight is PST.
    expect(new Date(nextPacificMidnight(Date.parse("2026-11-01T08:00:00Z"))).toISOString()).toBe(
      "2026-11-02T08:00:00.000Z",
    );
  });
});
