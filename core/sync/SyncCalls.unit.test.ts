import { describe, expect, it, vi } from "vitest";
import type { QuotaGate, QuotaLimitName } from "./QuotaGate";
import { SyncCalls } from "./SyncCalls";
import type { SyncWait } from "./SyncOptions";

const FAST_RETRY = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 };

function httpError(status: number, reason?: string) {
  return Object.assign(new Error(reason ?? `HTTP ${status}`), {
    status,
    response: { status, headers: {}, data: reason ? { error: { code: status, errors: [{ reason }] } } : {} },
  });
}

/** A gate that waits once, naming `limit` (or nothing, as a gate that cannot tell). */
const gateNaming = (limit?: QuotaLimitName): QuotaGate => ({
  take: async (_method, _signal, onWait) => onWait?.(1_000, limit),
});

describe("SyncCalls and Google's quota refusals", () => {
  it("tells the gate which budget Google refused, and the sync's wait names what limits it", async () => {
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
      .mockRejectedValueOnce(httpError(403, "userRateLimitExceeded"))
      .mockRejectedValueOnce(httpError(429, "rateLimitExceeded"))
      .mockRejectedValueOnce(httpError(503, "backendError"))
      .mockResolvedValueOnce({ data: "served" });
    expect(await calls.call("messages.get", fn)).toBe("served");
    expect(refused.mock.calls).toEqual([
      ["user", "messages.get"],
      ["project", "messages.get"],
    ]);
    expect(waits.map((w) => [w.reason, w.limitedBy])).toEqual([
      ["retry", "gmail"],
      ["retry", "gmail"],
      ["retry", undefined],
    ]);
  });
});

describe("SyncCalls: what each wait says holds the sync back", () => {
  it.each([
    [undefined, "user_quota"],
    ["user", "user_quota"],
    ["project", "project_quota"],
    ["day", "daily_budget"],
  ] as const)("a quota wait on budget %s is limited by %s", async (limit, limitedBy) => {
    const waits: SyncWait[] = [];
    const calls = new SyncCalls({ quota: gateNaming(limit), onWait: (w) => waits.push(w) });
    await calls.call("labels.list", async () => ({ data: {} }));
    expect(waits).toEqual([{ reason: "quota", until: 1_000, limitedBy }]);
  });

  it("a retry after 429 or 403 rateLimitExceeded is Gmail's rate limit; after a 503 it is no rate limit", async () => {
    for (const [err, limitedBy] of [
      [httpError(429), "gmail"],
      [httpError(403, "rateLimitExceeded"), "gmail"],
      [httpError(403, "userRateLimitExceeded"), "gmail"],
      [httpError(503), undefined],
    ] as const) {
      const waits: SyncWait[] = [];
      const calls = new SyncCalls({ retry: FAST_RETRY, onWait: (w) => waits.push(w) });
      let failed = false;
      await calls.call("labels.list", async () => {
        if (failed) return { data: {} };
        failed = true;
        throw err;
      });
      expect(waits).toHaveLength(1);
      expect(waits[0]!.reason).toBe("retry");
      expect(waits[0]!.limitedBy).toBe(limitedBy);
    }
  });
});
