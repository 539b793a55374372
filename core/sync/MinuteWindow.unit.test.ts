import { describe, expect, it } from "vitest";
import { MinuteWindow, WINDOW_SECONDS } from "./MinuteWindow";

function windowAt(limit: number, start = 1_800_000_000_000) {
  const clock = { now: start };
  return { clock, window: new MinuteWindow(limit, () => clock.now) };
}

describe("MinuteWindow", () => {
  it("admits a whole minute's units at once (6,000 = 1,200 messages.get), then refuses with the ms until the first slot leaves, 61 s later", () => {
    const { clock, window } = windowAt(6_000);
    for (let i = 0; i < 1_200; i++) expect(window.take(5)).toBe(0);
    expect(window.take(5)).toBe(WINDOW_SECONDS * 1000);
    clock.now += 60_500;
    expect(window.take(5)).toBe(500);
    clock.now += 500;
    expect(window.take(5)).toBe(0);
  });

  it("never lets more than the limit through in any 60 seconds (Google's minute), however the calls are spread", () => {
    const { clock, window } = windowAt(100);
    const spent: [number, number][] = [];
    for (let step = 0; step < 600; step++) {
      if (window.take(10) === 0) spent.push([clock.now, 10]);
      clock.now += 700;
    }
    for (const [at] of spent) {
      const inWindow = spent.filter(([t]) => t >= at && t < at + 60_000).reduce((sum, [, u]) => sum + u, 0);
      expect(inWindow).toBeLessThanOrEqual(100);
    }
    // …and spends it steadily: about 100 units a window over the run.
    expect(spent.length * 10).toBeGreaterThan((600 * 0.7 * 100) / 61 - 100);
  });

  it("admits one call dearer than the limit into an empty window rather than never", () => {
    const { window } = windowAt(50);
    expect(window.take(80)).toBe(0);
    expect(window.take(1)).toBeGreaterThan(0);
  });

  it("gives refunded units back, and 0 is no limit", () => {
    const { window } = windowAt(10);
    expect(window.take(10)).toBe(0);
    window.refund(10);
    expect(window.take(10)).toBe(0);
    expect(new MinuteWindow(0).take(1_000_000)).toBe(0);
  });

  it("a clock set back forgets slots stamped later than now instead of stalling", () => {
    const { clock, window } = windowAt(10);
    expect(window.take(10)).toBe(0);
    clock.now -= 3_600_000;
    expect(window.take(10)).toBe(0);
  });
});
