import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnWorker } from "../test/processes";
import { type Stack, startStack, waitForTask } from "../test/stack";

describe("sync worker", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ workers: 1 });
  });
  afterAll(() => stack?.close());

  const countRows = async (email: string) => {
    const [row] = (await stack.web.ctx.sequelize.query(
      "SELECT count(*)::int AS n, count(DISTINCT e.gmail_id)::int AS d FROM emails e JOIN users u ON u.id = e.user_id WHERE u.email = :email",
      { replacements: { email }, type: "SELECT" },
    )) as Array<{ n: number; d: number }>;
    return row!;
  };

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
    // The resumed run starts where the first stopped: stored messages count as processed at once.
    const resumed = seen.filter((s) => s.state === "active" && s.progress.phase === "fetching");
    expect(resumed[0].progress.processed).toBeGreaterThanOrEqual(midway.n);
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
    const { queue, tasks } = stack.web.ctx;
    const worker = stack.workers[0]!.worker;
    await worker.pause();
    let taskId: string;
    try {
      const first = await user.json("POST", "/api/emails/sync");
      taskId = first.body.taskId;
      // A worker took the task, then Redis lost the job (a flush, a failover without persistence).
      expect(await tasks.claim(taskId, "queue")).not.toBeNull();
      await queue!.remove(taskId);
      expect(await queue!.getJob(taskId)).toBeUndefined();

      const again = await user.json("POST", "/api/emails/sync");
      expect(again.body).toMatchObject({ taskId, joined: true, state: "active" });
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
    const proc = await spawnWorker({
      databaseUrl: stack.config.databaseUrl!,
      redisUrl: stack.config.redisUrl,
      queuePrefix: stack.config.queuePrefix,
      simUrl: stack.sim.url,
    });
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
});
