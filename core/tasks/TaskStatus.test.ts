import { describe, expect, it } from "vitest";
import { type WaitFacts, waitingOf } from "./TaskStatus";

const NOW = 1_764_336_000_000;
const facts = (f: Partial<WaitFacts>): WaitFacts => ({
  state: "queued",
  leaseExpiresAt: null,
  retryAt: null,
  workersAlive: 1,
  ...f,
});

describe("waitingOf: why an unfinished task is not moving", () => {
  it("a queued task with a live worker waits for that worker", () => {
    expect(waitingOf(facts({ state: "queued", workersAlive: 2 }), NOW)).toEqual({ waiting: "worker" });
  });

  it("a queued task with no live worker says no_workers, so the client streams it", () => {
    expect(waitingOf(facts({ state: "queued", workersAlive: 0 }), NOW)).toEqual({ waiting: "no_workers" });
  });

  it("a queued task whose retry is still ahead waits for the retry, with its time", () => {
    expect(waitingOf(facts({ state: "queued", retryAt: NOW + 5_000 }), NOW)).toEqual({
      waiting: "retry",
      retryAt: NOW + 5_000,
    });
  });

  it("a queued task whose retry time has come waits for a worker again", () => {
    expect(waitingOf(facts({ state: "queued", retryAt: NOW }), NOW)).toEqual({ waiting: "worker" });
    expect(waitingOf(facts({ state: "queued", retryAt: NOW - 1 }), NOW)).toEqual({ waiting: "worker" });
  });

  it("no_workers is said first, even over a retry still ahead: only the client can move the task", () => {
    expect(waitingOf(facts({ state: "queued", retryAt: NOW + 5_000, workersAlive: 0 }), NOW)).toEqual({
      waiting: "no_workers",
    });
  });

  it("an active task whose lease lapsed waits for a worker to take it over, or says no_workers", () => {
    const lapsed = { state: "active" as const, leaseExpiresAt: NOW - 1 };
    expect(waitingOf(facts({ ...lapsed, workersAlive: 1 }), NOW)).toEqual({ waiting: "worker" });
    expect(waitingOf(facts({ ...lapsed, workersAlive: 0 }), NOW)).toEqual({ waiting: "no_workers" });
    // At exactly the expiry the lease has lapsed (the same rule as a takeover).
    expect(waitingOf(facts({ state: "active", leaseExpiresAt: NOW, workersAlive: 0 }), NOW)).toEqual({
      waiting: "no_workers",
    });
  });

  it("a lapsed active task never says retry, even with a retry time in the row", () => {
    expect(
      waitingOf(facts({ state: "active", leaseExpiresAt: NOW - 1, retryAt: NOW + 60_000 }), NOW),
    ).toEqual({ waiting: "worker" });
  });

  it("an active task with a live lease and nothing reported is simply moving", () => {
    expect(waitingOf(facts({ state: "active", leaseExpiresAt: NOW + 5_000 }), NOW)).toEqual({});
    // Its holder is alive, so no worker being alive does not matter (a stream holds it).
    expect(waitingOf(facts({ state: "active", leaseExpiresAt: NOW + 5_000, workersAlive: 0 }), NOW)).toEqual(
      {},
    );
  });

  it("a live holder's reported quota or retry wait in the future passes through with its time", () => {
    const live = { state: "active" as const, leaseExpiresAt: NOW + 5_000 };
    expect(waitingOf(facts({ ...live, reported: { waiting: "quota", retryAt: NOW + 2_500 } }), NOW)).toEqual({
      waiting: "quota",
      retryAt: NOW + 2_500,
    });
    expect(waitingOf(facts({ ...live, reported: { waiting: "retry", retryAt: NOW + 30_000 } }), NOW)).toEqual(
      {
        waiting: "retry",
        retryAt: NOW + 30_000,
      },
    );
  });

  it("a reported wait without an end passes through without retryAt", () => {
    expect(
      waitingOf(facts({ state: "active", leaseExpiresAt: NOW + 5_000, reported: { waiting: "quota" } }), NOW),
    ).toEqual({ waiting: "quota" });
  });

  it("a reported wait whose time has passed is dropped", () => {
    const live = { state: "active" as const, leaseExpiresAt: NOW + 5_000 };
    expect(waitingOf(facts({ ...live, reported: { waiting: "quota", retryAt: NOW - 1 } }), NOW)).toEqual({});
    expect(waitingOf(facts({ ...live, reported: { waiting: "retry", retryAt: NOW } }), NOW)).toEqual({});
  });

  it("a lapsed lease outranks what its dead holder last reported", () => {
    const reported = { waiting: "quota" as const, retryAt: NOW + 60_000 };
    expect(
      waitingOf(facts({ state: "active", leaseExpiresAt: NOW - 1, workersAlive: 0, reported }), NOW),
    ).toEqual({ waiting: "no_workers" });
  });

  it("a finished task waits for nothing", () => {
    for (const state of ["completed", "failed"] as const) {
      expect(
        waitingOf(
          facts({
            state,
            workersAlive: 0,
            retryAt: NOW + 5_000,
            reported: { waiting: "retry", retryAt: NOW + 5_000 },
          }),
          NOW,
        ),
      ).toEqual({});
    }
  });
});
