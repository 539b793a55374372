import { describe, expect, it } from "vitest";
import type { QuotaGate } from "./QuotaGate";
import { SyncCalls } from "./SyncCalls";
import type { QuotaBudget, SyncWait } from "./SyncOptions";

const FAST_RETRY = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 };

function httpError(status: number, reason?: string) {
  return Object.assign(new Error(`HTTP ${status}`), {
    status,
    response: { status, headers: {}, data: reason ? { error: { errors: [{ reason }] } } : {} },
  });
}

/** A gate that waits once, naming `budget` (or nothing, as a gate that cannot tell). */
const gateNaming = (budget?: QuotaBudget): QuotaGate => ({
  take: async (_method, _signal, onWait) => {
    (onWait as ((until: number, budget?: QuotaBudget) => void) | undefined)?.(1_000, budget);
  },
});

describe("SyncCalls: what each wait says holds the sync back", () => {
  it.each([
    [undefined, "user_quota"],
    ["user", "user_quota"],
    ["project", "project_quota"],
    ["daily", "daily_budget"],
  ] as const)("a quota wait on budget %s is limited by %s", async (budget, limitedBy) => {
    const waits: SyncWait[] = [];
    const calls = new SyncCalls({ quota: gateNaming(budget), onWait: (w) => waits.push(w) });
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
