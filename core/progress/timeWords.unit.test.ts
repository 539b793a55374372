import { describe, expect, it } from "vitest";
import { clockWords, isGoogleMidnight, spanWords, zoneName } from "./timeWords";

const S = 1_000;
const MIN = 60 * S;
const H = 60 * MIN;

describe("spanWords: time left as a person reads it", () => {
  it("never says zero: under five seconds is 'a few seconds'", () => {
    expect(spanWords(0)).toBe("a few seconds");
    expect(spanWords(-3 * S)).toBe("a few seconds");
    expect(spanWords(4_999)).toBe("a few seconds");
  });

  it("seconds go up in fives, minutes are rounded up below an hour", () => {
    expect(spanWords(5 * S)).toBe("5 s");
    expect(spanWords(41 * S)).toBe("45 s");
    expect(spanWords(60 * S)).toBe("1 min");
    expect(spanWords(61 * S)).toBe("2 min");
    expect(spanWords(59 * MIN + 30 * S)).toBe("60 min");
  });

  it("hours and minutes for long work, as the issue's 3 h 20 min", () => {
    expect(spanWords(3 * H + 20 * MIN)).toBe("3 h 20 min");
    expect(spanWords(3 * H + 20 * MIN + 29 * S)).toBe("3 h 20 min");
    expect(spanWords(5 * H + 12 * MIN + 5 * S)).toBe("5 h 12 min");
    expect(spanWords(2 * H)).toBe("2 h");
    expect(spanWords(47 * H + 59 * MIN)).toBe("47 h 59 min");
  });

  it("days and hours past two days (a million messages at 20 units a get is 56 h)", () => {
    expect(spanWords(56 * H)).toBe("2 days 8 h");
    expect(spanWords(72 * H)).toBe("3 days");
  });
});

// Monday 7 Dec 2026, 18:48 in California (PST, UTC−8); 02:48 on the 8th in UTC.
const NOW = Date.parse("2026-12-08T02:48:00Z");
const PACIFIC_MIDNIGHT = Date.parse("2026-12-08T08:00:00Z");

describe("clockWords: a clock time in the reader's zone, with the day when it is not today", () => {
  it("today's time alone, 24-hour", () => {
    expect(clockWords(Date.parse("2026-12-08T14:05:00Z"), NOW, "UTC")).toBe("14:05");
    expect(clockWords(PACIFIC_MIDNIGHT, NOW, "UTC", true)).toBe("08:00 UTC");
  });

  it("the same instant is tomorrow where the day has not turned yet", () => {
    expect(clockWords(PACIFIC_MIDNIGHT, NOW, "America/Los_Angeles", true)).toBe("00:00 PST tomorrow");
    expect(clockWords(PACIFIC_MIDNIGHT, NOW, "Europe/Berlin", true)).toBe("09:00 GMT+1");
  });

  it("further away it names the weekday and date", () => {
    expect(clockWords(NOW + 3 * 24 * H, NOW, "UTC")).toBe("02:48 on Fri, Dec 11");
  });

  it("zone names follow daylight saving time", () => {
    expect(zoneName(Date.parse("2026-07-01T12:00:00Z"), "America/Los_Angeles")).toBe("PDT");
    expect(zoneName(NOW, "America/Los_Angeles")).toBe("PST");
  });
});

describe("isGoogleMidnight: the start of Google's quota day", () => {
  it("is midnight Pacific time, in winter and in summer, to the minute", () => {
    expect(isGoogleMidnight(PACIFIC_MIDNIGHT)).toBe(true);
    expect(isGoogleMidnight(PACIFIC_MIDNIGHT + 5 * S)).toBe(true);
    expect(isGoogleMidnight(Date.parse("2026-07-02T07:00:00Z"))).toBe(true);
    expect(isGoogleMidnight(Date.parse("2026-12-08T00:00:00Z"))).toBe(false);
  });
});
