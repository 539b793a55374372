import { describe, expect, it } from "vitest";
import type { TaskSnapshot } from "../events";
import { etaWords, hereWords, isLongWork, paceWords, pausedWords, rateWords } from "./paceWords";

const S = 1_000;
const MIN = 60 * S;
const H = 60 * MIN;
// Monday 7 Dec 2026, 18:48 in California; 02:48 on the 8th in UTC.
const NOW = Date.parse("2026-12-08T02:48:00Z");
/** Where the gate parks a sync after Gmail's dailyLimitExceeded: Pacific midnight + 5 s. */
const RESET = Date.parse("2026-12-08T08:00:05Z");

function snap(over: Partial<TaskSnapshot> = {}): TaskSnapshot {
  return {
    taskId: "t1",
    state: "active",
    progress: { phase: "fetching", processed: 12_400, total: 48_000, percent: 25 },
    createdAt: "2026-12-08T01:00:00Z",
    at: NOW,
    seq: 7,
    ...over,
  };
}

describe("rateWords: messages a second, or a minute when slower", () => {
  it("whole numbers from ten up, one decimal below", () => {
    expect(rateWords(19.6)).toBe("20 messages a second");
    expect(rateWords(1_234.4)).toBe("1,234 messages a second");
    expect(rateWords(4.26)).toBe("4.3 messages a second");
    expect(rateWords(1)).toBe("1 message a second");
  });

  it("below one a second it counts a minute", () => {
    expect(rateWords(0.4)).toBe("24 messages a minute");
    expect(rateWords(1 / 60)).toBe("1 message a minute");
    expect(rateWords(0.001)).toBe("under 1 message a minute");
  });
});

describe("paceWords: how fast, and why", () => {
  it("names each budget that holds the pace, with what a message costs", () => {
    expect(paceWords(snap({ rate: 20, rateLimitedBy: "user_quota", unitsPerMessage: 5 }))).toBe(
      "20 messages a second: Gmail's per-user quota sets the pace (5 quota units a message)",
    );
    expect(paceWords(snap({ rate: 3, rateLimitedBy: "project_quota" }))).toBe(
      "3 messages a second: the project's Gmail quota, shared by every user, sets the pace",
    );
    expect(paceWords(snap({ rate: 2.5, rateLimitedBy: "gmail", unitsPerMessage: 20 }))).toBe(
      "2.5 messages a second: Gmail asked for a slower pace; backing off and retrying (20 quota units a message)",
    );
  });

  it("nothing holding it back reads as Gmail's own speed", () => {
    expect(paceWords(snap({ rate: 180, rateLimitedBy: null }))).toBe(
      "180 messages a second, as fast as Gmail answers",
    );
  });

  it("while the gate makes it wait, only the reason: no '0 messages a second'", () => {
    expect(
      paceWords(snap({ rate: 0, waiting: "quota", retryAt: NOW + 50 * S, rateLimitedBy: "user_quota" })),
    ).toBe("Gmail's per-user quota sets the pace");
  });

  it("says nothing without a pace: queued, finished, paused for the day, or an older server", () => {
    expect(paceWords(snap({ state: "queued", rate: 5, rateLimitedBy: "user_quota" }))).toBeNull();
    expect(paceWords(snap({ state: "completed", rate: 5 }))).toBeNull();
    expect(
      paceWords(snap({ waiting: "daily_budget", rate: 0, rateLimitedBy: "daily_budget", retryAt: RESET })),
    ).toBeNull();
    expect(paceWords(snap())).toBeNull();
  });
});

describe("etaWords: the estimate in hours and minutes, and when that is", () => {
  it("long work gives the time left and the clock time it ends, in the reader's zone", () => {
    const s = snap({ etaAt: NOW + 3 * H + 20 * MIN });
    expect(etaWords(s, NOW, "UTC")).toBe("about 3 h 20 min left, finishes around 06:08");
    expect(etaWords(s, NOW, "UTC", true)).toBe("about 3 h 20 min left, finishes around 06:08 UTC");
    expect(etaWords(s, NOW, "America/Los_Angeles")).toBe("about 3 h 20 min left, finishes around 22:08");
  });

  it("an estimate past midnight names the day", () => {
    expect(etaWords(snap({ etaAt: NOW + 14 * H }), NOW, "America/Los_Angeles")).toBe(
      "about 14 h left, finishes around 08:48 tomorrow",
    );
  });

  it("a few minutes need no clock time; the last seconds are never 'about 0 s'", () => {
    expect(etaWords(snap({ etaAt: NOW + 4 * MIN }), NOW, "UTC")).toBe("about 4 min left");
    expect(etaWords(snap({ etaAt: NOW + 2 * S }), NOW, "UTC")).toBe("a few seconds left");
  });

  it("no estimate while the server has none, or once the task ended", () => {
    expect(etaWords(snap(), NOW, "UTC")).toBeNull();
    expect(etaWords(snap({ state: "completed", etaAt: NOW + H }), NOW, "UTC")).toBeNull();
  });
});

describe("pausedWords: the daily budget's pause in one sentence", () => {
  const paused = snap({ waiting: "daily_budget", retryAt: RESET, rate: 0, rateLimitedBy: "daily_budget" });

  it("the issue's sentence, with the reader's clock and Google's midnight named", () => {
    expect(pausedWords(paused, NOW, "UTC")).toBe(
      "Paused until 08:00 UTC (midnight Pacific time, when Google's quota day starts), in 5 h 12 min: the project's daily Gmail budget is spent; 12,400 of 48,000 messages are here.",
    );
    expect(pausedWords(paused, NOW, "Europe/Berlin")).toBe(
      "Paused until 09:00 GMT+1 (midnight Pacific time, when Google's quota day starts), in 5 h 12 min: the project's daily Gmail budget is spent; 12,400 of 48,000 messages are here.",
    );
  });

  it("a reader in California needs no translation of midnight", () => {
    expect(pausedWords(paused, NOW, "America/Los_Angeles")).toBe(
      "Paused until 00:00 PST tomorrow, in 5 h 12 min: the project's daily Gmail budget is spent; 12,400 of 48,000 messages are here.",
    );
  });

  it("a queued task parked until the reset says the same; without a total it counts what is here", () => {
    const parked = snap({
      state: "queued",
      waiting: "daily_budget",
      retryAt: RESET,
      progress: { phase: "fetching", processed: 1, total: 0, percent: 0 },
    });
    expect(pausedWords(parked, NOW, "UTC")).toMatch(/^Paused until 08:00 UTC .*; 1 message is here\.$/);
  });

  it("paused while listing, it claims nothing about what is here (listing counts are not stored mail)", () => {
    const listing = snap({
      waiting: "daily_budget",
      retryAt: RESET,
      progress: { phase: "listing", processed: 40, total: 40, percent: 0 },
    });
    expect(pausedWords(listing, NOW, "UTC")).toBe(
      "Paused until 08:00 UTC (midnight Pacific time, when Google's quota day starts), in 5 h 12 min: the project's daily Gmail budget is spent.",
    );
  });

  it("a reset already passed says it resumes soon; other waits are not this pause", () => {
    expect(pausedWords({ ...paused, retryAt: NOW - S }, NOW, "UTC")).toBe(
      "Paused: the project's daily Gmail budget is spent; 12,400 of 48,000 messages are here. Resuming soon.",
    );
    expect(pausedWords(snap({ waiting: "quota", retryAt: NOW + 30 * S }), NOW, "UTC")).toBeNull();
    expect(pausedWords({ ...paused, state: "failed" }, NOW, "UTC")).toBeNull();
  });
});

describe("hereWords and isLongWork", () => {
  it("never counts more here than the total", () => {
    expect(hereWords({ processed: 50, total: 40 })).toBe("40 of 40 messages are here");
  });

  it("work of two minutes or more, or a pause for the day, is long; a finished task is not", () => {
    expect(isLongWork(snap({ etaAt: NOW + 2 * MIN }), NOW)).toBe(true);
    expect(isLongWork(snap({ etaAt: NOW + MIN }), NOW)).toBe(false);
    expect(isLongWork(snap(), NOW)).toBe(false);
    expect(isLongWork(snap({ waiting: "daily_budget", retryAt: RESET }), NOW)).toBe(true);
    expect(isLongWork(snap({ state: "completed", etaAt: NOW + H }), NOW)).toBe(false);
  });
});
