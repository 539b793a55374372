import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { distinctServed } from "../gmail-sim/stats";
import { spawnWeb } from "../test/processes";
import { startStack, storedCount, waitForTask, waitUntil } from "../test/stack";

/**
 * Owners that die for real (SIGKILL: an out-of-memory kill, a lost host) and the task lease that
 * hands their task on. Each test kills a real process mid-sync and checks that the task finishes
 * by itself, with every message stored once.
 */

describe("task lease: a dead owner's task moves on", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  it("two workers, one SIGKILLed mid-sync: the other takes the task over and refetches at most one batch", async () => {
    const stack = await startStack();
    cleanups.push(() => stack.close());
    const total = 1500;
    await stack.simControl("POST", "/sim/accounts", { email: "kill-mid@example.com", count: total });
    await stack.simControl("PUT", "/sim/faults", { latencyMs: 4 });
    const user = await stack.signIn("kill-mid@example.com");
    const survivor = stack.workers[0]!.worker;
    await survivor.pause();
    const doomed = await stack.spawnWorker();
    cleanups.push(() => doomed.stop(0));
    await stack.simControl("DELETE", "/sim/stats");

    const { body } = await user.json("POST", "/api/emails/sync");
    await waitUntil(async () => {
      const s = (await user.json("GET", body.statusUrl)).body;
      if (s.state === "completed") throw new Error("finished before the kill");
      return s.progress.phase === "fetching" && s.progress.processed >= 400 ? s : false;
    }, "the doomed worker to get going");
    const exited = once(doomed.child, "exit");
    doomed.child.kill("SIGKILL");
    await exited;
    const killedAt = Date.now();
    survivor.resume();

    // The survivor's first snapshot comes from a new claim: its seq moved on by a whole span.
    const { final, seen } = await waitForTask(user, body.taskId, 90_000);
    const firstOfSurvivor = seen.find((s) => s.state === "active" && s.seq > 2_000_000);
    expect(firstOfSurvivor).toBeDefined();
    // A liveness bound, not a speed figure: the lease (4 s here) plus BullMQ's stalled check
    // (half the lock), with room for a loaded machine.
    expect(firstOfSurvivor.at - killedAt).toBeLessThan(3 * stack.config.taskLeaseSeconds * 1000);

    const stats = await stack.simControl("GET", "/sim/stats");
    await stack.simControl("DELETE", "/sim/faults");
    expect(final).toMatchObject({ state: "completed", result: { mode: "full" } });
    expect(await storedCount(stack, "kill-mid@example.com")).toEqual({ n: total, d: total });
    // Refetched: what the dead worker had fetched but not yet written (one batch of 100 at most,
    // plus the 10 calls in flight), at a get's 5 units each at most (threads fetched whole cost less).
    expect(distinctServed(stats.served)).toBe(total);
    const fetchUnits = stats.units.spent["messages.get"] + (stats.units.spent["threads.get"] ?? 0);
    expect(fetchUnits).toBeLessThanOrEqual(5 * (total + 110));
    const row = await stack.web.ctx.tasks.findById(body.taskId);
    expect(row).toMatchObject({ attempts: 2, leaseOwner: null });
  });

  it("a web node SIGKILLed while it streams a task, workers alive: a worker finishes it once the lease lapses", async () => {
    const stack = await startStack();
    cleanups.push(() => stack.close());
    const total = 1200;
    await stack.simControl("POST", "/sim/accounts", { email: "kill-stream@example.com", count: total });
    await stack.simControl("PUT", "/sim/faults", { latencyMs: 4 });
    const user = await stack.signIn("kill-stream@example.com");
    const node = await spawnWeb({
      databaseUrl: stack.config.databaseUrl!,
      redisUrl: stack.config.redisUrl,
      queuePrefix: stack.config.queuePrefix,
      simUrl: stack.sim.url,
      env: { TASK_LEASE_SECONDS: String(stack.config.taskLeaseSeconds) },
    });
    cleanups.push(() => node.stop(0));

    const res = await user.on(node.url).raw("POST", "/api/emails/sync/stream");
    expect(res.status).toBe(200);
    const taskId = res.headers.get("x-task-id")!;
    const reader = res.body!.getReader();
    let text = "";
    while (!/"processed":[3-9]\d\d/.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the stream ended before the kill");
      text += new TextDecoder().decode(value);
    }
    const exited = once(node.child, "exit");
    node.child.kill("SIGKILL");
    await exited;
    await reader.cancel().catch(() => {});
    const killedAt = Date.now();

    // Nobody asks again: the workers' orphan sweep gives the lapsed task a job.
    const { final, seen } = await waitForTask(user, taskId, 90_000);
    await stack.simControl("DELETE", "/sim/faults");
    const byWorker = seen.find((s) => s.state === "active" && s.seq > 2_000_000);
    expect(byWorker).toBeDefined();
    expect(byWorker.at - killedAt).toBeLessThan(3 * stack.config.taskLeaseSeconds * 1000);
    expect(final).toMatchObject({ state: "completed", result: { mode: "full" } });
    expect(final.result.added).toBeLessThan(total);
    expect(await storedCount(stack, "kill-stream@example.com")).toEqual({ n: total, d: total });
    expect(await stack.web.ctx.tasks.findById(taskId)).toMatchObject({ runner: "queue", attempts: 2 });
  });

  it("answers no_workers once the last worker's heartbeat lapses (SIGKILL), and within a second of its SIGTERM", async () => {
    const stack = await startStack({ workers: 0 });
    cleanups.push(() => stack.close());
    await stack.simControl("POST", "/sim/accounts", { email: "heartbeat@example.com", count: 5 });
    const user = await stack.signIn("heartbeat@example.com");

    // SIGTERM: the worker leaves the heartbeat set on its way out, so the answer changes as soon
    // as the web node's one-second liveness cache lets go, long before the heartbeat would lapse.
    const polite = await stack.spawnWorker({ WORKER_HEARTBEAT_TTL: "30" });
    cleanups.push(() => polite.stop(0));
    const first = await user.json("POST", "/api/emails/sync");
    expect(first.status).toBe(202);
    await waitForTask(user, first.body.taskId, 30_000);
    await polite.stop();
    const stoppedAt = Date.now();
    const afterTerm = await waitUntil(async () => {
      const r = await user.json("POST", "/api/emails/sync");
      return r.status === 503 ? { ...r, at: Date.now() } : false;
    }, "no_workers after SIGTERM");
    expect(afterTerm.body).toMatchObject({
      error: { code: "no_workers" },
      fallback: "/api/emails/sync/stream",
    });
    expect(afterTerm.at - stoppedAt).toBeLessThan(2_000);

    // SIGKILL: nothing is said; the heartbeat goes stale after WORKER_HEARTBEAT_TTL (3 s here).
    const rude = await stack.spawnWorker();
    cleanups.push(() => rude.stop(0));
    await waitUntil(async () => (await user.json("POST", "/api/emails/sync")).status === 202 || false, "202");
    const { body: queued } = await user.json("POST", "/api/emails/sync");
    await waitForTask(user, queued.taskId, 30_000);
    const exited = once(rude.child, "exit");
    rude.child.kill("SIGKILL");
    await exited;
    const killedAt = Date.now();
    const refused = await waitUntil(async () => {
      const r = await user.json("POST", "/api/emails/sync");
      return r.status === 503 ? { ...r, at: Date.now() } : false;
    }, "no_workers after the heartbeat lapses");
    expect(refused.body).toMatchObject({ error: { code: "no_workers" } });
    expect(refused.at - killedAt).toBeGreaterThanOrEqual(1_000);
    expect(refused.at - killedAt).toBeLessThan(3 * stack.config.workerHeartbeatTtlSeconds * 1000);
  });

  it("a queued task whose only worker died says no_workers, and the stream takes it over to the end", async () => {
    const stack = await startStack({ workers: 0 });
    cleanups.push(() => stack.close());
    await stack.simControl("POST", "/sim/accounts", { email: "queued-orphan@example.com", count: 300 });
    const user = await stack.signIn("queued-orphan@example.com");
    const worker = await stack.spawnWorker({ WORKER_CONCURRENCY: "1" });
    cleanups.push(() => worker.stop(0));
    // Keep the only slot busy with a paused queue: the task stays queued, then the worker dies.
    await stack.web.ctx.queue!.pause();
    const { body } = await user.json("POST", "/api/emails/sync");
    expect(body.state).toBe("queued");
    expect((await user.json("GET", body.statusUrl)).body).toMatchObject({
      state: "queued",
      waiting: "worker",
    });
    worker.child.kill("SIGKILL");
    await once(worker.child, "exit");
    await stack.web.ctx.queue!.resume();

    const waiting = await waitUntil(async () => {
      const s = (await user.json("GET", body.statusUrl)).body;
      return s.waiting === "no_workers" ? s : false;
    }, "no_workers on the status");
    expect(waiting.state).toBe("queued");

    const res = await user.raw("POST", `/api/emails/sync/stream?taskId=${body.taskId}`);
    const lines = (await res.text())
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(lines.at(-1)).toMatchObject({ taskId: body.taskId, state: "completed", result: { added: 300 } });
    expect(await storedCount(stack, "queued-orphan@example.com")).toEqual({ n: 300, d: 300 });
  });
});
