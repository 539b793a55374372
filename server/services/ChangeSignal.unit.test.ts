import { describe, expect, it, vi } from "vitest";
import { ChangeSignal } from "./ChangeSignal";

describe("ChangeSignal", () => {
  it("wakes the waits of the notified user only, and forgets them once woken", async () => {
    vi.useFakeTimers();
    try {
      const signal = new ChangeSignal();
      const woken: string[] = [];
      const a = signal.wait("a", 60_000).then(() => woken.push("a"));
      void signal.wait("b", 60_000).then(() => woken.push("b"));
      expect(signal.size).toBe(2);
      signal.notify("a");
      await a;
      expect(woken).toEqual(["a"]);
      expect(signal.size).toBe(1);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(woken).toEqual(["a", "b"]);
      expect(signal.size).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("ends a wait when its request goes away, and at once when that already happened", async () => {
    const signal = new ChangeSignal();
    const gone = new AbortController();
    const waiting = signal.wait("a", 60_000, gone.signal);
    gone.abort();
    await waiting;
    expect(signal.size).toBe(0);
    await signal.wait("a", 60_000, gone.signal);
    expect(signal.size).toBe(0);
  });
});
