import { describe, expect, it } from "vitest";
import { lowerPriority, type Scheduler } from "./cpuPriority";

function fakeScheduler(initial: Record<number, number>, refuse: number[] = []) {
  const nice = new Map(Object.entries(initial).map(([id, n]) => [Number(id), n]));
  const scheduler: Scheduler = {
    threads: () => [...nice.keys()],
    get: (id) => {
      if (refuse.includes(id)) throw new Error("ESRCH");
      return nice.get(id)!;
    },
    set: (id, n) => {
      nice.set(id, n);
    },
  };
  return { scheduler, nice };
}

describe("lowerPriority", () => {
  it("raises every thread's niceness to the setting, not only the main thread's", () => {
    const { scheduler, nice } = fakeScheduler({ 100: 0, 101: 0, 102: 0 });
    expect(lowerPriority(10, scheduler)).toEqual({ changed: 3, failed: 0 });
    expect([...nice.values()]).toEqual([10, 10, 10]);
  });

  it("never makes a thread less nice than it already is", () => {
    const { scheduler, nice } = fakeScheduler({ 100: 15, 101: 5 });
    expect(lowerPriority(10, scheduler)).toEqual({ changed: 1, failed: 0 });
    expect(nice.get(100)).toBe(15);
    expect(nice.get(101)).toBe(10);
  });

  it("a thread it cannot change is counted, and the others are still changed", () => {
    const { scheduler, nice } = fakeScheduler({ 100: 0, 101: 0, 102: 0 }, [101]);
    expect(lowerPriority(10, scheduler)).toEqual({ changed: 2, failed: 1 });
    expect(nice.get(100)).toBe(10);
    expect(nice.get(102)).toBe(10);
  });

  it("0 changes nothing", () => {
    const { scheduler, nice } = fakeScheduler({ 100: 0, 101: 3 });
    expect(lowerPriority(0, scheduler)).toEqual({ changed: 0, failed: 0 });
    expect([...nice.values()]).toEqual([0, 3]);
  });
});
