import { describe, expect, it } from "vitest";
import type { SyncPhase, TaskSnapshot, TaskState } from "../../core/events";
import { timeLeftWords } from "./format";
import { overallPercent } from "./percent";

function snap(state: TaskState, phase: SyncPhase, processed: number, total: number): TaskSnapshot {
  return {
    taskId: "t",
    state,
    progress: { phase, processed, total, percent: 0 },
    createdAt: "2026-11-29T10:00:00.000Z",
    at: 0,
    seq: 1,
  };
}

describe("overallPercent: one number over a whole sync", () => {
  it("a queued task is at 0 and a completed one at 100, whatever its progress says", () => {
    expect(overallPercent(snap("queued", "fetching", 50, 100))).toBe(0);
    expect(overallPercent(snap("completed", "fetching", 3, 100))).toBe(100);
    expect(overallPercent(snap("active", "done", 0, 0))).toBe(100);
  });

  it("each phase fills its own span: listing 0–5, fetching 5–95, storing 95–99", () => {
    expect(overallPercent(snap("active", "listing", 0, 100))).toBe(0);
    expect(overallPercent(snap("active", "listing", 100, 100))).toBe(5);
    expect(overallPercent(snap("active", "fetching", 0, 100))).toBe(5);
    expect(overallPercent(snap("active", "fetching", 50, 100))).toBe(50);
    expect(overallPercent(snap("active", "fetching", 100, 100))).toBe(95);
    expect(overallPercent(snap("active", "storing", 0, 100))).toBe(95);
    expect(overallPercent(snap("active", "storing", 100, 100))).toBe(99);
  });

  it("grows across the phase change where the snapshot's own percent starts again at 0", () => {
    const steps = [
      snap("active", "listing", 0, 10),
      snap("active", "listing", 9, 10),
      snap("active", "fetching", 0, 10),
      snap("active", "fetching", 7, 10),
      snap("active", "storing", 1, 10),
      snap("completed", "done", 10, 10),
    ].map(overallPercent);
    for (let i = 1; i < steps.length; i++) expect(steps[i]).toBeGreaterThanOrEqual(steps[i - 1]!);
    expect(steps.at(-1)).toBe(100);
  });

  it("an unfinished task never shows 100, and odd counts stay inside the bar", () => {
    expect(overallPercent(snap("active", "storing", 10, 10))).toBe(99);
    expect(overallPercent(snap("active", "fetching", 250, 100))).toBe(95);
    expect(overallPercent(snap("active", "fetching", -5, 100))).toBe(5);
    expect(overallPercent(snap("active", "fetching", 5, 0))).toBe(5);
    expect(overallPercent(snap("failed", "fetching", 50, 100))).toBe(50);
  });

  it("rounds down: the bar does not claim a percent it has not reached", () => {
    expect(overallPercent(snap("active", "fetching", 1, 3))).toBe(35);
    expect(overallPercent(snap("active", "fetching", 999, 1000))).toBe(94);
  });
});

describe("timeLeftWords: the ETA from the pace so far", () => {
  it("extrapolates the elapsed time over the percent left", () => {
    expect(timeLeftWords(10_000, 50, false)).toBe("about 10 s left");
    expect(timeLeftWords(30_000, 25, false)).toBe("about 1 min 30 s left");
    expect(timeLeftWords(60_000, 2, false)).toBe("about 49 min 00 s left");
    // Under 5 s left it never says "0 s": a remainder that small is "a few seconds".
    expect(timeLeftWords(1_000, 99, false)).toBe("a few seconds left");
  });

  it("says no time below 2 %: the pace is too young to judge", () => {
    expect(timeLeftWords(10_000, 0, false)).toBe("ETA —");
    expect(timeLeftWords(10_000, 1, false)).toBe("ETA —");
  });

  it("says no time while the bar is still (a quota wait, a retry, a quiet worker)", () => {
    expect(timeLeftWords(10_000, 50, true)).toBe("ETA —");
  });

  it("says no time at 100 %", () => {
    expect(timeLeftWords(10_000, 100, false)).toBe("ETA —");
  });
});
