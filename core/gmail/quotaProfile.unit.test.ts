import { describe, expect, it } from "vitest";
import {
  GOOGLE_METHOD_COSTS,
  nextPacificMidnight,
  pacificDay,
  parseMethodCosts,
  QuotaSettingError,
  resolveQuotaTable,
} from "./quotaProfile";

function refusal(input: Parameters<typeof resolveQuotaTable>[0]): QuotaSettingError {
  try {
    resolveQuotaTable(input);
  } catch (error) {
    if (error instanceof QuotaSettingError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe("resolveQuotaTable", () => {
  it("defaults to the 2026 profile: 6,000 units per user per minute, 1,200,000 per project per minute, 80,000,000 per day", () => {
    expect(resolveQuotaTable({})).toEqual({
      profile: "2026",
      userUnitsPerMinute: 6_000,
      projectUnitsPerMinute: 1_200_000,
      projectUnitsPerDay: 80_000_000,
      userUnitsPerSecond: 100,
      projectUnitsPerSecond: 20_000,
      costs: GOOGLE_METHOD_COSTS,
    });
  });

  it("legacy is 250 units per user per second (15,000 a minute) and the same project minute", () => {
    expect(resolveQuotaTable({ GMAIL_QUOTA_PROFILE: "legacy" })).toMatchObject({
      profile: "legacy",
      userUnitsPerMinute: 15_000,
      userUnitsPerSecond: 250,
      projectUnitsPerMinute: 1_200_000,
    });
  });

  it("Google's costs: messages.get 5, threads.get 10, messages.list 5, history.list 2, getProfile 1, labels.list 1, watch 100", () => {
    expect(GOOGLE_METHOD_COSTS).toMatchObject({
      "messages.get": 5,
      "threads.get": 10,
      "messages.list": 5,
      "history.list": 2,
      "users.getProfile": 1,
      "labels.list": 1,
      "users.watch": 100,
    });
  });

  it("overrides each value by its own setting and leaves the others to the profile", () => {
    const table = resolveQuotaTable({
      GMAIL_QUOTA_PROFILE: "2026",
      GMAIL_USER_UNITS_PER_MINUTE: "12000",
      GMAIL_PROJECT_UNITS_PER_DAY: "0",
    });
    expect(table).toMatchObject({
      userUnitsPerMinute: 12_000,
      userUnitsPerSecond: 200,
      projectUnitsPerMinute: 1_200_000,
      projectUnitsPerDay: 0,
    });
  });

  it("reads the older per-second settings as a minute's worth (× 60); 0 stays no limit", () => {
    expect(
      resolveQuotaTable({ GMAIL_USER_UNITS_PER_SECOND: 250, GMAIL_PROJECT_UNITS_PER_SECOND: 0 }),
    ).toMatchObject({ userUnitsPerMinute: 15_000, userUnitsPerSecond: 250, projectUnitsPerMinute: 0 });
  });

  it("refuses both forms of one limit at once, naming the per-minute one", () => {
    const error = refusal({ GMAIL_PROJECT_UNITS_PER_MINUTE: "60000", GMAIL_PROJECT_UNITS_PER_SECOND: 1000 });
    expect(error.variable).toBe("GMAIL_PROJECT_UNITS_PER_MINUTE");
    expect(error.message).toMatch(/GMAIL_PROJECT_UNITS_PER_SECOND.*set only one/);
  });

  it("refuses a limit that could never pay for the dearest call", () => {
    const error = refusal({ GMAIL_USER_UNITS_PER_MINUTE: "99" });
    expect(error.variable).toBe("GMAIL_USER_UNITS_PER_MINUTE");
    expect(error.message).toContain("at least 100");
    expect(resolveQuotaTable({ GMAIL_USER_UNITS_PER_MINUTE: "100" }).userUnitsPerMinute).toBe(100);
  });

  it("refuses an unknown profile", () => {
    expect(refusal({ GMAIL_QUOTA_PROFILE: "2025" }).variable).toBe("GMAIL_QUOTA_PROFILE");
  });
});

describe("parseMethodCosts", () => {
  it("overrides the named methods over Google's costs, taking the table's short names too", () => {
    const costs = parseMethodCosts("messages.get:20, threads.get:40,getProfile:2");
    expect(costs["messages.get"]).toBe(20);
    expect(costs["threads.get"]).toBe(40);
    expect(costs["users.getProfile"]).toBe(2);
    expect(costs["history.list"]).toBe(2);
  });

  it("refuses unknown methods, malformed items and zero costs, naming GMAIL_METHOD_COSTS", () => {
    for (const text of [
      "messages.send:100",
      "messages.get",
      "messages.get:-1",
      "messages.get:0",
      "messages.get:2.5",
    ]) {
      let caught: unknown;
      try {
        parseMethodCosts(text);
      } catch (error) {
        caught = error;
      }
      expect(caught, text).toBeInstanceOf(QuotaSettingError);
      expect((caught as QuotaSettingError).variable).toBe("GMAIL_METHOD_COSTS");
    }
  });
});

describe("Pacific days (when Google resets daily quotas)", () => {
  const iso = (ms: number) => new Date(ms).toISOString();

  it("midnight is 08:00 UTC under PST and 07:00 UTC under PDT", () => {
    expect(iso(nextPacificMidnight(Date.parse("2026-12-07T20:00:00Z")))).toBe("2026-12-08T08:00:00.000Z");
    expect(iso(nextPacificMidnight(Date.parse("2026-07-01T12:00:00Z")))).toBe("2026-07-02T07:00:00.000Z");
    expect(pacificDay(Date.parse("2026-12-08T07:59:59Z"))).toBe("2026-12-07");
    expect(pacificDay(Date.parse("2026-12-08T08:00:00Z"))).toBe("2026-12-08");
  });

  it("takes the offset of the coming midnight on the nights the clocks change", () => {
    expect(iso(nextPacificMidnight(Date.parse("2026-03-08T09:00:00Z")))).toBe("2026-03-09T07:00:00.000Z");
    expect(iso(nextPacificMidnight(Date.parse("2026-11-01T08:00:00Z")))).toBe("2026-11-02T08:00:00.000Z");
  });
});
