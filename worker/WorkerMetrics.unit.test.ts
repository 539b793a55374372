import { describe, expect, it } from "vitest";
import { WorkerMetrics } from "./WorkerMetrics";

describe("worker quota metrics", () => {
  it("counts units spent by method, and refused by method, Google's reason and who refused", async () => {
    const metrics = new WorkerMetrics();
    metrics.quota.spent("messages.get", 5);
    metrics.quota.spent("messages.get", 50);
    metrics.quota.refused("messages.get", 5, "userRateLimitExceeded", "gmail");
    metrics.quota.refused("messages.list", 5, "dailyLimitExceeded", "gate");
    const text = await metrics.registry.metrics();
    expect(text).toContain('inbox_sync_worker_quota_units_spent_total{method="messages.get"} 55');
    expect(text).toContain(
      'inbox_sync_worker_quota_units_refused_total{method="messages.get",reason="userRateLimitExceeded",by="gmail"} 5',
    );
    expect(text).toContain(
      'inbox_sync_worker_quota_units_refused_total{method="messages.list",reason="dailyLimitExceeded",by="gate"} 5',
    );
  });
});
