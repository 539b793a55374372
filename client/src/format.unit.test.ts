import { describe, expect, it } from "vitest";
import { attachmentsText, QUIET_AFTER_MS, waitWords } from "./format";

const NOW = 1_764_336_000_000;

describe("waitWords: what the progress bar says while a task is still", () => {
  it("says nothing for a finished task, whatever it last waited for", () => {
    for (const state of ["completed", "failed"] as const) {
      expect(waitWords({ state, waiting: "no_workers", quietMs: 60_000 }, NOW)).toBeNull();
      expect(waitWords({ state, quietMs: 60_000 }, NOW)).toBeNull();
    }
  });

  it("a queued task waits for a worker, whether or not the server said so", () => {
    expect(waitWords({ state: "queued", waiting: "worker", quietMs: 0 }, NOW)).toBe("Waiting for a worker");
    expect(waitWords({ state: "queued", quietMs: 0 }, NOW)).toBe("Waiting for a worker");
  });

  it("an active task waiting for a worker lost its runner: another takes over", () => {
    expect(waitWords({ state: "active", waiting: "worker", quietMs: 0 }, NOW)).toBe(
      "The worker stopped answering; waiting for another to take over",
    );
  });

  it("no_workers says the page carries on with the sync itself", () => {
    for (const state of ["queued", "active"] as const) {
      expect(waitWords({ state, waiting: "no_workers", quietMs: 0 }, NOW)).toBe(
        "No worker is running; continuing the sync from this page",
      );
    }
  });

  it("a retry ahead names how long until it", () => {
    expect(waitWords({ state: "queued", waiting: "retry", retryAt: NOW + 5_000, quietMs: 0 }, NOW)).toBe(
      "Gmail did not answer; trying again in 5 s",
    );
    expect(waitWords({ state: "active", waiting: "retry", retryAt: NOW + 65_000, quietMs: 0 }, NOW)).toBe(
      "Gmail did not answer; trying again in 1 min 05 s",
    );
  });

  it("a retry with no time, or a time already past, says soon rather than a negative wait", () => {
    expect(waitWords({ state: "queued", waiting: "retry", quietMs: 0 }, NOW)).toBe(
      "Gmail did not answer; trying again soon",
    );
    expect(waitWords({ state: "queued", waiting: "retry", retryAt: NOW - 3_000, quietMs: 0 }, NOW)).toBe(
      "Gmail did not answer; trying again soon",
    );
    expect(waitWords({ state: "queued", waiting: "retry", retryAt: NOW, quietMs: 0 }, NOW)).toBe(
      "Gmail did not answer; trying again soon",
    );
  });

  it("a quota wait names when the sync resumes", () => {
    expect(waitWords({ state: "active", waiting: "quota", retryAt: NOW + 3_000, quietMs: 0 }, NOW)).toBe(
      "Waiting for Gmail's rate limit; resuming in 3 s",
    );
    expect(waitWords({ state: "active", waiting: "quota", quietMs: 0 }, NOW)).toBe(
      "Waiting for Gmail's rate limit; resuming soon",
    );
  });

  it("a quota wait names the budget it waits for when the snapshot says", () => {
    const wait = { state: "active", waiting: "quota", retryAt: NOW + 52_000, quietMs: 0 } as const;
    expect(waitWords({ ...wait, rateLimitedBy: "user_quota" }, NOW)).toBe(
      "Waiting for Gmail's per-user quota; resuming in 52 s",
    );
    expect(waitWords({ ...wait, rateLimitedBy: "project_quota" }, NOW)).toBe(
      "Waiting for the project's Gmail quota; resuming in 52 s",
    );
  });

  it("a spent daily budget is a pause of hours and minutes, until its reset", () => {
    expect(
      waitWords(
        { state: "active", waiting: "daily_budget", retryAt: NOW + 5 * 3_600_000 + 12 * 60_000, quietMs: 0 },
        NOW,
      ),
    ).toBe("Paused for 5 h 12 min");
    expect(waitWords({ state: "queued", waiting: "daily_budget", retryAt: NOW - 1, quietMs: 0 }, NOW)).toBe(
      "Paused; resuming soon",
    );
  });

  it("a moving active task says nothing until it has been quiet for QUIET_AFTER_MS", () => {
    expect(QUIET_AFTER_MS).toBe(5_000);
    expect(waitWords({ state: "active", quietMs: 0 }, NOW)).toBeNull();
    expect(waitWords({ state: "active", quietMs: QUIET_AFTER_MS - 1 }, NOW)).toBeNull();
    expect(waitWords({ state: "active", quietMs: QUIET_AFTER_MS }, NOW)).toBe(
      "No progress for 5 s; checking on the sync",
    );
    expect(waitWords({ state: "active", quietMs: 125_000 }, NOW)).toBe(
      "No progress for 2 min 05 s; checking on the sync",
    );
  });

  it("a known wait is named at once, without waiting for the quiet time", () => {
    expect(
      waitWords({ state: "active", waiting: "quota", retryAt: NOW + 2_000, quietMs: 0 }, NOW),
    ).not.toBeNull();
  });
});

describe("attachmentsText: what a row's attachment marker says to a screen reader", () => {
  it("counts in words, singular for one", () => {
    expect(attachmentsText(1)).toBe("1 attachment");
    expect(attachmentsText(3)).toBe("3 attachments");
    expect(attachmentsText(1200)).toBe("1,200 attachments");
  });
});
