import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { TaskSnapshot } from "../events";
import { resolveQuotaTable } from "../gmail/quotaProfile";
import { etaPlanOf } from "./eta";
import { TaskRun } from "./TaskRun";

type Lease = ConstructorParameters<typeof TaskRun>[0];
type Task = ConstructorParameters<typeof TaskRun>[1];

const T0 = 1_790_000_000_000;
/** The 2026 profile: 100 units a second, 5 a message and 5 a listing page of 500. */
const PLAN = etaPlanOf(resolveQuotaTable({ GMAIL_QUOTA_PROFILE: "2026" }));

function runOf(row: Partial<Task> = {}) {
  const lease = { saveProgress: async () => {}, end: async () => null } as unknown as Lease;
  const task = {
    id: "00000000-0000-4000-8000-000000000002",
    userId: "user-1",
    state: "active",
    phase: "listing",
    processed: 0,
    total: 0,
    seq: 10,
    createdAt: new Date(T0 - 5_000),
    startedAt: new Date(T0 - 1_000),
    finishedAt: null,
    result: null,
    error: null,
    ...row,
  } as Task;
  const published: TaskSnapshot[] = [];
  const run = new TaskRun(lease, task, "owner", (s) => void published.push(s), {
    publishIntervalMs: 100,
    reportWaitsOverMs: 2_000,
    etaPlan: PLAN,
  });
  const last = () => published.at(-1)!;
  return { run, published, last };
}

const fetching = (processed: number, total: number) => ({ phase: "fetching" as const, processed, total });

describe("TaskRun: rate, what limits it, and when the task should end", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("a running task's snapshot says its rate, no limit, the plan's units a message, and an ETA from the quota's pace", async () => {
    const { run, last } = runOf();
    await run.start();
    for (let s = 0; s <= 12; s++) {
      vi.setSystemTime(T0 + s * 1_000);
      await run.progress(fetching(s * 20, 10_000));
    }
    const snap = last();
    expect(snap.rate).toBeCloseTo(20);
    expect(snap.rateLimitedBy).toBeNull();
    expect(snap.unitsPerMessage).toBe(5);
    // 9,760 left: 48,800 units and 20 pages' 100, at 100 units a second.
    expect(snap.etaAt).toBe(T0 + 12_000 + 489_000);
  });

  it("waits at the quota gate say which budget holds the pace; a Gmail rate refusal says gmail; a 5xx retry says nothing", async () => {
    const { run, last } = runOf();
    await run.progress(fetching(0, 1_000));
    run.wait({ reason: "quota", until: T0 + 300, limitedBy: "user_quota" });
    vi.setSystemTime(T0 + 200);
    await run.progress(fetching(10, 1_000));
    expect(last().rateLimitedBy).toBe("user_quota");

    run.wait({ reason: "quota", until: T0 + 500, limitedBy: "project_quota" });
    vi.setSystemTime(T0 + 400);
    await run.progress(fetching(20, 1_000));
    expect(last().rateLimitedBy).toBe("project_quota");

    run.wait({ reason: "retry", until: T0 + 700, limitedBy: "gmail" });
    vi.setSystemTime(T0 + 600);
    await run.progress(fetching(30, 1_000));
    expect(last().rateLimitedBy).toBe("gmail");

    // Long after the last limited wait ended, and a retry after a 5xx is no rate limit.
    vi.setSystemTime(T0 + 10_000);
    run.wait({ reason: "retry", until: T0 + 10_100 });
    await run.progress(fetching(40, 1_000));
    expect(last().rateLimitedBy).toBeNull();
  });

  it("the daily budget spent: waiting daily_budget until its reset, rate 0, and the ETA counts the pause", async () => {
    const { run, last } = runOf();
    await run.progress(fetching(1_000, 11_000));
    const reset = T0 + 5 * 3_600_000;
    run.wait({ reason: "quota", until: reset, limitedBy: "daily_budget" });
    await vi.waitFor(() => expect(last().waiting).toBe("daily_budget"));
    const snap = last();
    expect(snap.retryAt).toBe(reset);
    expect(snap.rateLimitedBy).toBe("daily_budget");
    expect(snap.rate).toBe(0);
    // 10,000 left: 501 s of work after the reset.
    expect(snap.etaAt).toBe(reset + 501_000);
  });

  it("a resumed run that starts by listing keeps the shown progress, and its ETA is made from it, never 0 s", async () => {
    const { run, last } = runOf({ phase: "fetching", processed: 5_000, total: 10_000 });
    await run.start();
    await run.progress({ phase: "listing", processed: 0, total: 0 });
    const snap = last();
    expect(snap.progress).toMatchObject({ processed: 5_000, percent: 50 });
    // The mailbox is as large as the last run found it: 5,000 left: 25,000 units and 10 pages' 50, at 100 units a second.
    expect(snap.etaAt).toBe(T0 + 250_500);
    // Everything listed is fetched, but the task is not done (deletions, the cursor): not 0 s.
    vi.setSystemTime(T0 + 1_000);
    await run.progress(fetching(10_000, 10_000));
    expect(last().etaAt! - Date.now()).toBeGreaterThanOrEqual(1_000);
  });
});
