import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LeaseKeeper, type LeaseKeeperOptions, LeaseLostError } from "./LeaseKeeper";

const T0 = 1_764_336_000_000;
const LEASE_MS = 9_000;

/** A keeper on a clock the test moves by hand; `renew` is whatever the test says the database does. */
function keeperWith(renew: LeaseKeeperOptions["renew"], extra: Partial<LeaseKeeperOptions> = {}) {
  const clock = { now: T0 };
  const keeper = new LeaseKeeper("task-1", {
    renew,
    claimedAt: T0,
    leaseMs: LEASE_MS,
    now: () => clock.now,
    ...extra,
  });
  return { keeper, clock };
}

const unreachable = () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432"));

describe("LeaseKeeper", () => {
  const keepers: LeaseKeeper[] = [];
  const track = <T extends { keeper: LeaseKeeper }>(k: T): T => {
    keepers.push(k.keeper);
    return k;
  };

  beforeEach(() => {
    // The keeper arms a real timer in its constructor: fake timers keep it from firing on its own.
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    for (const k of keepers.splice(0)) k.stop();
    vi.useRealTimers();
  });

  it("a successful renewal moves the expiry on, so later failed renewals keep the lease past the first expiry", async () => {
    let answer: () => Promise<Date | null> = () => Promise.resolve(new Date(T0 + 3_000 + LEASE_MS));
    const { keeper, clock } = track(keeperWith(() => answer()));
    clock.now = T0 + 3_000;
    await keeper.tick();
    expect(keeper.signal.aborted).toBe(false);

    // The database goes away. Past the claim's own expiry (T0 + 9 s) the renewed lease (T0 + 12 s)
    // still holds.
    answer = unreachable;
    clock.now = T0 + LEASE_MS + 1_000;
    await keeper.tick();
    expect(keeper.signal.aborted).toBe(false);

    clock.now = T0 + 3_000 + LEASE_MS;
    await keeper.tick();
    expect(keeper.signal.aborted).toBe(true);
    expect(keeper.signal.reason).toBeInstanceOf(LeaseLostError);
  });

  it("a renewal answered with null (the lease is lost) aborts the signal with LeaseLostError naming the task", async () => {
    const renew = vi.fn(() => Promise.resolve(null));
    const { keeper } = track(keeperWith(renew));
    await keeper.tick();
    expect(keeper.signal.aborted).toBe(true);
    const reason = keeper.signal.reason as LeaseLostError;
    expect(reason).toBeInstanceOf(LeaseLostError);
    expect(reason.taskId).toBe("task-1");
    expect(reason.name).toBe("LeaseLostError");
    // A lost lease is not renewed again.
    await vi.advanceTimersByTimeAsync(LEASE_MS * 3);
    expect(renew).toHaveBeenCalledTimes(1);
  });

  it("renewals that throw keep the lease until its expiry, and abort at the expiry", async () => {
    const renew = vi.fn(unreachable);
    const { keeper, clock } = track(keeperWith(renew));
    clock.now = T0 + 3_000;
    await keeper.tick();
    clock.now = T0 + LEASE_MS - 1;
    await keeper.tick();
    expect(keeper.signal.aborted).toBe(false);

    clock.now = T0 + LEASE_MS;
    await keeper.tick();
    expect(keeper.signal.aborted).toBe(true);
    expect(keeper.signal.reason).toBeInstanceOf(LeaseLostError);
    expect(renew).toHaveBeenCalledTimes(3);
  });

  it("a renewal that succeeds after failures keeps the lease past the first expiry", async () => {
    let fail = true;
    const clock = { now: T0 };
    const renew = vi.fn(() => (fail ? unreachable() : Promise.resolve(new Date(clock.now + LEASE_MS))));
    const { keeper } = track(keeperWith(renew, { now: () => clock.now }));
    clock.now = T0 + 3_000;
    await keeper.tick();
    clock.now = T0 + 6_000;
    await keeper.tick();
    fail = false;
    clock.now = T0 + 8_000;
    await keeper.tick();
    // Past the claim's expiry (T0 + 9 s), only the late renewal (to T0 + 17 s) keeps it.
    fail = true;
    clock.now = T0 + 12_000;
    await keeper.tick();
    expect(keeper.signal.aborted).toBe(false);
    clock.now = T0 + 17_000;
    await keeper.tick();
    expect(keeper.signal.aborted).toBe(true);
  });

  it("after stop(), tick() asks nothing and the timer renews no more", async () => {
    const renew = vi.fn(() => Promise.resolve(new Date(T0 + LEASE_MS)));
    const { keeper } = track(keeperWith(renew));
    keeper.stop();
    await keeper.tick();
    await vi.advanceTimersByTimeAsync(LEASE_MS * 5);
    expect(renew).not.toHaveBeenCalled();
    expect(keeper.signal.aborted).toBe(false);
  });

  it("renews on its own timer every third of the lease, each renewal scheduling the next", async () => {
    const clock = { now: T0 };
    const renew = vi.fn(() => Promise.resolve(new Date(clock.now + LEASE_MS)));
    const { keeper } = track({
      keeper: new LeaseKeeper("task-1", {
        renew,
        claimedAt: T0,
        leaseMs: LEASE_MS,
        now: () => clock.now,
      }),
    });
    expect(keeper.interval).toBe(3_000);
    await vi.advanceTimersByTimeAsync(2_999);
    expect(renew).toHaveBeenCalledTimes(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(renew).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(3_000 * 4);
    expect(renew).toHaveBeenCalledTimes(5);
    keeper.stop();
    await vi.advanceTimersByTimeAsync(3_000 * 4);
    expect(renew).toHaveBeenCalledTimes(5);
    expect(keeper.signal.aborted).toBe(false);
  });

  it("honours renewalsPerLease, and never renews more often than every 50 ms", () => {
    const renew = () => Promise.resolve(null);
    expect(track(keeperWith(renew, { renewalsPerLease: 6 })).keeper.interval).toBe(1_500);
    expect(track(keeperWith(renew, { leaseMs: 90 })).keeper.interval).toBe(50);
  });

  it("with the timer alone, failing renewals abort the run once the lease time has passed", async () => {
    const renew = vi.fn(unreachable);
    // Fake timers move Date.now too, so the keeper's default clock follows the timers.
    const keeper = new LeaseKeeper("task-9", {
      renew,
      claimedAt: T0,
      leaseMs: LEASE_MS,
    });
    keepers.push(keeper);
    await vi.advanceTimersByTimeAsync(LEASE_MS - 1);
    expect(keeper.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(keeper.signal.aborted).toBe(true);
    expect((keeper.signal.reason as LeaseLostError).taskId).toBe("task-9");
    expect(renew).toHaveBeenCalledTimes(3);
  });

  it("stop() during a renewal in flight wins: a late 'lost' answer aborts nothing", async () => {
    let answer!: (value: Date | null) => void;
    const { keeper } = track(keeperWith(() => new Promise<Date | null>((resolve) => (answer = resolve))));
    const ticking = keeper.tick();
    keeper.stop();
    answer(null);
    await ticking;
    expect(keeper.signal.aborted).toBe(false);
  });

  it("counts the lease from when the renewal was sent on its own clock, whatever expiry the database answers", async () => {
    // A database clock an hour ahead answers an expiry an hour ahead; the keeper does not lean on it.
    let answer: () => Promise<Date | null> = () => Promise.resolve(new Date(T0 + 3_600_000));
    const { keeper, clock } = track(keeperWith(() => answer()));
    clock.now = T0 + 1_000;
    await keeper.tick();
    answer = unreachable;
    clock.now = T0 + 1_000 + LEASE_MS;
    await keeper.tick();
    expect(keeper.signal.aborted).toBe(true);
  });
});
