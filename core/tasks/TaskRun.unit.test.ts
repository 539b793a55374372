import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AppError } from "../errors";
import type { TaskProgress, TaskSnapshot } from "../events";
import { LeaseLostError } from "./LeaseKeeper";
import { TaskRun, taskErrorOf } from "./TaskRun";

type Lease = ConstructorParameters<typeof TaskRun>[0];
type Task = ConstructorParameters<typeof TaskRun>[1];
type EndArgs = Parameters<Lease["end"]>;

const T0 = 1_764_336_000_000;
const OWNER = "run-1";

/** A claimed task row, as the lease hands it to a run. */
function claimedTask(overrides: Partial<Task> = {}): Task {
  return {
    id: "00000000-0000-4000-8000-000000000001",
    userId: "user-1",
    state: "active",
    phase: "listing",
    processed: 0,
    total: 0,
    seq: 1_000_000,
    createdAt: new Date(T0 - 5_000),
    startedAt: new Date(T0 - 1_000),
    finishedAt: null,
    result: null,
    error: null,
    ...overrides,
  } as Task;
}

/**
 * A TaskLease that writes to memory: every saved progress and every end is recorded, and `end`
 * answers the row as written (or null when the test says the lease was lost).
 */
function fakeLease(options: { lost?: boolean } = {}) {
  const saved: Array<{ progress: TaskProgress; seq: number; at: number }> = [];
  const ended: EndArgs[] = [];
  const lease = {
    async saveProgress(_taskId: string, _owner: string, progress: TaskProgress, seq: number) {
      saved.push({ progress, seq, at: Date.now() });
    },
    async end(...args: EndArgs) {
      ended.push(args);
      if (options.lost) return null;
      const [, , state, outcome] = args;
      return claimedTask({
        state,
        phase: outcome.progress?.phase,
        processed: outcome.progress?.processed,
        total: outcome.progress?.total,
        seq: outcome.seq,
        result: outcome.result ?? null,
        error: outcome.error ?? null,
        finishedAt: state === "queued" ? null : new Date(),
      } as Partial<Task>);
    },
  } as unknown as Lease;
  return { lease, saved, ended };
}

function runWith(options: ConstructorParameters<typeof TaskRun>[4] = {}, lease = fakeLease()) {
  const published: TaskSnapshot[] = [];
  const run = new TaskRun(lease.lease, claimedTask(), OWNER, (s) => void published.push(s), {
    publishIntervalMs: 100,
    persistIntervalMs: 1_000,
    reportWaitsOverMs: 2_000,
    ...options,
  });
  return { run, published, ...lease };
}

const fetching = (processed: number, total = 100) => ({ phase: "fetching" as const, processed, total });

describe("TaskRun: progress throttling on a fake clock", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("start publishes the claimed, active state with the next seq", async () => {
    const { run, published } = runWith();
    await run.start();
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ state: "active", seq: 1_000_001, at: T0 });
    expect(published[0]!.progress.phase).toBe("listing");
  });

  it("the first progress is published and persisted at once", async () => {
    const { run, published, saved } = runWith();
    await run.progress(fetching(1));
    expect(published.map((s) => s.progress.processed)).toEqual([1]);
    expect(saved).toEqual([{ progress: published[0]!.progress, seq: published[0]!.seq, at: T0 }]);
  });

  it("updates inside the publish interval are held and coalesced: one snapshot, with the latest numbers, at the interval's end", async () => {
    const { run, published } = runWith();
    await run.progress(fetching(1));
    vi.advanceTimersByTime(10);
    await run.progress(fetching(2));
    vi.advanceTimersByTime(30);
    await run.progress(fetching(3));
    await run.progress(fetching(4));
    expect(published.map((s) => s.progress.processed)).toEqual([1]);

    await vi.advanceTimersByTimeAsync(59);
    expect(published).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(published.map((s) => s.progress.processed)).toEqual([1, 4]);
    expect(published[1]!.at).toBe(T0 + 100);

    // Nothing else was pending.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(published).toHaveLength(2);
  });

  it("an update after a full interval of silence is published at once", async () => {
    const { run, published } = runWith();
    await run.progress(fetching(1));
    vi.advanceTimersByTime(100);
    await run.progress(fetching(2));
    expect(published.map((s) => s.progress.processed)).toEqual([1, 2]);
  });

  it("a phase change is published at once, inside the interval, and replaces the held update", async () => {
    const { run, published } = runWith();
    await run.progress({ phase: "listing", processed: 50, total: 0 });
    vi.advanceTimersByTime(10);
    await run.progress({ phase: "listing", processed: 90, total: 0 });
    await run.progress(fetching(0, 90));
    expect(published.map((s) => s.progress.phase)).toEqual(["listing", "fetching"]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(published).toHaveLength(2);
  });

  it("the row is written at most once per persist interval, with the seq of a published snapshot", async () => {
    const { run, published, saved } = runWith();
    for (let i = 1; i <= 25; i++) {
      await run.progress(fetching(i));
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(published.length).toBeGreaterThanOrEqual(25);
    expect(saved.length).toBe(3);
    for (let i = 1; i < saved.length; i++)
      expect(saved[i]!.at - saved[i - 1]!.at).toBeGreaterThanOrEqual(1_000);
    const seqs = new Set(published.map((s) => s.seq));
    for (const s of saved) expect(seqs.has(s.seq)).toBe(true);
  });

  it("every published snapshot has a higher seq than the one before", async () => {
    const { run, published } = runWith();
    await run.start();
    for (let i = 1; i <= 10; i++) {
      await run.progress(fetching(i));
      await vi.advanceTimersByTimeAsync(37);
    }
    run.wait({ reason: "quota", until: Date.now() + 5_000 });
    await vi.advanceTimersByTimeAsync(0);
    await run.progress(fetching(11));
    await run.complete({ added: 11, updated: 0, deleted: 0, mode: "full" });
    const seqs = published.map((s) => s.seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
  });
});

describe("TaskRun: waits are news only when they are long", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("a wait shorter than reportWaitsOverMs is part of the normal pace: nothing is published", async () => {
    const { run, published } = runWith();
    run.wait({ reason: "retry", until: T0 + 1_999 });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(published).toHaveLength(0);
  });

  it("a long wait is published at once with its reason and end, even inside the interval", async () => {
    const { run, published } = runWith();
    await run.progress(fetching(5));
    vi.advanceTimersByTime(10);
    run.wait({ reason: "quota", until: T0 + 10 + 30_000 });
    await vi.advanceTimersByTimeAsync(0);
    expect(published).toHaveLength(2);
    expect(published[1]).toMatchObject({ waiting: "quota", retryAt: T0 + 30_010 });
    expect(published[1]!.progress.processed).toBe(5);
  });

  it("the first progress after a wait is published at once and no longer says it waits", async () => {
    const { run, published } = runWith();
    await run.progress(fetching(5));
    run.wait({ reason: "retry", until: T0 + 4_000 });
    await vi.advanceTimersByTimeAsync(0);
    await run.progress(fetching(6));
    expect(published).toHaveLength(3);
    expect(published[2]!.waiting).toBeUndefined();
    expect(published[2]!.retryAt).toBeUndefined();
  });
});

describe("TaskRun: the last word", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("complete drops a held update, writes done with processed = total and the next seq, and publishes that row", async () => {
    const { run, published, ended } = runWith();
    await run.progress(fetching(10, 40));
    await run.progress(fetching(12, 40));
    const last = published.at(-1)!.seq;
    const final = await run.complete({ added: 40, updated: 0, deleted: 0, mode: "full" });

    expect(ended).toHaveLength(1);
    const [taskId, owner, state, outcome] = ended[0]!;
    expect([taskId, owner, state]).toEqual([claimedTask().id, OWNER, "completed"]);
    expect(outcome).toMatchObject({ seq: last + 1, result: { added: 40 } });
    expect(outcome.progress).toEqual({ phase: "done", processed: 40, total: 40, percent: 100 });
    expect(final).toMatchObject({ state: "completed", seq: last + 1, result: { added: 40 } });
    expect(published.at(-1)).toEqual(final);

    await vi.advanceTimersByTimeAsync(1_000);
    expect(published.at(-1)).toEqual(final);
  });

  it("fail writes our own error code verbatim and hides anything else behind sync_failed", async () => {
    const mine = runWith();
    const failed = await mine.run.fail(new AppError("reauth_required", "Connect Gmail again.", 401));
    expect(failed.error).toEqual({ code: "reauth_required", message: "Connect Gmail again." });

    const other = runWith();
    const hidden = await other.run.fail(new Error("password=hunter2 in a driver message"));
    expect(hidden.state).toBe("failed");
    expect(hidden.error?.code).toBe("sync_failed");
    expect(hidden.error?.message).not.toContain("hunter2");
  });

  it("a release with a retry time hands the task back queued, waiting for that retry", async () => {
    const { run, ended } = runWith();
    const snapshot = await run.release(new Error("Gmail 503"), T0 + 20_000);
    expect(ended[0]![2]).toBe("queued");
    expect(ended[0]![3].retryAt).toEqual(new Date(T0 + 20_000));
    expect(snapshot).toMatchObject({ state: "queued", waiting: "retry", retryAt: T0 + 20_000 });
    expect(snapshot.error).toBeUndefined();
  });

  it("a release without a retry time spends nothing and does not say it waits for a retry", async () => {
    const { run, ended } = runWith();
    const snapshot = await run.release();
    expect(ended[0]![3]).toMatchObject({ retryAt: null, error: undefined });
    expect(snapshot.state).toBe("queued");
    expect(snapshot.waiting).toBeUndefined();
  });

  it("a run that lost its lease publishes no last word: LeaseLostError instead", async () => {
    const { run, published } = runWith({}, fakeLease({ lost: true }));
    await run.progress(fetching(3));
    const before = published.length;
    await expect(run.complete({ added: 3, updated: 0, deleted: 0, mode: "full" })).rejects.toBeInstanceOf(
      LeaseLostError,
    );
    expect(published).toHaveLength(before);
  });

  it("taskErrorOf keeps an AppError's code and message and nothing else's", () => {
    expect(taskErrorOf(new AppError("quota_exhausted", "Wait a minute.", 429))).toEqual({
      code: "quota_exhausted",
      message: "Wait a minute.",
    });
    expect(taskErrorOf("a string").code).toBe("sync_failed");
  });
});

describe("TaskRun: the bar never goes back", () => {
  it("a resumed run that starts by listing, or whose total grows, keeps the percent already shown", async () => {
    const lease = fakeLease();
    const published: TaskSnapshot[] = [];
    const task = claimedTask({ phase: "fetching", processed: 500, total: 1_000 } as Partial<Task>);
    const run = new TaskRun(lease.lease, task, OWNER, (s) => void published.push(s), {
      publishIntervalMs: 0,
    });
    await run.start();
    await run.progress({ phase: "listing", processed: 0, total: 1_000 });
    await run.progress(fetching(520, 2_000));
    await run.progress(fetching(1_200, 2_000));
    await run.release();
    const percents = published.map((s) => s.progress.percent);
    expect(percents).toEqual([50, 50, 50, 60, 60]);
    expect(published.map((s) => s.progress.processed)).toEqual([500, 500, 520, 1_200, 1_200]);
  });
});
