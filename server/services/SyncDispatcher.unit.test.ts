import { describe, expect, it } from "vitest";
import { AppError } from "../../core/errors";
import { PRIORITY, SyncQueue } from "../../core/queue";
import { STREAM_FALLBACK, SyncDispatcher } from "./SyncDispatcher";

type Options = ConstructorParameters<typeof SyncDispatcher>[1];
type Tasks = ConstructorParameters<typeof SyncDispatcher>[0];

const USER = "user-1";
const TASK_ID = "00000000-0000-4000-8000-0000000000aa";

interface World {
  /** null: the web node has no queue at all (no Redis configured). */
  queue: "present" | null;
  redisStatus: string;
  /** Live workers, or an Error when the heartbeat read fails. */
  workers: number | Error;
  /** Whether the user already has an open task that the request joins. */
  joined: boolean;
  /** The state of the joined task's job in the queue, or null when the job is lost. */
  jobState: string | null;
  /** Whether the task row says its sync will be incremental (the account has a history id). */
  incremental: boolean;
  /** Queue writes fail (Redis went away between the readiness check and the write). */
  queueWritesFail: boolean;
  /** Queue writes wait for `releaseWrites()` (a Redis that is slow to answer). */
  holdWrites: boolean;
}

/**
 * A dispatcher over fakes that record what it asked of them: the queue (jobs by id), Redis'
 * readiness, the worker heartbeats, the task rows and the account's cursor.
 */
function dispatcherIn(overrides: Partial<World> = {}) {
  const world: World = {
    queue: "present",
    redisStatus: "ready",
    workers: 2,
    joined: false,
    jobState: "waiting",
    incremental: false,
    queueWritesFail: false,
    holdWrites: false,
    ...overrides,
  };
  const log = {
    added: [] as Array<{ name: string; data: unknown; opts: unknown }>,
    removed: [] as string[],
    created: 0,
    workersAsked: 0,
    warned: [] as unknown[],
  };
  const fail = () => {
    if (world.queueWritesFail) throw new Error("Connection is closed.");
  };
  let releaseWrites = () => {};
  const held = new Promise<void>((resolve) => {
    releaseWrites = resolve;
  });
  const queue = {
    async add(name: string, data: unknown, opts: unknown) {
      if (world.holdWrites) await held;
      fail();
      log.added.push({ name, data, opts });
      return { id: (opts as { jobId: string }).jobId };
    },
    async getJob(id: string) {
      fail();
      if (world.jobState === null) return undefined;
      return {
        id,
        getState: async () => world.jobState,
        remove: async () => void log.removed.push(id),
      };
    },
  };
  const tasks = {
    async createOrJoin(userId: string, runner: string) {
      log.created += 1;
      expect([userId, runner]).toEqual([USER, "queue"]);
      return { task: { id: TASK_ID, userId }, joined: world.joined, incremental: world.incremental };
    },
  } as unknown as Tasks;
  const options = {
    queue: world.queue ? new SyncQueue(queue as never) : null,
    redis: { status: world.redisStatus },
    workers: {
      count: async () => {
        log.workersAsked += 1;
        if (world.workers instanceof Error) throw world.workers;
        return world.workers;
      },
    },
    logger: { warn: (fields: unknown) => void log.warned.push(fields) },
  } as unknown as Options;
  return { dispatcher: new SyncDispatcher(tasks, options), log, releaseWrites };
}

/** The 503 a client reads: its code, and the streaming fallback it should use instead. */
async function refusal(promise: Promise<unknown>) {
  const err = await promise.then(
    () => expect.fail("expected a 503"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  const e = err as AppError;
  return { status: e.status, code: e.code, fallback: e.extra.fallback };
}

const unavailable = { status: 503, code: "queue_unavailable", fallback: STREAM_FALLBACK };
const noWorkers = { status: 503, code: "no_workers", fallback: STREAM_FALLBACK };

describe("SyncDispatcher: when a sync request answers 503 and names the streaming fallback", () => {
  it("a node without a queue answers queue_unavailable and creates no task", async () => {
    const { dispatcher, log } = dispatcherIn({ queue: null });
    expect(await refusal(dispatcher.request(USER))).toEqual(unavailable);
    expect(log.created).toBe(0);
  });

  it("Redis not ready (reconnecting, closed) answers queue_unavailable without asking for workers", async () => {
    for (const redisStatus of ["reconnecting", "connecting", "end", "close"]) {
      const { dispatcher, log } = dispatcherIn({ redisStatus });
      expect(await refusal(dispatcher.request(USER))).toEqual(unavailable);
      expect(log.workersAsked).toBe(0);
      expect(log.created).toBe(0);
    }
  });

  it("a failed heartbeat read answers queue_unavailable, not no_workers", async () => {
    const { dispatcher, log } = dispatcherIn({ workers: new Error("Connection is closed.") });
    expect(await refusal(dispatcher.request(USER))).toEqual(unavailable);
    expect(log.created).toBe(0);
  });

  it("no live worker answers no_workers and creates no task", async () => {
    const { dispatcher, log } = dispatcherIn({ workers: 0 });
    expect(await refusal(dispatcher.request(USER))).toEqual(noWorkers);
    expect(log.created).toBe(0);
    expect(log.added).toEqual([]);
  });
});

describe("SyncDispatcher: the answer goes out once the row is written, before the job is added", () => {
  it("a request answers while its job's add is still waiting on Redis, and drain waits for that add", async () => {
    const { dispatcher, log, releaseWrites } = dispatcherIn({ holdWrites: true });
    expect(await dispatcher.request(USER)).toMatchObject({ task: { id: TASK_ID }, joined: false });
    expect(log.added).toEqual([]);
    let drained = false;
    const draining = dispatcher.drain().then(() => {
      drained = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(drained).toBe(false);
    releaseWrites();
    await draining;
    expect(log.added.map((a) => a.data)).toEqual([{ taskId: TASK_ID, userId: USER }]);
  });

  it("a job that cannot be added still answers the task, leaves it queued (nothing fails it) and is logged with its id", async () => {
    for (const joined of [false, true]) {
      const { dispatcher, log } = dispatcherIn({ joined, queueWritesFail: true });
      expect(await dispatcher.request(USER)).toMatchObject({ task: { id: TASK_ID }, joined });
      await dispatcher.drain();
      expect(log.added).toEqual([]);
      expect(log.warned).toEqual([{ taskId: TASK_ID, err: "Connection is closed." }]);
    }
  });
});

describe("SyncDispatcher: what it enqueues when it can", () => {
  it("a new task is one job named by the task id, at full-sync priority before the first sync", async () => {
    const { dispatcher, log } = dispatcherIn({ incremental: false });
    const answer = await dispatcher.request(USER);
    await dispatcher.drain();
    expect(answer).toMatchObject({ task: { id: TASK_ID }, joined: false });
    expect(log.added).toEqual([
      {
        name: "sync",
        data: { taskId: TASK_ID, userId: USER },
        opts: { jobId: TASK_ID, priority: PRIORITY.full },
      },
    ]);
  });

  it("a task whose sync will be incremental (the account has a cursor) gets the incremental priority, ahead of queued full syncs", async () => {
    const { dispatcher, log } = dispatcherIn({ incremental: true });
    await dispatcher.request(USER);
    await dispatcher.drain();
    expect(PRIORITY.incremental).toBeLessThan(PRIORITY.full);
    expect(log.added[0]!.opts).toEqual({ jobId: TASK_ID, priority: PRIORITY.incremental });
  });

  it("joining a task whose job is still queued or running adds nothing", async () => {
    for (const jobState of ["waiting", "prioritized", "active", "delayed"]) {
      const { dispatcher, log } = dispatcherIn({ joined: true, jobState });
      expect(await dispatcher.request(USER)).toMatchObject({ joined: true });
      await dispatcher.drain();
      expect(log.added).toEqual([]);
      expect(log.removed).toEqual([]);
    }
  });

  it("joining a task whose job was lost heals it: the job is added again under the task id", async () => {
    const { dispatcher, log } = dispatcherIn({ joined: true, jobState: null });
    expect(await dispatcher.request(USER)).toMatchObject({ joined: true });
    await dispatcher.drain();
    expect(log.added.map((a) => a.data)).toEqual([{ taskId: TASK_ID, userId: USER }]);
  });

  it("joining a task whose job already finished (a husk) replaces the husk with a fresh job", async () => {
    for (const jobState of ["completed", "failed", "unknown"]) {
      const { dispatcher, log } = dispatcherIn({ joined: true, jobState });
      await dispatcher.request(USER);
      await dispatcher.drain();
      expect(log.removed).toEqual([TASK_ID]);
      expect(log.added.map((a) => (a.opts as { jobId: string }).jobId)).toEqual([TASK_ID]);
    }
  });
});
