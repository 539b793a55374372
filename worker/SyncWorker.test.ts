import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SyncQueue as Queue } from "../core/queue";
import { SEQ_SPAN } from "../core/tasks/TaskLease";
import { type Stack, startStack, storedCount, waitForTask } from "../test/stack";

describe("sync worker", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ workers: 1 });
  });
  afterAll(() => stack?.close());

  const countRows = (email: string) => storedCount(stack, email);

  it("a worker stopped mid-sync hands the task back and another one finishes it, losing and doubling nothing", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "handoff@example.com", count: 1200 });
    await stack.simControl("PUT", "/sim/faults", { latencyMs: 4 });
    const user = await stack.signIn("handoff@example.com");
    const { body } = await user.json("POST", "/api/emails/sync");

    // Wait until the first worker is part-way through, then stop it the way SIGTERM does.
    for (;;) {
      const { body: s } = await user.json("GET", body.statusUrl);
      if (s.progress.phase === "fetching" && s.progress.processed >= 200) break;
      expect(s.state).not.toBe("completed");
      await new Promise((r) => setTimeout(r, 20));
    }
    const first = stack.workers[0]!;
    await first.close();
    stack.workers.splice(stack.workers.indexOf(first), 1);
    const midway = await countRows("handoff@example.com");
    expect(midway.n).toBeGreaterThan(0);
    expect(midway.n).toBeLessThan(1200);
    const { body: paused } = await user.json("GET", body.statusUrl);
    expect(paused.state).toBe("queued");

    await stack.addWorker();
    const { final, seen } = await waitForTask(user, body.taskId);
    await stack.simControl("DELETE", "/sim/faults");
    expect(final.state).toBe("completed");
    expect(final.result.mode).toBe("full");
    expect(final.result.added).toBe(1200 - midway.n);
    expect(await countRows("handoff@example.com")).toEqual({ n: 1200, d: 1200 });
    // The resumed run (the second claim moves seq on by another SEQ_SPAN) starts
    // where the first stopped: its fetching counts the messages already stored as processed.
    const resumed = seen.filter(
      (s) => s.seq > 2 * SEQ_SPAN + 1 && s.state === "active" && s.progress.phase === "fetching",
    );
    // The claim's own snapshot repeats the row's last persisted progress (up to a second behind),
    // and polling may read it many times; every snapshot the resumed run makes itself (a later
    // seq) counts at least what was stored.
    const claimSeq = resumed[0]?.seq;
    const own = resumed.filter((s) => s.seq !== claimSeq);
    expect(own.length).toBeGreaterThan(0);
    for (const s of own) expect(s.progress.processed).toBeGreaterThanOrEqual(midway.n);
    const seqs = seen.map((s) => s.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it("syncs through Gmail faults end to end with exact counts", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "faulty@example.com", count: 500 });
    const user = await stack.signIn("faulty@example.com");
    await stack.simControl("PUT", "/sim/faults", {
      rate429: 0.1,
      rate500: 0.05,
      rate503: 0.05,
      rateReset: 0.02,
    });
    const { body } = await user.json("POST", "/api/emails/sync");
    const { final } = await waitForTask(user, body.taskId);
    await stack.simControl("DELETE", "/sim/faults");
    expect(final).toMatchObject({ state: "completed", result: { added: 500, mode: "full" } });
    expect(await countRows("faulty@example.com")).toEqual({ n: 500, d: 500 });
  });

  it("an active task whose job vanished from Redis is enqueued again by the next request", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "lostjob@example.com", count: 30 });
    const user = await stack.signIn("lostjob@example.com");
    const { queue, lease } = stack.web.ctx;
    const worker = stack.workers[0]!.worker;
    await worker.pause();
    let taskId: string;
    try {
      const first = await user.json("POST", "/api/emails/sync");
      taskId = first.body.taskId;
      // A worker took the task, then Redis lost the job (a flush, a failover without persistence).
      expect(await lease.claim(taskId, { owner: "lost-worker", runner: "queue" })).toMatchObject({
        ok: true,
      });
      await queue!.remove(taskId);
      expect(await queue!.getJob(taskId)).toBeUndefined();

      const again = await user.json("POST", "/api/emails/sync");
      expect(again.body).toMatchObject({ taskId, joined: true, state: "active" });
      // The job is made sure of right after the answer.
      await Promise.all(stack.webs.map((w) => w.ctx.dispatcher.drain()));
      expect(await queue!.getJob(taskId)).toBeDefined();
    } finally {
      worker.resume();
    }
    const { final } = await waitForTask(user, taskId);
    expect(final).toMatchObject({ state: "completed", result: { added: 30 } });
  });

  it("a worker process stopped with SIGTERM mid-sync exits cleanly; its task finishes elsewhere", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "sigterm@example.com", count: 1200 });
    await stack.simControl("PUT", "/sim/faults", { latencyMs: 4 });
    const user = await stack.signIn("sigterm@example.com");
    const inProcess = stack.workers[0]!.worker;
    await inProcess.pause();
    const proc = await stack.spawnWorker();
    try {
      const { body } = await user.json("POST", "/api/emails/sync");
      for (;;) {
        const { body: s } = await user.json("GET", body.statusUrl);
        if (s.progress.phase === "fetching" && s.progress.processed >= 200) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const exited = once(proc.child, "exit");
      proc.child.kill("SIGTERM");
      const [code] = await exited;
      expect(code).toBe(0);
      expect((await user.json("GET", body.statusUrl)).body.state).toBe("queued");

      inProcess.resume();
      const { final } = await waitForTask(user, body.taskId);
      expect(final).toMatchObject({ state: "completed", result: { mode: "full" } });
      expect(await countRows("sigterm@example.com")).toEqual({ n: 1200, d: 1200 });
    } finally {
      inProcess.resume();
      await proc.stop();
      await stack.simControl("DELETE", "/sim/faults");
    }
  });

  it("queued incremental syncs are taken before queued full ones", async () => {
    const single = await startStack({ env: { WORKER_CONCURRENCY: "1" } });
    try {
      for (const [email, count] of [
        ["blocker@example.com", 50],
        ["first-time@example.com", 300],
        ["returning@example.com", 20],
      ] as const) {
        await single.simControl("POST", "/sim/accounts", { email, count });
      }
      const blocker = await single.signIn("blocker@example.com");
      const firstTime = await single.signIn("first-time@example.com");
      const returning = await single.signIn("returning@example.com");
      await waitForTask(returning, (await returning.json("POST", "/api/emails/sync")).body.taskId);

      const worker = single.workers[0]!.worker;
      await worker.pause();
      const b = (await blocker.json("POST", "/api/emails/sync")).body.taskId;
      const full = (await firstTime.json("POST", "/api/emails/sync")).body.taskId;
      const quick = (await returning.json("POST", "/api/emails/sync")).body.taskId;
      worker.resume();
      const [, fullDone, quickDone] = await Promise.all([
        waitForTask(blocker, b),
        waitForTask(firstTime, full),
        waitForTask(returning, quick),
      ]);
      expect(quickDone.final.result.mode).toBe("incremental");
      expect(fullDone.final.result.mode).toBe("full");
      // One job at a time: the incremental one, queued last, ran before the full one started.
      expect(Date.parse(quickDone.final.finishedAt)).toBeLessThanOrEqual(
        Date.parse(fullDone.final.startedAt),
      );
    } finally {
      await single.close();
    }
  });

  it("a huge sync yields its slot to a small one that waits, then resumes and finishes", async () => {
    const single = await startStack({ env: { WORKER_CONCURRENCY: "1", SYNC_SLICE_SECONDS: "1" } });
    try {
      await single.simControl("POST", "/sim/accounts", { email: "huge@example.com", count: 3000 });
      await single.simControl("POST", "/sim/accounts", { email: "tiny@example.com", count: 10 });
      const huge = await single.signIn("huge@example.com");
      const tiny = await single.signIn("tiny@example.com");
      await single.simControl("PUT", "/sim/faults", { latencyMs: 8 });
      const big = await huge.json("POST", "/api/emails/sync");
      for (;;) {
        const { body } = await huge.json("GET", big.body.statusUrl);
        if (body.state === "active") break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const small = await tiny.json("POST", "/api/emails/sync");
      const [bigDone, smallDone] = await Promise.all([
        waitForTask(huge, big.body.taskId, 120_000),
        waitForTask(tiny, small.body.taskId, 120_000),
      ]);
      await single.simControl("DELETE", "/sim/faults");
      // One slot: the small sync ran in the middle of the big one, which then picked up again.
      expect(Date.parse(smallDone.final.finishedAt)).toBeLessThan(Date.parse(bigDone.final.finishedAt));
      // It was claimed more than once: it yielded and came back.
      const [claims] = (await single.web.ctx.sequelize.query(
        "SELECT attempts FROM sync_tasks WHERE id = :id",
        {
          replacements: { id: big.body.taskId },
          type: "SELECT",
        },
      )) as Array<{ attempts: number }>;
      expect(claims!.attempts).toBeGreaterThanOrEqual(2);
      expect(bigDone.final).toMatchObject({ state: "completed", result: { mode: "full" } });
      const [row] = (await single.web.ctx.sequelize.query(
        "SELECT count(*)::int AS n FROM emails e JOIN users u ON u.id = e.user_id WHERE u.email = 'huge@example.com'",
        { type: "SELECT" },
      )) as Array<{ n: number }>;
      expect(row!.n).toBe(3000);
    } finally {
      await single.close();
    }
  });

  it("an open task whose job already finished is run again by the next request", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "husk@example.com", count: 25 });
    const user = await stack.signIn("husk@example.com");
    const first = await user.json("POST", "/api/emails/sync");
    await waitForTask(user, first.body.taskId);
    const { queue, sequelize } = stack.web.ctx;
    // The row is final a moment before BullMQ moves the job to "completed".
    await waitForJobState(queue!, first.body.taskId, "completed");
    // The row never heard that its job ended (the database was away when it did).
    await sequelize.query("UPDATE sync_tasks SET state = 'active', finished_at = NULL WHERE id = :id", {
      replacements: { id: first.body.taskId },
    });
    await stack.simControl("POST", "/sim/accounts/husk@example.com/messages", { count: 2 });

    const again = await user.json("POST", "/api/emails/sync");
    expect(again.body).toMatchObject({ taskId: first.body.taskId, joined: true });
    const { final } = await waitForTask(user, first.body.taskId, 15_000);
    expect(final).toMatchObject({ state: "completed", result: { added: 2, mode: "incremental" } });
  });

  it("a task left active by a streaming web node that died is taken over by a worker once its lease lapses", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "orphan@example.com", count: 40 });
    const user = await stack.signIn("orphan@example.com");
    const { tasks, lease, queue } = stack.web.ctx;
    const owner = await stack.web.ctx.models.User.findOne({ where: { email: "orphan@example.com" } });
    const { task } = await tasks.createOrJoin(owner!.id, "stream");
    // The stream starts, then its node dies: nobody renews the lease, and no job exists.
    expect(await lease.claim(task.id, { owner: "dead-node", runner: "stream" })).toMatchObject({ ok: true });
    expect(await queue!.getJob(task.id)).toBeUndefined();
    const claimedAt = Date.now();

    // Nobody asks: the workers' orphan sweep gives the task a job once the lease lapses.
    const { final } = await waitForTask(user, task.id, 20_000);
    expect(final).toMatchObject({ state: "completed", result: { added: 40 } });
    expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(lease.leaseMs);
    expect(await queue!.getJob(task.id)).toBeDefined();
  });

  it("a job whose task a live stream holds waits, and takes the task over once the stream stops renewing", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "heldjob@example.com", count: 25 });
    const user = await stack.signIn("heldjob@example.com");
    const { tasks, lease, queue } = stack.web.ctx;
    const owner = await stack.web.ctx.models.User.findOne({ where: { email: "heldjob@example.com" } });
    const { task } = await tasks.createOrJoin(owner!.id, "stream");
    expect(await lease.claim(task.id, { owner: "live-node", runner: "stream" })).toMatchObject({ ok: true });
    // The stream renews for a while: the worker's job must wait rather than run the task twice.
    const renewals = setInterval(() => void lease.renew(task.id, "live-node"), 500);
    try {
      const joined = await user.json("POST", "/api/emails/sync");
      expect(joined.body).toMatchObject({ taskId: task.id, joined: true });
      await waitForJobState(queue!, task.id, "delayed");
      // A whole lease of real time: the lease is decided on the database's clock
      // (docs/adr/0002-lease-on-the-database-clock.md), which no clock here can move, and the
      // renewals must be seen to keep the task through it.
      await new Promise((r) => setTimeout(r, lease.leaseMs));
      const held = (await user.json("GET", joined.body.statusUrl)).body;
      expect(held).toMatchObject({ state: "active", progress: { processed: 0 } });
    } finally {
      clearInterval(renewals);
    }
    const { final } = await waitForTask(user, task.id, 20_000);
    expect(final).toMatchObject({ state: "completed", result: { added: 25 } });
  });
});

async function waitForJobState(queue: Queue, id: string, state: string) {
  for (let i = 0; i < 200; i++) {
    const job = await queue.getJob(id);
    if (job && (await job.getState()) === state) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`job ${id} never became ${state}`);
}
