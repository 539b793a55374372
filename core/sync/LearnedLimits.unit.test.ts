import { describe, expect, it } from "vitest";
import { afterRefusal, factorAt, type Learned, LearnedLimits, type LearnedStore } from "./LearnedLimits";

function memoryStore(): LearnedStore & { data: Map<string, Learned> } {
  const data = new Map<string, Learned>();
  return {
    data,
    get: async (key) => data.get(key) ?? null,
    set: async (key, value) => void data.set(key, value),
  };
}

describe("learned quota limits (additive increase, multiplicative decrease)", () => {
  it("a refusal cuts the share to 70%, each quiet minute gives 5% back, up to the table's value", () => {
    const cut = afterRefusal(null, 0);
    expect(cut).toEqual({ factor: 0.7, at: 0 });
    expect(factorAt(cut, 59_999)).toBe(0.7);
    expect(factorAt(cut, 60_000)).toBeCloseTo(0.75);
    expect(factorAt(cut, 3 * 60_000)).toBeCloseTo(0.85);
    expect(factorAt(cut, 60 * 60_000)).toBe(1);
  });

  it("repeated refusals cut from what was allowed then, never below 10%, and one burst cuts once", () => {
    let state = afterRefusal(null, 0);
    expect(afterRefusal(state, 500)).toBe(state);
    state = afterRefusal(state, 2_000);
    expect(state.factor).toBeCloseTo(0.49);
    state = afterRefusal(state, 2 * 60_000 + 2_000);
    expect(state.factor).toBeCloseTo((0.49 + 0.1) * 0.7);
    for (let i = 1; i <= 20; i++) state = afterRefusal(state, 3 * 60_000 + i * 1_000);
    expect(state.factor).toBe(0.1);
  });

  it("every process reading one store plans with the same learned limit, and recovers by the clock", async () => {
    const clock = { now: 1_000_000 };
    const store = memoryStore();
    const one = new LearnedLimits(store, () => clock.now);
    const other = new LearnedLimits(store, () => clock.now);
    expect(await other.factor("project")).toBe(1);
    await one.refused("project");
    expect(await one.factor("project")).toBeCloseTo(0.7);
    // The other process's one-second cache still says 1; a second on, it reads the cut.
    clock.now += 1_000;
    expect(await other.factor("project")).toBeCloseTo(0.7);
    expect(await other.factor("user:a")).toBe(1);
    clock.now += 6 * 60_000;
    expect(await other.factor("project")).toBe(1);
  });
});
