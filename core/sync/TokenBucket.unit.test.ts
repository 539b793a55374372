import { describe, expect, it } from "vitest";
import { TokenBucket } from "./TokenBucket";

function bucketAt(rate: number) {
  const clock = { now: 1_000_000 };
  return { bucket: new TokenBucket(rate, () => clock.now), clock };
}

describe("TokenBucket (one process's Gmail quota)", () => {
  it("starts full: one second of units can be spent at once", () => {
    const { bucket } = bucketAt(10);
    expect(bucket.take(5)).toBe(0);
    expect(bucket.take(5)).toBe(0);
  });

  it("when empty, answers how long until the cost could be paid", () => {
    const { bucket } = bucketAt(10);
    bucket.take(5);
    bucket.take(5);
    expect(bucket.take(5)).toBe(500);
    expect(bucket.take(1)).toBe(100);
  });

  it("a refused take takes nothing: asking again at once answers the same wait", () => {
    const { bucket } = bucketAt(10);
    bucket.take(10);
    expect(bucket.take(5)).toBe(500);
    expect(bucket.take(5)).toBe(500);
  });

  it("refills continuously with time, and the answered wait is exactly enough", () => {
    const { bucket, clock } = bucketAt(10);
    bucket.take(10);
    clock.now += 300;
    expect(bucket.take(5)).toBe(200);
    clock.now += 199;
    expect(bucket.take(5)).toBeGreaterThan(0);
    clock.now += 1;
    expect(bucket.take(5)).toBe(0);
    expect(bucket.take(5)).toBe(500);
  });

  it("never holds more than one second of units, however long it rested", () => {
    const { bucket, clock } = bucketAt(10);
    clock.now += 60_000;
    expect(bucket.take(10)).toBe(0);
    expect(bucket.take(1)).toBe(100);
  });

  it("rounds a fractional wait up, so the caller never wakes too early", () => {
    const { bucket } = bucketAt(3);
    bucket.take(3);
    // 1 unit at 3/s is 333.3… ms.
    expect(bucket.take(1)).toBe(334);
  });

  it("refund gives units back, but never above one second's worth", () => {
    const { bucket } = bucketAt(10);
    bucket.take(10);
    bucket.refund(5);
    expect(bucket.take(5)).toBe(0);
    expect(bucket.take(5)).toBe(500);
    bucket.refund(100);
    expect(bucket.take(10)).toBe(0);
    expect(bucket.take(1)).toBe(100);
  });

  it("a cost above the whole bucket can never be paid: the wait never reaches 0", () => {
    const { bucket, clock } = bucketAt(3);
    clock.now += 10_000;
    const wait = bucket.take(5);
    expect(wait).toBeGreaterThan(0);
    clock.now += wait;
    expect(bucket.take(5)).toBeGreaterThan(0);
  });

  it("rate 0 means no limit", () => {
    const { bucket } = bucketAt(0);
    for (let i = 0; i < 1_000; i++) expect(bucket.take(5)).toBe(0);
  });
});
