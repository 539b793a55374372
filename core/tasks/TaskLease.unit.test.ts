import { describe, expect, it } from "vitest";
import { claimVerdict, type LeaseView, leaseLapsed, mayRenew } from "./TaskLease";

// The lease rules are pure functions of a row's state and a clock reading: no database here.
const NOW = 1_764_336_000_000;
const queued: LeaseView = { state: "queued", leaseOwner: null, leaseExpiresAt: null };
const heldBy = (owner: string, expiresAt: number): LeaseView => ({
  state: "active",
  leaseOwner: owner,
  leaseExpiresAt: expiresAt,
});

describe("claimVerdict", () => {
  it("lets anyone claim a queued task, as a first claim and not a takeover", () => {
    expect(claimVerdict(queued, NOW)).toEqual({ ok: true, takeover: false });
  });

  it("lets a queued task be claimed even when a released holder's lease fields linger", () => {
    // A release writes `queued`; whatever the lease columns still say, queued means free.
    const stale: LeaseView = { state: "queued", leaseOwner: "worker-a", leaseExpiresAt: NOW + 60_000 };
    expect(claimVerdict(stale, NOW)).toEqual({ ok: true, takeover: false });
  });

  it("refuses an active task whose lease is live, and says until when it is held", () => {
    expect(claimVerdict(heldBy("worker-a", NOW + 7_000), NOW)).toEqual({
      ok: false,
      reason: "held",
      until: NOW + 7_000,
    });
    expect(claimVerdict(heldBy("worker-a", NOW + 1), NOW)).toEqual({
      ok: false,
      reason: "held",
      until: NOW + 1,
    });
  });

  it("allows a takeover at the very instant the lease expires, and after", () => {
    expect(claimVerdict(heldBy("worker-a", NOW), NOW)).toEqual({ ok: true, takeover: true });
    expect(claimVerdict(heldBy("worker-a", NOW - 30_000), NOW)).toEqual({ ok: true, takeover: true });
  });

  it("treats an active task with no lease expiry (no holder ever renewed) as free to take over", () => {
    const ownerless: LeaseView = { state: "active", leaseOwner: null, leaseExpiresAt: null };
    expect(claimVerdict(ownerless, NOW)).toEqual({ ok: true, takeover: true });
  });

  it("never runs a finished task again, whatever its lease says", () => {
    for (const state of ["completed", "failed"] as const) {
      expect(claimVerdict({ state, leaseOwner: null, leaseExpiresAt: null }, NOW)).toEqual({
        ok: false,
        reason: "finished",
      });
      expect(claimVerdict({ state, leaseOwner: "worker-a", leaseExpiresAt: NOW - 1 }, NOW)).toEqual({
        ok: false,
        reason: "finished",
      });
    }
  });

  it("refuses a missing task (deleted with its account) as missing", () => {
    expect(claimVerdict(null, NOW)).toEqual({ ok: false, reason: "missing" });
  });

  it("moves from held to takeover exactly when the clock reaches the expiry", () => {
    const task = heldBy("stream-1", NOW + 10_000);
    expect(claimVerdict(task, NOW + 9_999).ok).toBe(false);
    expect(claimVerdict(task, NOW + 10_000)).toEqual({ ok: true, takeover: true });
  });
});

describe("leaseLapsed", () => {
  it("is false for an active task before its expiry and true from the expiry on", () => {
    const task = heldBy("worker-a", NOW);
    expect(leaseLapsed(task, NOW - 1)).toBe(false);
    expect(leaseLapsed(task, NOW)).toBe(true);
    expect(leaseLapsed(task, NOW + 1)).toBe(true);
  });

  it("is true for an active task that has no expiry at all", () => {
    expect(leaseLapsed({ state: "active", leaseOwner: "worker-a", leaseExpiresAt: null }, NOW)).toBe(true);
  });

  it("only ever applies to active tasks: queued and finished ones have no lease to lapse", () => {
    for (const state of ["queued", "completed", "failed"] as const) {
      expect(leaseLapsed({ state, leaseOwner: "worker-a", leaseExpiresAt: NOW - 60_000 }, NOW)).toBe(false);
      expect(leaseLapsed({ state, leaseOwner: null, leaseExpiresAt: null }, NOW)).toBe(false);
    }
  });
});

describe("mayRenew", () => {
  it("lets the holder of an active task renew", () => {
    expect(mayRenew(heldBy("worker-a", NOW + 5_000), "worker-a")).toBe(true);
  });

  it("refuses anyone who is not the holder", () => {
    expect(mayRenew(heldBy("worker-a", NOW + 5_000), "worker-b")).toBe(false);
    expect(mayRenew({ state: "active", leaseOwner: null, leaseExpiresAt: null }, "worker-a")).toBe(false);
  });

  it("refuses the old holder once another runner has taken the task over", () => {
    const lapsed = heldBy("worker-a", NOW - 1);
    expect(claimVerdict(lapsed, NOW)).toEqual({ ok: true, takeover: true });
    const takenOver = heldBy("stream-7", NOW + 10_000);
    expect(mayRenew(takenOver, "worker-a")).toBe(false);
    expect(mayRenew(takenOver, "stream-7")).toBe(true);
  });

  it("lets a late holder that nobody took over renew (the rule reads the owner, not the clock)", () => {
    expect(mayRenew(heldBy("worker-a", NOW - 60_000), "worker-a")).toBe(true);
  });

  it("refuses renewal of a released (queued) task, even by its last holder", () => {
    expect(
      mayRenew({ state: "queued", leaseOwner: "worker-a", leaseExpiresAt: NOW + 5_000 }, "worker-a"),
    ).toBe(false);
    expect(mayRenew(queued, "worker-a")).toBe(false);
  });

  it("refuses renewal of a finished or missing task", () => {
    for (const state of ["completed", "failed"] as const) {
      expect(mayRenew({ state, leaseOwner: "worker-a", leaseExpiresAt: NOW + 5_000 }, "worker-a")).toBe(
        false,
      );
    }
    expect(mayRenew(null, "worker-a")).toBe(false);
  });
});

describe("release, as the pure rules see it", () => {
  it("a released task is claimable at once by anyone, without a takeover, and its old holder can no longer renew", () => {
    // What TaskLease.end(…, "queued") writes: queued, lease cleared.
    const released: LeaseView = { state: "queued", leaseOwner: null, leaseExpiresAt: null };
    expect(mayRenew(released, "worker-a")).toBe(false);
    expect(claimVerdict(released, NOW)).toEqual({ ok: true, takeover: false });
    // No lease time has to pass first: a released task is not an orphan waiting for its lapse.
    expect(leaseLapsed(released, NOW)).toBe(false);
  });

  it("the next holder's claim then holds the task against everyone else until its own expiry", () => {
    const reclaimed = heldBy("worker-b", NOW + 10_000);
    expect(claimVerdict(reclaimed, NOW + 1)).toEqual({ ok: false, reason: "held", until: NOW + 10_000 });
    expect(mayRenew(reclaimed, "worker-b")).toBe(true);
    expect(mayRenew(reclaimed, "worker-a")).toBe(false);
  });
});
