import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisKeys } from "../core/redis";
import { type Stack, startStack, storedCount, waitForTask, waitUntil } from "../test/stack";

/**
 * SYNC_QUEUE_SHARDS on a single Redis: the sync queue split into hash-tagged BullMQ queues, as on
 * a cluster (test/cluster/ runs the same on a real one). One Redis gains nothing from it but the
 * layout a later move to a cluster keeps.
 */
describe("sync queue shards on one Redis", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ workers: 1, env: { SYNC_QUEUE_SHARDS: "3" } });
  });
  afterAll(() => stack?.close());

  const userIdOf = async (email: string) => {
    const [row] = (await stack.web.ctx.sequelize.query("SELECT id FROM users WHERE email = :email", {
      replacements: { email },
      type: "SELECT",
    })) as Array<{ id: string }>;
    return row!.id;
  };

  it("each user's task names its shard and runs on that shard's queue; one worker serves all three", async () => {
    const keys = redisKeys(stack.config);
    expect(stack.workers[0]!.shards).toEqual([0, 1, 2]);
    expect(stack.web.ctx.queue!.prefixes).toEqual([0, 1, 2].map((n) => `{${stack.config.queuePrefix}:${n}}`));
    const emails = Array.from({ length: 6 }, (_, i) => `shard-${i}@example.com`);
    for (const email of emails) await stack.simControl("POST", "/sim/accounts", { email, count: 40 });
    const users = await Promise.all(emails.map((email) => stack.signIn(email)));
    const started = await Promise.all(users.map((u) => u.json("POST", "/api/emails/sync")));
    for (const [i, s] of started.entries()) {
      const { final } = await waitForTask(users[i]!, s.body.taskId);
      expect(final).toMatchObject({ state: "completed", result: { added: 40 } });
      const row = (await stack.web.ctx.tasks.findById(s.body.taskId))!;
      expect(row.queue).toBe(keys.syncQueue(keys.shardOf(row.userId)));
      // The row says completed a moment before BullMQ moves the job (the processor returns after
      // the row's last write).
      await waitUntil(
        async () => (await stack.web.ctx.queue!.jobState(row.id, row.userId)) === "completed",
        "the job to be completed",
      );
    }
    const perShard = await stack.web.ctx.queue!.shardJobCounts("completed");
    expect(perShard.reduce((sum, c) => sum + (c.completed ?? 0), 0)).toBe(6);
  });

  it("a task naming the unsharded queue (from before sharding) with no job is swept onto its user's shard and finishes", async () => {
    const email = "before-shards@example.com";
    await stack.simControl("POST", "/sim/accounts", { email, count: 30 });
    const user = await stack.signIn(email);
    const userId = await userIdOf(email);
    // As an older version left it: queued on the plain QUEUE_PREFIX, its job lost with Redis.
    const { task } = (await stack.web.ctx.repos.tasks.insertUnlessOpen(
      userId,
      "queue",
      stack.config.queuePrefix,
    ))!;
    expect(task.queue).toBe(stack.config.queuePrefix);

    const { final } = await waitForTask(user, task.id, 60_000);
    expect(final).toMatchObject({ state: "completed", result: { added: 30 } });
    expect(await storedCount(stack, email)).toEqual({ n: 30, d: 30 });
    // Only the sweep could have given it a job: nothing else was asked. It sits on the user's shard.
    const job = await stack.web.ctx.queue!.getJob(task.id, userId);
    expect(await job?.getState()).toBe("completed");
    const row = (await stack.web.ctx.tasks.findById(task.id))!;
    expect(row.queue).toBe(stack.config.queuePrefix);
  });
});
