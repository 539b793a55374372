import { describe, expect, it } from "vitest";
import { resolveQuotaTable } from "../gmail/quotaProfile";
import { type EtaPlan, etaAt, etaPlanOf, MIN_REMAINING_MS, RateMeter, unitsLeft } from "./eta";

const NOW = 1_790_000_000_000;
const profile2026 = (costs?: string) =>
  etaPlanOf(resolveQuotaTable({ GMAIL_QUOTA_PROFILE: "2026", GMAIL_METHOD_COSTS: costs }));

describe("etaPlanOf: the plan a quota table gives", () => {
  it("the 2026 profile allows 100 units a second; a message costs messages.get's units, a page messages.list's", () => {
    expect(profile2026()).toEqual({
      unitsPerMessage: 5,
      unitsPerListingPage: 5,
      idsPerListingPage: 500,
      userUnitsPerSecond: 100,
    });
    expect(profile2026("messages.get:20").unitsPerMessage).toBe(20);
  });
});

describe("etaAt: when a sync is expected to finish", () => {
  it("2026 profile, get = 5: 10,000 messages need 50,000 units and 20 pages (100 units): 501 s at 100 units/s", () => {
    const plan = profile2026();
    expect(unitsLeft(plan, 10_000)).toBe(50_100);
    expect(etaAt(plan, { now: NOW, left: 10_000, workRemains: true })).toBe(NOW + 501_000);
  });

  it("2026 profile, get = 20: the same 10,000 messages take four times as long (2,001 s)", () => {
    const plan = profile2026("messages.get:20");
    expect(unitsLeft(plan, 10_000)).toBe(200_100);
    expect(etaAt(plan, { now: NOW, left: 10_000, workRemains: true })).toBe(NOW + 2_001_000);
  });

  it("a quick observed rate does not shorten the estimate past what the quota allows", () => {
    const plan = profile2026();
    // 500 messages a second observed (a burst the bucket allowed): still 20 a second by quota.
    expect(etaAt(plan, { now: NOW, left: 10_000, workRemains: true, observedRate: 500 })).toBe(NOW + 501_000);
  });

  it("an observed rate below the quota's (another budget, or Gmail, holds the sync back) lengthens it", () => {
    const plan = profile2026();
    // 10 messages a second = 50 units a second: half the quota's pace.
    expect(etaAt(plan, { now: NOW, left: 10_000, workRemains: true, observedRate: 10 })).toBe(
      NOW + 1_002_000,
    );
  });

  it("a pause until a budget's reset is included: the work starts when the pause ends", () => {
    const plan = profile2026();
    const reset = NOW + 6 * 3_600_000;
    expect(etaAt(plan, { now: NOW, left: 10_000, workRemains: true, pausedUntil: reset })).toBe(
      reset + 501_000,
    );
    // A pause already over adds nothing.
    expect(etaAt(plan, { now: NOW, left: 10_000, workRemains: true, pausedUntil: NOW - 5_000 })).toBe(
      NOW + 501_000,
    );
  });

  it("never says 0 s while work remains: the last message, or none left but the task not done", () => {
    const plan = profile2026();
    for (const left of [0, 1, 2]) {
      const eta = etaAt(plan, { now: NOW, left, workRemains: true });
      expect(eta).toBeDefined();
      expect(eta! - NOW).toBeGreaterThanOrEqual(MIN_REMAINING_MS);
    }
    // A negative count (a total that lags the processed one) is no work, still not 0 s.
    expect(etaAt(plan, { now: NOW, left: -3, workRemains: true })! - NOW).toBe(MIN_REMAINING_MS);
  });

  it("no estimate once the work is done, nor without a quota limit before a rate is observed", () => {
    expect(etaAt(profile2026(), { now: NOW, left: 0, workRemains: false })).toBeUndefined();
    const unlimited: EtaPlan = { ...profile2026(), userUnitsPerSecond: 0 };
    expect(etaAt(unlimited, { now: NOW, left: 1_000, workRemains: true })).toBeUndefined();
    // Without a limit, the observed pace is all there is: 1,000 messages (5,000 units, and two
    // pages' 10) at 50 a second, 250 units a second.
    expect(etaAt(unlimited, { now: NOW, left: 1_000, workRemains: true, observedRate: 50 })).toBe(
      NOW + 20_040,
    );
  });
});

describe("RateMeter: messages a second, smoothed", () => {
  it("a steady pace reads as itself, and is trusted only after ten seconds of observation", () => {
    const meter = new RateMeter();
    for (let s = 0; s <= 9; s++) meter.observe(s * 20, NOW + s * 1_000);
    expect(meter.rate).toBeCloseTo(20);
    expect(meter.trusted).toBeUndefined();
    meter.observe(200, NOW + 10_000);
    expect(meter.trusted).toBeCloseTo(20);
  });

  it("one burst moves the rate part of the way, not all of it", () => {
    const meter = new RateMeter();
    for (let s = 0; s <= 20; s++) meter.observe(s * 20, NOW + s * 1_000);
    meter.observe(400 + 200, NOW + 21_000);
    expect(meter.rate).toBeGreaterThan(20);
    expect(meter.rate).toBeLessThan(40);
  });

  it("a pause is not counted as a slow stretch: after it the rate is what it was", () => {
    const meter = new RateMeter();
    for (let s = 0; s <= 20; s++) meter.observe(s * 20, NOW + s * 1_000);
    meter.pause();
    // Six hours later, the pace resumes.
    const later = NOW + 6 * 3_600_000;
    meter.observe(420, later);
    meter.observe(440, later + 1_000);
    expect(meter.rate).toBeCloseTo(20);
  });

  it("steps closer than the sample interval are merged, and a count going back starts over", () => {
    const meter = new RateMeter();
    meter.observe(0, NOW);
    meter.observe(50, NOW + 10);
    expect(meter.rate).toBeUndefined();
    meter.observe(100, NOW + 1_000);
    expect(meter.rate).toBeCloseTo(100);
    meter.observe(10, NOW + 2_000);
    expect(meter.rate).toBeCloseTo(100);
  });
});
