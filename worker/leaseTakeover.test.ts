import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { distinctServed } from "../gmail-sim/stats";
import { spawnWeb } from "../test/processes";
import {
  type Stack,
  type StackOptions,
  startStack,
  storedCount,
  waitForTask,
  waitUntil,
} from "../test/stack";

/**
 * A stack whose web node reads a clock the test sets: heartbeat ages and the liveness answer's
 * trusted second (core/workerHeartbeat.ts) are judged on it, so a test moves it past them
 * rather than sleeping. Unset, it is the real clock.
 */
async function stackWithClock(options: StackOptions = {}) {
  let at: number | undefined;
  const stack = await startStack({ ...options, web: { now: () => at ?? Date.now() } });
  return {
    stack,
    setClock(to: number | undefined) {
      at = to;
    },
  };
}

/** The newest beat in the stack's heartbeat set: an instant on the beating worker's own clock. */
async function lastBeat(stack: Stack): Promise<number> {
  const [, score] = await stack.web.ctx.redis!.zrevrange(
    `${stack.config.queuePrefix}:workers:heartbeat`,
    0,
    0,
    "WITHSCORES",
  );
  if (score === undefined) throw new Error("no worker has beaten");
  return Number(score);
}

/**
 * Owners that die for real (SIGKILL: an out-of-memory kill, a lost host) and the task lease that
 * hands their task on. Each test kills a real process mid-sync and checks that the task finishes
 * by itself, with every message stored once. The takeovers wait out the stack's short lease
 * (TASK_LEASE_SECONDS=4) for real: the lease is decided on the database's clock
 * (docs/adr/0002-lease-on-the-database-clock.md) and BullMQ's job lock is a Redis expiry, neither
 * of which a clock in this process can move. A heartbeat's age is judged on the web node's clock,
 * so those tests move that one instead.
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
    const { stack, setClock } = await stackWithClock({ workers: 0 });
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
    // A second later (the trusted answer's), its 30 s heartbeat would still be fresh had it stayed.
    setClock(Date.now() + 1_000);
    const afterTerm = await user.json("POST", "/api/emails/sync");
    expect(afterTerm.status).toBe(503);
    expect(afterTerm.body).toMatchObject({
      error: { code: "no_workers" },
      fallback: "/api/emails/sync/stream",
    });
    setClock(undefined);

    // SIGKILL: nothing is said; the heartbeat goes stale after WORKER_HEARTBEAT_TTL (3 s here).
    const rude = await stack.spawnWorker();
    cleanups.push(() => rude.stop(0));
    await waitUntil(async () => (await user.json("POST", "/api/emails/sync")).status === 202 || false, "202");
    const { body: queued } = await user.json("POST", "/api/emails/sync");
    await waitForTask(user, queued.taskId, 30_000);
    const exited = once(rude.child, "exit");
    rude.child.kill("SIGKILL");
    await exited;
    const lapsesAt = (await lastBeat(stack)) + stack.config.workerHeartbeatTtlSeconds * 1000;
    // The dead worker's last beat still counts until it is a whole TTL old...
    setClock(lapsesAt - 1);
    expect((await user.json("POST", "/api/emails/sync")).status).toBe(202);
    // ...and once it is older, past the second a positive answer is trusted, nobody is left.
    setClock(lapsesAt + 1_000);
    const refused = await user.json("POST", "/api/emails/sync");
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ error: { code: "no_workers" } });
  });

  it("a queued task whose only worker died says no_workers, and the stream takes it over to the end", async () => {
    const { stack, setClock } = await stackWithClock({ workers: 0 });
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

    // Once its last beat is older than the heartbeat TTL (and the trusted second has passed).
    setClock((await lastBeat(stack)) + stack.config.workerHeartbeatTtlSeconds * 1000 + 1_000);
    const waiting = (await user.json("GET", body.statusUrl)).body;
    expect(waiting).toMatchObject({ state: "queued", waiting: "no_workers" });

    const res = await user.raw("POST", `/api/emails/sync/stream?taskId=${body.taskId}`);
    const lines = (await res.text())
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(lines.at(-1)).toMatchObject({ taskId: body.taskId, state: "completed", result: { added: 300 } });
    expect(await storedCount(stack, "queued-orphan@example.com")).toEqual({ n: 300, d: 300 });
  });
});
