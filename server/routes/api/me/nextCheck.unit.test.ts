import { describe, expect, it } from "vitest";
import { nextCheck } from "./nextCheck";

const now = Date.parse("2026-12-07T20:00:00Z");
const base = { pushOn: false, scheduleIntervalSeconds: 900, gmailStatus: "connected" as const, now };

describe("nextCheck: when new mail will arrive without a click", () => {
  it("says push and no scheduled time when Gmail pushes changes", () => {
    expect(nextCheck({ ...base, pushOn: true, lastSyncAt: null })).toEqual({ push: true, nextCheckAt: null });
  });

  it("names one interval after the last sync when that is still ahead", () => {
    const lastSyncAt = new Date(now - 5 * 60_000);
    expect(nextCheck({ ...base, lastSyncAt })).toEqual({
      push: false,
      nextCheckAt: "2026-12-07T20:10:00.000Z",
    });
  });

  it("never names a time in the past: a late run counts one interval from now", () => {
    const lastSyncAt = new Date(now - 60 * 60_000);
    expect(nextCheck({ ...base, lastSyncAt }).nextCheckAt).toBe("2026-12-07T20:15:00.000Z");
    expect(nextCheck({ ...base, lastSyncAt: null }).nextCheckAt).toBe("2026-12-07T20:15:00.000Z");
  });

  it("has no check to name when the schedule is off", () => {
    expect(nextCheck({ ...base, scheduleIntervalSeconds: 0, lastSyncAt: null })).toEqual({
      push: false,
      nextCheckAt: null,
    });
  });

  it.each(["disconnected", "reauth_required"] as const)("checks nothing for a %s account", (gmailStatus) => {
    expect(nextCheck({ ...base, pushOn: true, gmailStatus, lastSyncAt: null })).toEqual({
      push: false,
      nextCheckAt: null,
    });
  });
});
