import { describe, expect, it } from "vitest";
import { LaneControl, MAX_LANES } from "./LaneControl";
import { BATCH_BODY_CHARS } from "./WriteBuffer";

/** A clock the test moves by hand. */
function fakeClock() {
  let t = 1_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("LaneControl", () => {
  it("without batches: one request per lane, the lanes asked for", () => {
    const lanes = new LaneControl({ lanesWanted: 10, maxIds: 1, perSecond: 50 });
    expect(lanes).toMatchObject({ perRequest: 1, base: 10, inFlight: 10 });
    expect(lanes.requests).toBe(10);
    expect(lanes.idsPerRequest()).toBe(1);
  });

  it("with batches: a request carries half a second of quota, two full requests in flight", () => {
    const lanes = new LaneControl({ lanesWanted: 10, maxIds: 50, perSecond: 50 });
    expect(lanes).toMatchObject({ perRequest: 25, base: 50 });
    expect(lanes.requests).toBe(2);
    expect(lanes.idsPerRequest()).toBe(25);
    const fast = new LaneControl({ lanesWanted: 10, maxIds: 100, perSecond: 1_000 });
    expect(fast).toMatchObject({ perRequest: 100, base: MAX_LANES });
    // Never fewer than two requests: one is decoded while the other is on the wire.
    expect(fast.requests).toBe(2);
    expect(fast.idsPerRequest()).toBe(50);
  });

  it("an incremental sync with nothing to fetch keeps one lane", () => {
    const lanes = new LaneControl({ lanesWanted: 0, maxIds: 1, perSecond: 50 });
    expect(lanes.requests).toBe(1);
  });

  it("requests shrink as bodies grow, to about BATCH_BODY_CHARS of bodies each", () => {
    const lanes = new LaneControl({ lanesWanted: 10, maxIds: 50, perSecond: 50 });
    lanes.noteBody(BATCH_BODY_CHARS / 4);
    expect(lanes.idsPerRequest()).toBe(4);
    lanes.noteBody(BATCH_BODY_CHARS * 10);
    expect(lanes.idsPerRequest()).toBe(1);
  });

  it("opens more lanes when 20 answers came slower than the quota allows (Little's law on the latency)", () => {
    const clock = fakeClock();
    const lanes = new LaneControl({ lanesWanted: 10, maxIds: 1, perSecond: 200, now: clock.now });
    for (let i = 0; i < 19; i++) expect(lanes.observe(100, 1)).toBeNull();
    // 20 answers in 2 s: 10 a second, far under 200; 100 ms each wants 200 × 0.1 × 1.25 = 25 lanes.
    clock.advance(2_000);
    expect(lanes.observe(100, 1)).toBe(25);
    expect(lanes.inFlight).toBe(25);
  });

  it("opens nothing while answers come as fast as the quota allows", () => {
    const clock = fakeClock();
    const lanes = new LaneControl({ lanesWanted: 10, maxIds: 1, perSecond: 200, now: clock.now });
    clock.advance(100);
    // 20 answers in 0.1 s: 200 a second.
    expect(lanes.observe(100, 20)).toBeNull();
    expect(lanes.inFlight).toBe(10);
  });

  it("opens nothing once closed or halted, whatever the latency", () => {
    const clock = fakeClock();
    const closed = new LaneControl({ lanesWanted: 10, maxIds: 1, perSecond: 200, now: clock.now });
    closed.close();
    let halted = false;
    const stopped = new LaneControl({
      lanesWanted: 10,
      maxIds: 1,
      perSecond: 200,
      now: clock.now,
      isHalted: () => halted,
    });
    halted = true;
    clock.advance(10_000);
    expect(closed.observe(1_000, 20)).toBeNull();
    expect(stopped.observe(1_000, 20)).toBeNull();
    expect(stopped.inFlight).toBe(10);
  });
});
