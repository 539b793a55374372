import DataLoader from "dataloader";
import { QueryTypes, type Sequelize } from "sequelize";
import type { SyncTask, TaskRunner } from "../db/models/SyncTask";
import type { TaskError, TaskProgress, TaskState } from "../events";

export type { SyncTask, TaskRunner };

/** What a claim decides on: the row as locked, and the database's clock at that instant. */
export interface ClaimRow {
  state: TaskState;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  now: Date;
}

/** The columns a holder writes when it ends its run (TaskLease.end). */
export interface TaskEnd {
  state: Extract<TaskState, "completed" | "failed" | "queued">;
  result: SyncTask["result"];
  error: TaskError | null;
  seq: number;
  retryAt: Date | null;
  progress?: TaskProgress;
  finishedAt?: Date;
}

/**
 * A task's stored choice of what to sync: the body of `POST /api/emails/sync` (`{}` is the whole
 * mailbox), or `{current: true}` for a sync nobody chose a scope for (a Gmail push, the
 * schedule), which keeps whatever the mirror covers now.
 */
export interface TaskOptions {
  newerThanDays?: number;
  labelIds?: string[];
  current?: true;
  /**
   * A completeness check (docs/health.md): every id of what the mirror covers is listed again and
   * compared with what is stored; what is missing is fetched and what Gmail no longer has is removed.
   */
  check?: true;
}

const leaseSeconds = (leaseMs: number) => leaseMs / 1000;

interface NewTask {
  userId: string;
  runner: TaskRunner;
  queue: string;
  options: TaskOptions;
}

/**
 * A task row as the request path reads it: the task, and whether its sync will be incremental
 * (the mailbox has a history id), which decides its place in the queue (core/queue PRIORITY).
 */
export interface OpenedTask {
  task: SyncTask;
  incremental: boolean;
}

/**
 * Read beside the task in the same statement, so a request that creates or joins a task needs
 * no second query for its priority. The rule is the account's: a history id means the last
 * full sync finished, and the next one reads Gmail's history.
 */
const INCREMENTAL = `EXISTS (SELECT 1 FROM gmail_accounts g
  WHERE g.user_id = sync_tasks.user_id AND g.history_id IS NOT NULL) AS "incremental"`;

/**
 * The `sync_tasks` table: every statement on it. The lease rules these statements apply, and why,
 * are in core/tasks/TaskLease.ts; each lease method here is named after its rule there.
 */
export class TaskRepository {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly SyncTaskModel: typeof SyncTask,
  ) {}

  /**
   * New tasks asked for in the same turn of the event loop (a burst of users pressing Fetch) go
   * to PostgreSQL as one statement: one parse, one commit and one pooled connection for the lot,
   * where 200 separate inserts queue for the pool and each pay a commit. A lone insert waits only
   * for the end of the current turn (`setImmediate`).
   */
  private readonly inserts = new DataLoader<NewTask, OpenedTask | null>((batch) => this.insertBatch(batch), {
    cache: false,
    batchScheduleFn: (run) => setImmediate(run),
    maxBatchSize: 500,
  });

  // ---- the lease (rules: core/tasks/TaskLease.ts) ----

  /**
   * Rule **claim**: locks the row (`FOR UPDATE`, so two claimants are serialised), lets `decide`
   * judge it on the database's clock, and when it says yes starts `owner`'s lease: active,
   * one more attempt, `seq` moved on by `seqSpan`, any retry time and error cleared. A claim that
   * went through answers the row as it now stands and the task's options, read in the same
   * statement that started the lease.
   */
  async claim<V extends { ok: boolean }>(
    taskId: string,
    holder: { owner: string; runner: TaskRunner },
    leaseMs: number,
    seqSpan: number,
    decide: (row: ClaimRow | null) => V,
  ): Promise<{ verdict: V; task?: SyncTask; options?: TaskOptions }> {
    return this.sequelize.transaction(async (transaction) => {
      const [row] = await this.sequelize.query<{
        state: TaskState;
        lease_owner: string | null;
        lease_expires_at: Date | null;
        now: Date;
      }>(
        `SELECT state, lease_owner, lease_expires_at, clock_timestamp() AS now
         FROM sync_tasks WHERE id = :taskId FOR UPDATE`,
        { replacements: { taskId }, type: QueryTypes.SELECT, transaction },
      );
      const verdict = decide(
        row
          ? {
              state: row.state,
              leaseOwner: row.lease_owner,
              leaseExpiresAt: row.lease_expires_at,
              now: row.now,
            }
          : null,
      );
      if (!verdict.ok) return { verdict };
      const [claimed] = await this.sequelize.query<Record<string, unknown> & { options: TaskOptions | null }>(
        `UPDATE sync_tasks SET state = 'active', runner = :runner, lease_owner = :owner,
                lease_expires_at = clock_timestamp() + make_interval(secs => :leaseSeconds),
                attempts = attempts + 1, seq = seq + :seqSpan, retry_at = NULL, error = NULL,
                started_at = coalesce(started_at, now()), updated_at = now()
         WHERE id = :taskId
         RETURNING ${this.returningAttributes()}, options`,
        {
          replacements: {
            taskId,
            runner: holder.runner,
            owner: holder.owner,
            leaseSeconds: leaseSeconds(leaseMs),
            seqSpan,
          },
          type: QueryTypes.SELECT,
          transaction,
        },
      );
      return claimed ? { verdict, ...this.withOptions(claimed) } : { verdict };
    });
  }

  /** Rule **renew**: only the holder of an active task moves its expiry on; null when it is not the holder. */
  async renew(taskId: string, owner: string, leaseMs: number): Promise<Date | null> {
    const rows = await this.sequelize.query<{ lease_expires_at: Date }>(
      `UPDATE sync_tasks SET lease_expires_at = clock_timestamp() + make_interval(secs => :leaseSeconds)
       WHERE id = :taskId AND state = 'active' AND lease_owner = :owner
       RETURNING lease_expires_at`,
      { replacements: { taskId, owner, leaseSeconds: leaseSeconds(leaseMs) }, type: QueryTypes.SELECT },
    );
    return rows[0]?.lease_expires_at ?? null;
  }

  /**
   * Rules **end** and **release**: the holder's last write, which also lets go of the lease; it
   * matches nothing (answers null) once `owner` no longer holds the active task.
   */
  async end(taskId: string, owner: string, end: TaskEnd): Promise<SyncTask | null> {
    const [, rows] = await this.SyncTaskModel.update(
      {
        state: end.state,
        result: end.result,
        error: end.error,
        seq: end.seq,
        leaseOwner: null,
        leaseExpiresAt: null,
        retryAt: end.retryAt,
        ...(end.progress
          ? { phase: end.progress.phase, processed: end.progress.processed, total: end.progress.total }
          : {}),
        ...(end.finishedAt ? { finishedAt: end.finishedAt } : {}),
      },
      { where: { id: taskId, state: "active", leaseOwner: owner }, returning: true },
    );
    return rows[0] ?? null;
  }

  /** Rule **end** (only the holder writes): progress lands only while `owner` holds the active task. */
  async saveProgress(taskId: string, owner: string, progress: TaskProgress, seq: number): Promise<void> {
    await this.SyncTaskModel.update(
      { phase: progress.phase, processed: progress.processed, total: progress.total, seq },
      { where: { id: taskId, state: "active", leaseOwner: owner } },
    );
  }

  /**
   * The orphan rule: `queue`'s tasks (and old ones naming none) whose lease lapsed, or that sat
   * queued for a lease time, not waiting out a retry. Each answer pushes `updated_at` on, so a
   * task is offered once per lease time; `SKIP LOCKED` keeps concurrent sweeps apart.
   */
  orphans(
    queue: string | string[],
    leaseMs: number,
    limit: number,
  ): Promise<Array<{ id: string; userId: string }>> {
    return this.sequelize.query<{ id: string; userId: string }>(
      `UPDATE sync_tasks SET updated_at = now()
       WHERE id IN (
         SELECT id FROM sync_tasks
         WHERE (queue IN (:queue) OR queue IS NULL)
           AND ((state = 'active' AND lease_expires_at <= clock_timestamp() AND updated_at < now() - make_interval(secs => :leaseSeconds))
             OR (state = 'queued' AND updated_at < now() - make_interval(secs => :leaseSeconds)
                 AND (retry_at IS NULL OR retry_at <= now())))
         ORDER BY updated_at LIMIT :limit FOR UPDATE SKIP LOCKED)
       RETURNING id, user_id AS "userId"`,
      {
        replacements: { leaseSeconds: leaseSeconds(leaseMs), limit, queue },
        type: QueryTypes.SELECT,
      },
    );
  }

  // ---- task rows ----

  /**
   * A new queued task, or null when the user already has one queued or active: the partial
   * unique index decides, in one round trip.
   */
  insertUnlessOpen(
    userId: string,
    runner: TaskRunner,
    queue: string,
    options: TaskOptions = {},
  ): Promise<OpenedTask | null> {
    return this.inserts.load({ userId, runner, queue, options });
  }

  /**
   * One statement for a batch of `insertUnlessOpen`. A user asked for twice in one batch (a double
   * click) is inserted once, for the first ask; the later ones answer null and join it, exactly
   * as if they had come a moment later.
   */
  private async insertBatch(batch: readonly NewTask[]): Promise<Array<OpenedTask | null | Error>> {
    const first = new Map<string, number>();
    batch.forEach((t, i) => {
      if (!first.has(t.userId)) first.set(t.userId, i);
    });
    const rows = [...first.values()].map((i) => ({
      user_id: batch[i]!.userId,
      runner: batch[i]!.runner,
      queue: batch[i]!.queue,
      options: batch[i]!.options,
    }));
    const insert = (list: typeof rows) =>
      this.sequelize.query<Record<string, unknown>>(
        `INSERT INTO sync_tasks (id, user_id, runner, queue, options)
         SELECT gen_random_uuid(), r.user_id, r.runner, r.queue, r.options
           FROM jsonb_to_recordset($rows::jsonb) AS r(user_id uuid, runner text, queue text, options jsonb)
         ON CONFLICT (user_id) WHERE state IN ('queued', 'active') DO NOTHING
         RETURNING ${this.returningAttributes()}, ${INCREMENTAL}`,
        // Bound, not inlined: the rows travel as one parameter, with no escaping of them in here.
        { bind: { rows: JSON.stringify(list) }, type: QueryTypes.SELECT },
      );
    const byUser = new Map<string, Record<string, unknown> | Error>();
    try {
      for (const row of await insert(rows)) byUser.set(String(row.userId), row);
    } catch (err) {
      // One bad row (a user deleted a moment ago fails its foreign key) must not fail the others
      // asked for with it: each is tried alone and meets only its own error.
      if (rows.length === 1) throw err;
      await Promise.all(
        rows.map(async (row) => {
          try {
            const [one] = await insert([row]);
            if (one) byUser.set(row.user_id, one);
          } catch (e) {
            byUser.set(row.user_id, e instanceof Error ? e : new Error(String(e)));
          }
        }),
      );
    }
    return batch.map((t, i) => {
      const row = first.get(t.userId) === i ? byUser.get(t.userId) : undefined;
      if (row instanceof Error) return row;
      if (!row) return null;
      const { incremental, ...columns } = row;
      return { task: this.taskOf(columns), incremental: incremental === true };
    });
  }

  /**
   * A model of a row read by raw SQL under `returningAttributes()`. Built raw: a non-raw build
   * drops `createdAt` and `updatedAt` (Sequelize will not set timestamps on a row it did not
   * write), which a snapshot of the task needs.
   */
  private taskOf(columns: Record<string, unknown>): SyncTask {
    return this.SyncTaskModel.build(columns, { isNewRecord: false, raw: true });
  }

  /** A row read with `returningAttributes()` and `options`: the task, and what it syncs. */
  private withOptions(row: Record<string, unknown> & { options: TaskOptions | null }) {
    const { options, ...columns } = row;
    return { task: this.taskOf(columns), options: options ?? {} };
  }

  /** Columns under their attribute names, so a raw RETURNING row builds a proper model. */
  private returningAttributes(): string {
    return Object.entries(this.SyncTaskModel.getAttributes())
      .map(([attr, def]) => `"${def.field ?? attr}" AS "${attr}"`)
      .join(", ");
  }

  /** The user's open task and what it syncs, in one statement (the join path of a POST). */
  async findOpenWithOptions(userId: string): Promise<(OpenedTask & { options: TaskOptions }) | null> {
    const [row] = await this.sequelize.query<
      Record<string, unknown> & { options: TaskOptions | null; incremental: boolean }
    >(
      `SELECT ${this.returningAttributes()}, options, ${INCREMENTAL} FROM sync_tasks
       WHERE user_id = $userId AND state IN ('queued', 'active')`,
      { bind: { userId }, type: QueryTypes.SELECT },
    );
    if (!row) return null;
    const { incremental, ...rest } = row;
    return { ...this.withOptions(rest), incremental: incremental === true };
  }

  findOpenOf(userId: string): Promise<SyncTask | null> {
    return this.SyncTaskModel.findOne({ where: { userId, state: ["queued", "active"] } });
  }

  findOfUser(userId: string, taskId: string): Promise<SyncTask | null> {
    return this.SyncTaskModel.findOne({ where: { id: taskId, userId } });
  }

  findById(taskId: string): Promise<SyncTask | null> {
    return this.SyncTaskModel.findByPk(taskId);
  }

  /** Tasks by state: the open ones, and those finished in the last hour (metrics). */
  async countByRecentState(): Promise<Record<TaskState, number>> {
    const rows = await this.sequelize.query<{ state: TaskState; n: number }>(
      `SELECT state, count(*)::int AS n FROM sync_tasks
       WHERE state IN ('queued', 'active') OR finished_at > now() - interval '1 hour' GROUP BY state`,
      { type: QueryTypes.SELECT },
    );
    const counts: Record<TaskState, number> = { queued: 0, active: 0, completed: 0, failed: 0 };
    for (const row of rows) counts[row.state] = row.n;
    return counts;
  }
}
