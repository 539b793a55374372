import { randomBytes, randomUUID } from "node:crypto";
import type { Sequelize } from "sequelize";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { type Models, openDatabase } from "../db/sequelize";
import { SyncInProgressError, TaskService } from "../services/TaskService";
import { createRepositories, type Repositories } from ".";

/**
 * Task inserts asked for in the same turn of the event loop go to PostgreSQL as one statement (a
 * burst of users pressing Fetch), which also answers whether each sync will be incremental. What
 * each caller gets back must be exactly what it would get alone.
 */
describe("coalesced task inserts, and the incremental flag read with them", () => {
  let models: Models;
  let sequelize: Sequelize;
  let repos: Repositories;
  let release: () => Promise<void>;
  const queue = `coalesce-test-${randomBytes(3).toString("hex")}`;

  beforeAll(() => {
    const db = openDatabase(inject("databaseUrl"));
    ({ models, sequelize, close: release } = db);
    repos = createRepositories(db);
  });
  afterAll(() => release?.());

  const newUser = async () =>
    (await models.User.create({ email: `c-${randomBytes(4).toString("hex")}@example.com` })).id;

  it("fifty users asking at once each get a task of their own, made by one statement", async () => {
    const users = await Promise.all(Array.from({ length: 50 }, newUser));
    const query = vi.spyOn(sequelize, "query");
    try {
      const opened = await Promise.all(users.map((u) => repos.tasks.insertUnlessOpen(u, "queue", queue)));
      const tasks = opened.map((o) => o?.task);
      expect(tasks.map((t) => t?.userId)).toEqual(users);
      expect(new Set(tasks.map((t) => t?.id)).size).toBe(50);
      expect(tasks.every((t) => t?.state === "queued" && t.queue === queue)).toBe(true);
      const inserts = query.mock.calls.filter(([sql]) => String(sql).includes("INSERT INTO sync_tasks"));
      expect(inserts).toHaveLength(1);
    } finally {
      query.mockRestore();
    }
  });

  it("the same user twice in one batch: the first ask creates the task with its options, the second gets none and joins", async () => {
    const user = await newUser();
    const [made, second] = await Promise.all([
      repos.tasks.insertUnlessOpen(user, "queue", queue, { newerThanDays: 7 }),
      repos.tasks.insertUnlessOpen(user, "queue", queue, { labelIds: ["INBOX"] }),
    ]);
    const first = made?.task;
    expect(first?.userId).toBe(user);
    expect(second).toBeNull();
    expect(await repos.tasks.findOpenWithOptions(user)).toMatchObject({
      task: { id: first!.id },
      options: { newerThanDays: 7 },
    });
    // The row as the insert returned it is the row as stored, timestamps included.
    expect(first!.toJSON()).toEqual((await models.SyncTask.findByPk(first!.id))!.toJSON());
  });

  it("asking again joins the open task in two statements: the row and its options as stored; a strict ask for other options is refused", async () => {
    const user = await newUser();
    const tasks = new TaskService(repos.tasks, queue);
    const made = await tasks.createOrJoin(user, "queue", { options: { newerThanDays: 7 }, strict: true });
    expect(made.joined).toBe(false);
    const query = vi.spyOn(sequelize, "query");
    let joined: Awaited<ReturnType<TaskService["createOrJoin"]>>;
    try {
      joined = await tasks.createOrJoin(user, "queue", { options: { newerThanDays: 7 }, strict: true });
      // The insert that met the open task, and one read of that task with its options.
      expect(query.mock.calls.filter(([sql]) => String(sql).includes("sync_tasks"))).toHaveLength(2);
    } finally {
      query.mockRestore();
    }
    expect(joined).toMatchObject({ joined: true, options: { newerThanDays: 7 } });
    expect(joined.task.toJSON()).toEqual((await models.SyncTask.findByPk(made.task.id))!.toJSON());
    await expect(
      tasks.createOrJoin(user, "queue", { options: { labelIds: ["INBOX"] }, strict: true }),
    ).rejects.toBeInstanceOf(SyncInProgressError);
    // Nobody chose (a push): joins whatever is open.
    expect(await tasks.createOrJoin(user, "queue")).toMatchObject({
      joined: true,
      options: { newerThanDays: 7 },
    });
  });

  it("a user whose open task exists gets none, while the others in the batch get theirs", async () => {
    const [busy, free] = await Promise.all([newUser(), newUser()]);
    const open = await repos.tasks.insertUnlessOpen(busy, "queue", queue);
    expect(open).not.toBeNull();
    const [again, fresh] = await Promise.all([
      repos.tasks.insertUnlessOpen(busy, "queue", queue),
      repos.tasks.insertUnlessOpen(free, "queue", queue),
    ]);
    expect(again).toBeNull();
    expect(fresh?.task.userId).toBe(free);
  });

  it("a row that fails (its user is gone) fails only its own caller, not the rest of its batch", async () => {
    const [a, b] = await Promise.all([newUser(), newUser()]);
    const ghost = randomUUID();
    const answers = await Promise.allSettled([
      repos.tasks.insertUnlessOpen(a, "queue", queue),
      repos.tasks.insertUnlessOpen(ghost, "queue", queue),
      repos.tasks.insertUnlessOpen(b, "queue", queue),
    ]);
    expect(answers[0]).toMatchObject({ status: "fulfilled", value: { task: { userId: a } } });
    expect(answers[1]).toMatchObject({ status: "rejected" });
    expect(String((answers[1] as PromiseRejectedResult).reason)).toMatch(/foreign key/i);
    expect(answers[2]).toMatchObject({ status: "fulfilled", value: { task: { userId: b } } });
  });

  it("the insert and the join each say, per user, whether the sync will be incremental: only where the account has a history id", async () => {
    const [synced, fresh, bare] = await Promise.all([newUser(), newUser(), newUser()]);
    for (const [userId, historyId] of [
      [synced, "12345"],
      [fresh, null],
    ] as const) {
      await models.GmailAccount.create({
        userId,
        email: `${userId}@example.com`,
        encryptedTokens: "sealed",
        historyId,
      });
    }
    const tasks = new TaskService(repos.tasks, queue);
    const query = vi.spyOn(sequelize, "query");
    let made: Array<Awaited<ReturnType<TaskService["createOrJoin"]>>>;
    try {
      made = await Promise.all([synced, fresh, bare].map((u) => tasks.createOrJoin(u, "queue")));
      // One statement for the three inserts and their flags: no read of the accounts beside it.
      expect(query).toHaveBeenCalledTimes(1);
    } finally {
      query.mockRestore();
    }
    expect(made.map((m) => [m.joined, m.incremental])).toEqual([
      [false, true],
      [false, false],
      [false, false],
    ]);
    const joined = await Promise.all([synced, fresh, bare].map((u) => tasks.createOrJoin(u, "queue")));
    expect(joined.map((m) => [m.joined, m.incremental])).toEqual([
      [true, true],
      [true, false],
      [true, false],
    ]);
    // The flag follows the account as it is now: a first sync that finishes makes the next incremental.
    await models.GmailAccount.update({ historyId: "777" }, { where: { userId: fresh } });
    expect((await tasks.createOrJoin(fresh, "queue")).incremental).toBe(true);
  });
});
