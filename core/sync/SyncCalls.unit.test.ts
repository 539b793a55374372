import { describe, expect, it, vi } from "vitest";
import type { QuotaGate } from "./QuotaGate";
import { SyncCalls } from "./SyncCalls";
import type { SyncWait } from "./SyncOptions";

function refusal(status: number, reason: string) {
  return Object.assign(new Error(reason), {
    status,
    response: { status, headers: {}, data: { error: { code: status, errors: [{ reason }] } } },
  });
}

describe("SyncCalls and Google's quota refusals", () => {
  it("tells the gate which budget Google refused, and the sync's wait names it", async () => {
    const refused = vi.fn(async (_limit: string, _method?: string) => {});
    const quota: QuotaGate = { take: async () => {}, refused };
    const waits: SyncWait[] = [];
    const calls = new SyncCalls({
      quota,
      retry: { baseDelayMs: 0, maxDelayMs: 0 },
      onWait: (wait) => waits.push(wait),
    });
    const fn = vi
      .fn<() => Promise<{ data: string }>>()
      .mockRejectedValueOnce(refusal(403, "userRateLimitExceeded"))
      .mockRejectedValueOnce(refusal(429, "rateLimitExceeded"))
      .mockRejectedValueOnce(refusal(503, "backendError"))
      .mockResolvedValueOnce({ data: "served" });
    expect(await calls.call("messages.get", fn)).toBe("served");
    expect(refused.mock.calls).toEqual([
      ["user", "messages.get"],
      ["project", "messages.get"],
    ]);
    expect(waits.map((w) => [w.reason, w.limit])).toEqual([
      ["retry", "user"],
      ["retry", "project"],
      ["retry", undefined],
    ]);
  });

  it("a wait at the gate carries the budget the gate names", async () => {
    const waits: SyncWait[] = [];
    const quota: QuotaGate = { take: async (_m, _s, onWait) => onWait?.(Date.now() + 5_000, "day") };
    const calls = new SyncCalls({ quota, onWait: (wait) => waits.push(wait) });
    await calls.call("labels.list", async () => ({ data: 1 }));
    expect(waits).toHaveLength(1);
    expect(waits[0]).toMatchObject({ reason: "quota", limit: "day" });
  });
});
