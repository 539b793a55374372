import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Models, openDatabase } from "../db/sequelize";
import { createRepositories, type Repositories } from "../repositories";
import { TaskService } from "../services/TaskService";
import { SEQ_SPAN, TaskLease } from "./TaskLease";

/**
 * The lease rules as PostgreSQL applies them (TaskLease.test.ts has the same rules without a
 * database): real rows, the database's clock, and claims that race.
 */
describe("TaskLease on PostgreSQL", () => {
  let models: Models;
  let repos: Repositories;
  let release: () => Promise<void>;
  const queue = `lease-test-${randomBytes(3).toString("hex")}`;
  // Lapses are waited out for real, since the database's clock decides them: a short lease keeps
  // that brief, and long enough that a loaded machine still makes its claims within it.
  const LEASE_MS = 1_000;
  let lease: TaskLease;
  let tasks: TaskService;

  beforeAll(() => {
    const db = openDatabase(inject("databaseUrl"));
    ({ models, close: release } = db);
    repos = createRepositories(db);
    lease = new TaskLease(repos.tasks, LEASE_MS, queue);
    tasks = new TaskService(repos.tasks, queue);
  });
  afterAll(() => release?.());

  async function newTask() {
    const user = await models.User.create({ email: `lease-${randomBytes(4).toString("hex")}@example.com` });
    const { task } = await tasks.createOrJoin(user.id, "queue");
    return task;
  }
  const holder = (owner: string) => ({ owner, runner: "queue" as const });

  it("claims a queued task once: of two claims at the same instant, exactly one wins", async () => {
    const task = await newTask();
    const answers = await Promise.all([lease.claim(task.id, holder("a")), lease.claim(task.id, holder("b"))]);
    expect(answers.filter((a) => a.ok)).toHaveLength(1);
    const refused = answers.find((a) => !a.ok);
    expect(refused).toMatchObject({ ok: false, reason: "held" });
    const row = await models.SyncTask.findByPk(task.id);
    expect(row).toMatchObject({ state: "active", attempts: 1, seq: SEQ_SPAN });
    expect(["a", "b"]).toContain(row!.leaseOwner);
  });

  it("a claim answers the row as its lease left it and the options the task was asked with, and the row reads back the same", async () => {
    const user = await models.User.create({ email: `lease-${randomBytes(4).toString("hex")}@example.com` });
    const { task } = await tasks.createOrJoin(user.id, "queue", {
      options: { newerThanDays: 7, labelIds: ["INBOX"] },
      strict: false,
    });
    const claim = await lease.claim(task.id, holder("reader"));
    if (!claim.ok) throw new Error(`claim refused: ${claim.reason}`);
    expect(claim.options).toEqual({ newerThanDays: 7, labelIds: ["INBOX"] });
    expect(claim.task.toJSON()).toEqual((await models.SyncTask.findByPk(task.id))!.toJSON());
    expect(claim.task).toMatchObject({
      id: task.id,
      userId: user.id,
      state: "active",
      leaseOwner: "reader",
      attempts: 1,
    });
    expect(claim.task.seq).toBe(SEQ_SPAN);
    expect(claim.task.leaseExpiresAt).toBeInstanceOf(Date);
  });

  it("only the holder renews and writes; after the lease lapses another takes over and the old holder is shut out", async () => {
    const task = await newTask();
    expect(await lease.claim(task.id, holder("first"))).toMatchObject({ ok: true, takeover: false });
    expect(await lease.renew(task.id, "first")).toBeInstanceOf(Date);
    expect(await lease.renew(task.id, "intruder")).toBeNull();
    expect(await lease.claim(task.id, holder("early"))).toMatchObject({ ok: false, reason: "held" });

    await new Promise((r) => setTimeout(r, LEASE_MS + 100));
    expect(await lease.claim(task.id, holder("second"))).toMatchObject({ ok: true, takeover: true });
    expect(await lease.renew(task.id, "first")).toBeNull();
    await lease.saveProgress(
      task.id,
      "first",
      { phase: "fetching", processed: 99, total: 100, percent: 99 },
      1,
    );
    expect(await lease.end(task.id, "first", "completed", { seq: 5 })).toBeNull();
    const row = await models.SyncTask.findByPk(task.id);
    expect(row).toMatchObject({ state: "active", leaseOwner: "second", processed: 0, attempts: 2 });
    // Each claim moves seq on by a whole span.
    expect(row!.seq).toBe(2 * SEQ_SPAN);
  });

  it("a release hands the task back as queued with no holder; a finished task is never claimed again", async () => {
    const task = await newTask();
    await lease.claim(task.id, holder("h"));
    const retryAt = new Date(Date.now() + 60_000);
    const released = await lease.end(task.id, "h", "queued", { seq: SEQ_SPAN + 3, retryAt });
    expect(released).toMatchObject({ state: "queued", leaseOwner: null, leaseExpiresAt: null });
    expect(released!.retryAt?.getTime()).toBe(retryAt.getTime());
    expect(await lease.claim(task.id, holder("h2"))).toMatchObject({ ok: true, takeover: false });
    expect(await lease.end(task.id, "h2", "completed", { seq: 2 * SEQ_SPAN + 1 })).toMatchObject({
      state: "completed",
    });
    expect(await lease.claim(task.id, holder("h3"))).toEqual({ ok: false, reason: "finished" });
    expect(await lease.claim("00000000-0000-4000-8000-000000000000", holder("h3"))).toEqual({
      ok: false,
      reason: "missing",
    });
  });

  it("offers orphans of its own queue only: lapsed leases and untouched queued tasks, each once per lease time", async () => {
    const lapsed = await newTask();
    await lease.claim(lapsed.id, holder("dead"));
    const waiting = await newTask();
    const live = await newTask();
    await lease.claim(live.id, holder("alive"));
    const foreignUser = await models.User.create({
      email: `foreign-${randomBytes(4).toString("hex")}@example.com`,
    });
    const foreign = (
      await new TaskService(repos.tasks, `${queue}-other`).createOrJoin(foreignUser.id, "queue")
    ).task;

    await new Promise((r) => setTimeout(r, LEASE_MS + 100));
    await lease.renew(live.id, "alive");
    const offered = (await lease.orphans()).map((t) => t.id);
    expect(offered).toEqual(expect.arrayContaining([lapsed.id, waiting.id]));
    expect(offered).not.toContain(live.id);
    expect(offered).not.toContain(foreign.id);
    // Offered once: the next sweep within a lease time finds nothing new of these.
    const again = (await lease.orphans()).map((t) => t.id);
    expect(again).not.toContain(lapsed.id);
    expect(again).not.toContain(waiting.id);
  });

  it("seq runs past what a 32-bit column could hold, however many times a task is claimed", async () => {
    const task = await newTask();
    // As if claimed and sliced about 2,147 times already.
    await models.SyncTask.update({ seq: 2_147_000_000 }, { where: { id: task.id } });
    expect(await lease.claim(task.id, holder("many"))).toMatchObject({ ok: true });
    const ended = await lease.end(task.id, "many", "queued", { seq: 2_147_000_000 + SEQ_SPAN + 7 });
    expect(ended!.seq).toBe(2_148_000_007);
    expect(await lease.claim(task.id, holder("more"))).toMatchObject({ ok: true });
    expect((await models.SyncTask.findByPk(task.id))!.seq).toBe(2_149_000_007);
  });
});
