import { describe, expect, it } from "vitest";
import type { TaskSnapshot } from "../core/contract";
import type { Output } from "./output";
import { bar, progressPrinter, rateShort } from "./progress";

// 02:48 UTC on 8 Dec 2026; Google's day resets at 08:00 UTC (midnight Pacific).
const NOW = Date.parse("2026-12-08T02:48:00Z");
const RESET = Date.parse("2026-12-08T08:00:05Z");
const H = 3_600_000;

function snap(over: Partial<TaskSnapshot> = {}): TaskSnapshot {
  return {
    taskId: "t1",
    state: "active",
    progress: { phase: "fetching", processed: 12_400, total: 48_000, percent: 25 },
    createdAt: "2026-12-08T01:00:00Z",
    at: NOW,
    seq: 1,
    ...over,
  };
}

function fakeOutput(live: boolean, columns?: number) {
  const seen = { data: [] as string[], notes: [] as string[], progress: [] as string[] };
  const out: Output = {
    data: (line) => seen.data.push(line),
    json: (value) => seen.data.push(JSON.stringify(value)),
    note: (line) => seen.notes.push(line),
    progress: (text) => seen.progress.push(text),
    live,
    columns,
  };
  return { out, seen };
}

describe("the CLI's progress line", () => {
  it("says messages here / total, the pace and what sets it, and the estimate with its zone", () => {
    const line = bar(
      snap({ rate: 19.7, rateLimitedBy: "user_quota", etaAt: NOW + 3 * H + 20 * 60_000, unitsPerMessage: 5 }),
      NOW,
      "UTC",
    );
    expect(line).toBe(
      `[${"#".repeat(8)}${".".repeat(22)}]  25%  active    fetching 12,400/48,000  20 msg/s (Gmail's per-user quota)  about 3 h 20 min left, finishes around 06:08 UTC`,
    );
  });

  it("a quota wait names the budget instead of a rate of 0", () => {
    const line = bar(
      snap({ rate: 0, waiting: "quota", retryAt: NOW + 52_000, rateLimitedBy: "project_quota" }),
      NOW,
      "UTC",
    );
    expect(line).toMatch(
      /12,400\/48,000 {2}paced by the project's Gmail quota {2}\(waiting for Gmail's quota until 02:48:52\)$/,
    );
  });

  it("a pause for the daily budget is one sentence: until when, in how long, how much is here", () => {
    const line = bar(
      snap({ waiting: "daily_budget", retryAt: RESET, rate: 0, rateLimitedBy: "daily_budget" }),
      NOW,
      "UTC",
    );
    expect(line).toMatch(
      /fetching 12,400\/48,000 {2}Paused until 08:00 UTC \(midnight Pacific time, when Google's quota day starts\), in 5 h 12 min: the project's daily Gmail budget is spent; 12,400 of 48,000 messages are here\.$/,
    );
  });

  it("rates below one a second count a minute", () => {
    expect(rateShort(0.4)).toBe("24 msg/min");
    expect(rateShort(4.26)).toBe("4.3 msg/s");
  });
});

describe("progressPrinter with long work", () => {
  const long = (seq: number) =>
    snap({ seq, rate: 20, rateLimitedBy: "user_quota", etaAt: Date.now() + 2 * H });

  it("on a terminal the line is cut to the width and clears what a longer one left", () => {
    const tty = fakeOutput(true, 60);
    const p = progressPrinter(tty.out, false);
    p.print(long(1));
    p.print(long(2));
    const redraws = tty.seen.progress.filter((t) => t.startsWith("\r"));
    expect(redraws).toHaveLength(2);
    for (const r of redraws) {
      expect(r.endsWith("\x1b[K")).toBe(true);
      expect(r.length - "\r".length - "\x1b[K".length).toBeLessThan(60);
    }
  });

  it("says once that the sync goes on without this command, when it is followed by polling", () => {
    const polled = fakeOutput(false);
    const p = progressPrinter(polled.out, false);
    p.print(long(1));
    p.print(long(2));
    expect(polled.seen.notes).toEqual([
      "this sync runs in the background: Ctrl-C stops only this view; `inbox-sync status t1` looks in again",
    ]);

    // Streamed, the sync runs inside this command's request; with --json stderr stays quiet.
    const streamed = fakeOutput(false);
    progressPrinter(streamed.out, false).print(long(1), "stream");
    expect(streamed.seen.notes).toEqual([]);
    const json = fakeOutput(false);
    progressPrinter(json.out, true).print(long(1));
    expect(json.seen.notes).toEqual([]);
    expect(JSON.parse(json.seen.data[0]!).rateLimitedBy).toBe("user_quota");
  });

  it("piped, a pause for the day is a step of its own", () => {
    const piped = fakeOutput(false);
    const p = progressPrinter(piped.out, false);
    p.print(snap({ seq: 1, rate: 20 }));
    p.print(snap({ seq: 2, waiting: "daily_budget", retryAt: Date.now() + 5 * H }));
    expect(piped.seen.progress).toHaveLength(2);
    expect(piped.seen.progress[1]).toMatch(/Paused until .*the project's daily Gmail budget is spent/);
  });
});
