import { describe, expect, it } from "vitest";
import { arrivalWords, timeLeftWords } from "./format";

const NOW = Date.parse("2026-12-07T20:00:00Z");

describe("timeLeftWords: the ETA never says 0 s", () => {
  it("says a few seconds for a remainder under 5 s, at any pace", () => {
    expect(timeLeftWords(100, 99, false)).toBe("a few seconds left");
    expect(timeLeftWords(40_000, 99, false)).toBe("a few seconds left");
    for (let percent = 2; percent < 100; percent++)
      expect(timeLeftWords(1_000, percent, false)).not.toMatch(/\b0 s\b/);
  });

  it("names the time left at the pace so far otherwise, and no guess while still", () => {
    expect(timeLeftWords(30_000, 50, false)).toBe("about 30 s left");
    expect(timeLeftWords(30_000, 50, true)).toBe("ETA —");
  });
});

describe("arrivalWords: when new mail reaches the page without a click", () => {
  it("says push brings it within seconds", () => {
    expect(arrivalWords({ gmailStatus: "connected", push: true, nextCheckAt: null }, NOW)).toBe(
      "New mail arrives by itself within seconds.",
    );
  });

  it("names the next scheduled check when push is off", () => {
    const soon = { gmailStatus: "connected", push: false, nextCheckAt: "2026-12-07T20:12:20Z" };
    expect(arrivalWords(soon, NOW)).toBe(
      "New mail arrives when you press Fetch emails; the next automatic check is in about 12 minutes.",
    );
    const late = { gmailStatus: "connected", push: false, nextCheckAt: "2026-12-07T22:30:00Z" };
    expect(arrivalWords(late, NOW)).toMatch(/next automatic check is at about \d{1,2}:30/);
  });

  it("says only a click brings mail when there is no schedule, and nothing when not connected", () => {
    expect(arrivalWords({ gmailStatus: "connected", push: false, nextCheckAt: null }, NOW)).toBe(
      "New mail arrives only when you press Fetch emails.",
    );
    expect(arrivalWords({ gmailStatus: "disconnected", push: false, nextCheckAt: null }, NOW)).toBeNull();
  });
});
