import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { provisionScratchDatabase } from "../scripts/lib/devServices";
import type { ApiClient } from "../test/ApiClient";
import { privateRedis } from "../test/privateRedis";
import { startStack, storedCount, waitForTask, waitUntil } from "../test/stack";

/**
 * Restarts of the services themselves, on private instances so nothing else is disturbed: the
 * sync in flight must finish with every message stored exactly once.
 */

async function midSync(user: ApiClient, statusUrl: string, atLeast: number) {
  await waitUntil(
    async () => {
      const { body } = await user.json("GET", statusUrl);
      if (body.state === "completed") throw new Error("finished before the fault");
      return body.progress.phase === "fetching" && body.progress.processed >= atLeast;
    },
    "the sync to get going",
    20_000,
  );
}

describe("infrastructure restarts during a sync", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  it("Redis restarting mid-sync: the sync resumes and stores every message once", async () => {
    // Append-only, as production Redis for BullMQ should run: a restart keeps the queue.
    const redis = await privateRedis({ appendOnly: true });
    cleanups.push(() => redis.close());

    const stack = await startStack({ env: { REDIS_URL: redis.url } });
    cleanups.push(() => stack.close());
    await stack.simControl("POST", "/sim/accounts", { email: "redis-restart@example.com", count: 1200 });
    await stack.simControl("PUT", "/sim/faults", { latencyMs: 4 });
    const user = await stack.signIn("redis-restart@example.com");
    const { body } = await user.json("POST", "/api/emails/sync");
    await midSync(user, body.statusUrl, 150);

    await redis.stop();
    // While Redis is away the status still answers, from PostgreSQL.
    const during = await user.json("GET", body.statusUrl);
    expect(during.status).toBe(200);
    expect(["active", "queued"]).toContain(during.body.state);
    await new Promise((r) => setTimeout(r, 500));
    await redis.start();

    const { final } = await waitForTask(user, body.taskId, 90_000);
    await stack.simControl("DELETE", "/sim/faults");
    expect(final.state).toBe("completed");
    expect(await storedCount(stack, "redis-restart@example.com")).toEqual({ n: 1200, d: 1200 });
  });

  it("PostgreSQL restarting mid-sync: the job retries and stores every message once", async () => {
    // A private embedded server: the shared one must not be restarted under other tests.
    const database = await provisionScratchDatabase("inbox_sync_pg_restart", undefined);
    cleanups.push(() => database.drop());

    const stack = await startStack({ env: { DATABASE_URL: database.url } });
    cleanups.push(() => stack.close());
    await stack.simControl("POST", "/sim/accounts", { email: "pg-restart@example.com", count: 1200 });
    await stack.simControl("PUT", "/sim/faults", { latencyMs: 4 });
    const user = await stack.signIn("pg-restart@example.com");
    const { body } = await user.json("POST", "/api/emails/sync");
    await midSync(user, body.statusUrl, 150);

    await database.server.restart!(500);

    const { final } = await waitForTask(user, body.taskId, 90_000);
    await stack.simControl("DELETE", "/sim/faults");
    expect(final.state).toBe("completed");
    expect(await storedCount(stack, "pg-restart@example.com")).toEqual({ n: 1200, d: 1200 });
    // The retry happened: the task was claimed again, and the finishing run resumed part-way.
    const row = await stack.web.ctx.tasks.findById(body.taskId);
    expect(row!.attempts).toBeGreaterThanOrEqual(2);
    expect(final.result.added).toBeLessThan(1200);
  });

  it("a worker process killed without warning: its job's lock lapses and another worker finishes the sync", async () => {
    const stack = await startStack({ env: { WORKER_LOCK_SECONDS: "2" } });
    cleanups.push(() => stack.close());
    await stack.simControl("POST", "/sim/accounts", { email: "sigkill@example.com", count: 1200 });
    await stack.simControl("PUT", "/sim/faults", { latencyMs: 4 });
    const user = await stack.signIn("sigkill@example.com");
    const survivor = stack.workers[0]!.worker;
    await survivor.pause();
    const doomed = await stack.spawnWorker({ WORKER_LOCK_SECONDS: "2" });
    cleanups.push(() => doomed.stop(0));

    const { body } = await user.json("POST", "/api/emails/sync");
    await midSync(user, body.statusUrl, 200);
    const exited = once(doomed.child, "exit");
    doomed.child.kill("SIGKILL");
    await exited;
    survivor.resume();

    const { final, seen } = await waitForTask(user, body.taskId, 90_000);
    await stack.simControl("DELETE", "/sim/faults");
    expect(final).toMatchObject({ state: "completed", result: { mode: "full" } });
    expect(final.result.added).toBeLessThan(1200);
    expect(await storedCount(stack, "sigkill@example.com")).toEqual({ n: 1200, d: 1200 });
    const seqs = seen.map((s) => s.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });
});
