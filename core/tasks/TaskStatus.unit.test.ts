import { describe, expect, it } from "vitest";
import { willRun } from "../queue";
import type { SyncTask } from "../repositories/task.repository";
import { JOBLESS_AFTER_MS, TaskStatus, type WaitFacts, waitingOf } from "./TaskStatus";

const NOW = 1_764_336_000_000;
const facts = (f: Partial<WaitFacts>): WaitFacts => ({
  state: "queued",
  leaseExpiresAt: null,
  retryAt: null,
  workersAlive: 1,
  ...f,
});

describe("waitingOf: why an unfinished task is not moving", () => {
  it("a queued task with a live worker waits for that worker", () => {
    expect(waitingOf(facts({ state: "queued", workersAlive: 2 }), NOW)).toEqual({ waiting: "worker" });
  });

  it("a queued task with no live worker says no_workers, so the client streams it", () => {
    expect(waitingOf(facts({ state: "queued", workersAlive: 0 }), NOW)).toEqual({ waiting: "no_workers" });
  });

  it("a queued task with no job a worker would take says no_workers, though workers are alive", () => {
    expect(waitingOf(facts({ state: "queued", workersAlive: 2, jobless: true }), NOW)).toEqual({
      waiting: "no_workers",
    });
    // Only a queued task: an active one's job is its holder's business (the lease decides).
    expect(
      waitingOf(facts({ state: "active", leaseExpiresAt: NOW + 5_000, workersAlive: 2, jobless: true }), NOW),
    ).toEqual({});
  });

  it("a task parked by the project's daily budget says daily_budget until the reset, not retry", () => {
    expect(
      waitingOf(facts({ state: "queued", retryAt: NOW + 60_000, releasedFor: "daily_budget" }), NOW),
    ).toEqual({ waiting: "daily_budget", retryAt: NOW + 60_000 });
    expect(
      waitingOf(facts({ state: "queued", retryAt: NOW + 60_000, releasedFor: "gmail_unavailable" }), NOW),
    ).toEqual({ waiting: "retry", retryAt: NOW + 60_000 });
  });

  it("a queued task whose retry is still ahead waits for the retry, with its time", () => {
    expect(waitingOf(facts({ state: "queued", retryAt: NOW + 5_000 }), NOW)).toEqual({
      waiting: "retry",
      retryAt: NOW + 5_000,
    });
  });

  it("a queued task whose retry time has come waits for a worker again", () => {
    expect(waitingOf(facts({ state: "queued", retryAt: NOW }), NOW)).toEqual({ waiting: "worker" });
    expect(waitingOf(facts({ state: "queued", retryAt: NOW - 1 }), NOW)).toEqual({ waiting: "worker" });
  });

  it("no_workers is said first, even over a retry still ahead: only the client can move the task", () => {
    expect(waitingOf(facts({ state: "queued", retryAt: NOW + 5_000, workersAlive: 0 }), NOW)).toEqual({
      waiting: "no_workers",
    });
  });

  it("a task parked by the daily budget says daily_budget until the reset even with no worker alive, and no_workers from the reset on", () => {
    const parked = { state: "queued" as const, releasedFor: "daily_budget", workersAlive: 0 };
    // Before the reset nothing can move it, a client's stream neither: it must not be asked to.
    expect(waitingOf(facts({ ...parked, retryAt: NOW + 60_000 }), NOW)).toEqual({
      waiting: "daily_budget",
      retryAt: NOW + 60_000,
    });
    expect(waitingOf(facts({ ...parked, retryAt: NOW }), NOW)).toEqual({ waiting: "no_workers" });
    expect(
      waitingOf(facts({ ...parked, retryAt: NOW + 60_000, jobless: true, workersAlive: 1 }), NOW),
    ).toEqual({
      waiting: "daily_budget",
      retryAt: NOW + 60_000,
    });
  });

  it("an active task whose lease lapsed waits for a worker to take it over, or says no_workers", () => {
    const lapsed = { state: "active" as const, leaseExpiresAt: NOW - 1 };
    expect(waitingOf(facts({ ...lapsed, workersAlive: 1 }), NOW)).toEqual({ waiting: "worker" });
    expect(waitingOf(facts({ ...lapsed, workersAlive: 0 }), NOW)).toEqual({ waiting: "no_workers" });
    // At exactly the expiry the lease has lapsed (the same rule as a takeover).
    expect(waitingOf(facts({ state: "active", leaseExpiresAt: NOW, workersAlive: 0 }), NOW)).toEqual({
      waiting: "no_workers",
    });
  });

  it("a lapsed active task never says retry, even with a retry time in the row", () => {
    expect(
      waitingOf(facts({ state: "active", leaseExpiresAt: NOW - 1, retryAt: NOW + 60_000 }), NOW),
    ).toEqual({ waiting: "worker" });
  });

  it("an active task with a live lease and nothing reported is simply moving", () => {
    expect(waitingOf(facts({ state: "active", leaseExpiresAt: NOW + 5_000 }), NOW)).toEqual({});
    // Its holder is alive, so no worker being alive does not matter (a stream holds it).
    expect(waitingOf(facts({ state: "active", leaseExpiresAt: NOW + 5_000, workersAlive: 0 }), NOW)).toEqual(
      {},
    );
  });

  it("a live holder's reported quota or retry wait in the future passes through with its time", () => {
    const live = { state: "active" as const, leaseExpiresAt: NOW + 5_000 };
    expect(waitingOf(facts({ ...live, reported: { waiting: "quota", retryAt: NOW + 2_500 } }), NOW)).toEqual({
      waiting: "quota",
      retryAt: NOW + 2_500,
    });
    expect(waitingOf(facts({ ...live, reported: { waiting: "retry", retryAt: NOW + 30_000 } }), NOW)).toEqual(
      {
        waiting: "retry",
        retryAt: NOW + 30_000,
      },
    );
  });

  it("a reported wait without an end passes through without retryAt", () => {
    expect(
      waitingOf(facts({ state: "active", leaseExpiresAt: NOW + 5_000, reported: { waiting: "quota" } }), NOW),
    ).toEqual({ waiting: "quota" });
  });

  it("a reported wait whose time has passed is dropped", () => {
    const live = { state: "active" as const, leaseExpiresAt: NOW + 5_000 };
    expect(waitingOf(facts({ ...live, reported: { waiting: "quota", retryAt: NOW - 1 } }), NOW)).toEqual({});
    expect(waitingOf(facts({ ...live, reported: { waiting: "retry", retryAt: NOW } }), NOW)).toEqual({});
  });

  it("a lapsed lease outranks what its dead holder last reported", () => {
    const reported = { waiting: "quota" as const, retryAt: NOW + 60_000 };
    expect(
      waitingOf(facts({ state: "active", leaseExpiresAt: NOW - 1, workersAlive: 0, reported }), NOW),
    ).toEqual({ waiting: "no_workers" });
  });

  it("a finished task waits for nothing", () => {
    for (const state of ["completed", "failed"] as const) {
      expect(
        waitingOf(
          facts({
            state,
            workersAlive: 0,
            retryAt: NOW + 5_000,
            reported: { waiting: "retry", retryAt: NOW + 5_000 },
          }),
          NOW,
        ),
      ).toEqual({});
    }
  });
});

describe("TaskStatus: a queued task whose job never came (its add failed after the answer, or Redis lost it)", () => {
  const task = (over: Partial<SyncTask> = {}) =>
    ({
      id: "00000000-0000-4000-8000-0000000000bb",
      userId: "user-1",
      state: "queued",
      runner: "queue",
      seq: 0,
      processed: 0,
      total: null,
      phase: null,
      createdAt: new Date(NOW - 60_000),
      updatedAt: new Date(NOW - 60_000),
      leaseExpiresAt: null,
      retryAt: null,
      ...over,
    }) as unknown as SyncTask;
  /** A status over a queue whose job for the task is in `state` (undefined: no job), and one live worker. */
  const statusWith = (state: string | undefined | Error) => {
    const asked: string[] = [];
    const status = new TaskStatus({
      queue: {
        progressOf: async () => undefined,
        hasLiveJob: async (taskId: string) => {
          asked.push(taskId);
          if (state instanceof Error) throw state;
          return willRun(state);
        },
      },
      workersAlive: async () => 1,
      now: () => NOW,
    });
    return { status, asked };
  };

  it("after the grace with no job, or only a finished husk, it says no_workers, so a client takes it over by stream", async () => {
    for (const state of [undefined, "completed", "failed"]) {
      const { status } = statusWith(state);
      expect((await status.snapshot(task())).waiting).toBe("no_workers");
    }
    // The grace ends exactly JOBLESS_AFTER_MS after the row's last change.
    const { status } = statusWith(undefined);
    const graceOver = new Date(NOW - JOBLESS_AFTER_MS);
    expect((await status.snapshot(task({ updatedAt: graceOver }))).waiting).toBe("no_workers");
  });

  it("with a job waiting, delayed or running, it waits for a worker", async () => {
    for (const state of ["waiting", "prioritized", "delayed", "active"]) {
      const { status } = statusWith(state);
      expect((await status.snapshot(task())).waiting).toBe("worker");
    }
  });

  it("within the grace a missing job is an add on its way: it waits for a worker and Redis is not asked", async () => {
    const { status, asked } = statusWith(undefined);
    const fresh = new Date(NOW - JOBLESS_AFTER_MS + 1);
    expect((await status.snapshot(task({ updatedAt: fresh }))).waiting).toBe("worker");
    expect(asked).toEqual([]);
  });

  it("a stream's queued task is not judged by the queue's jobs, and a failed job read says nothing", async () => {
    const { status, asked } = statusWith(undefined);
    expect((await status.snapshot(task({ runner: "stream" }))).waiting).toBe("worker");
    expect(asked).toEqual([]);
    const { status: blind } = statusWith(new Error("Connection is closed."));
    expect((await blind.snapshot(task())).waiting).toBe("worker");
  });
});
