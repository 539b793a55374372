import { describe, expect, it } from "vitest";
import { messagesPerSecondOf } from "./QuotaGate";

describe("messagesPerSecondOf", () => {
  it("turns a per-user quota into the messages.get calls it pays for a second (5 units each)", () => {
    expect(messagesPerSecondOf(250)).toBe(50);
    // Projects created since May 2026: 6,000 units a minute per user.
    expect(messagesPerSecondOf(100)).toBe(20);
  });

  it("leaves the sync's default when the quota is unlimited", () => {
    expect(messagesPerSecondOf(0)).toBeUndefined();
  });
});
