import { randomBytes, randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { PRIORITY, type SyncJobs, SyncQueue } from "./SyncQueue";

/**
 * Adds that arrive together (a burst of users pressing Fetch) leave as one `addBulk` per shard;
 * every job must still land on its user's shard with its own id and priority.
 */
describe("SyncQueue adds on Redis", () => {
  let redis: Redis;
  let queue: SyncQueue;
  const prefix = `${inject("queuePrefix")}-addbulk-${randomBytes(3).toString("hex")}`;
  const prefixes = [`${prefix}:0`, `${prefix}:1`];
  // Even user ids to shard 0, odd to shard 1: the test knows where each job belongs.
  const users = Array.from({ length: 20 }, (_, i) => `${i % 2}-${randomUUID()}`);

  beforeAll(() => {
    redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
    queue = SyncQueue.open(redis, prefixes, (userId) => Number(userId[0]));
  });
  afterAll(async () => {
    await queue.close();
    for (const p of prefixes) {
      const keys = await redis.keys(`${p}:*`);
      if (keys.length) await redis.del(...keys);
    }
    redis.disconnect();
  });

  it("twenty adds at once become one addBulk per shard, each job on its user's shard with its id and priority", async () => {
    const shards = (queue as unknown as { shards: Array<Required<SyncJobs>> }).shards;
    const bulk = shards.map((s) => vi.spyOn(s, "addBulk"));
    const single = shards.map((s) => vi.spyOn(s, "add"));
    const tasks = users.map((userId, i) => ({
      taskId: randomUUID(),
      userId,
      priority: i % 3 === 0 ? PRIORITY.incremental : PRIORITY.full,
    }));
    await Promise.all(tasks.map((t) => queue.enqueue({ taskId: t.taskId, userId: t.userId }, t.priority)));
    expect(bulk.map((s) => s.mock.calls.length)).toEqual([1, 1]);
    expect(single.map((s) => s.mock.calls.length)).toEqual([0, 0]);
    for (const t of tasks) {
      const job = await queue.getJob(t.taskId, t.userId);
      expect(job?.data).toEqual({ taskId: t.taskId, userId: t.userId });
      expect(job?.opts.priority).toBe(t.priority);
      expect(job?.opts.attempts).toBe(3);
    }
    expect(await queue.jobState(tasks[1]!.taskId, tasks[1]!.userId)).toBe("prioritized");
  });

  it("adding a task's job again, alone or twice at once, leaves it one job", async () => {
    const t = { taskId: randomUUID(), userId: users[0]! };
    await queue.enqueue(t, PRIORITY.full);
    await Promise.all([queue.enqueue(t, PRIORITY.full), queue.enqueue(t, PRIORITY.full)]);
    const counts = await Promise.all(
      prefixes.map(
        async (p) =>
          (await redis.zrange(`${p}:email-sync:prioritized`, 0, -1)).filter((id) => id === t.taskId).length,
      ),
    );
    expect(counts).toEqual([1, 0]);
  });
});
