import { type CreationOptional, DataTypes, Model, type Sequelize } from "sequelize";
import type { SyncPhase, SyncResult, TaskError, TaskState } from "../../events";

/** Who runs a task: a queue worker, or the streaming fallback inside an HTTP request. */
export type TaskRunner = "queue" | "stream";

/**
 * The durable record of every sync task. The database allows at most one queued-or-active task
 * per user (a partial unique index), so "join the running task" is decided by PostgreSQL.
 */
export class SyncTask extends Model {
  declare id: CreationOptional<string>;
  declare userId: string;
  declare state: CreationOptional<TaskState>;
  declare runner: TaskRunner;
  declare phase: CreationOptional<SyncPhase>;
  declare processed: CreationOptional<number>;
  declare total: CreationOptional<number>;
  declare seq: CreationOptional<number>;
  declare attempts: CreationOptional<number>;
  /** Who holds the task's lease, and until when (core/tasks/TaskLease.ts). */
  declare leaseOwner: string | null;
  declare leaseExpiresAt: Date | null;
  /** When a task waiting out the queue's retry backoff runs again. */
  declare retryAt: Date | null;
  /** The queue (QUEUE_PREFIX) whose workers look after the task; null = any. */
  declare queue: string | null;
  declare result: SyncResult | null;
  declare error: TaskError | null;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
  declare startedAt: Date | null;
  declare finishedAt: Date | null;

  /**
   * A class of this model bound to `sequelize` alone, so two databases (or two holders of one)
   * never share a static model.
   */
  static bindTo(sequelize: Sequelize): typeof SyncTask {
    const Bound = class extends SyncTask {};
    Bound.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        userId: { type: DataTypes.UUID, allowNull: false },
        state: { type: DataTypes.TEXT, allowNull: false, defaultValue: "queued" },
        runner: { type: DataTypes.TEXT, allowNull: false },
        phase: { type: DataTypes.TEXT, allowNull: false, defaultValue: "listing" },
        processed: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        total: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        // bigint arrives from pg as a string; seq stays far below 2^53, so a number is exact.
        seq: {
          type: DataTypes.BIGINT,
          allowNull: false,
          defaultValue: 0,
          get(this: SyncTask) {
            return Number(this.getDataValue("seq"));
          },
        },
        attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        leaseOwner: { type: DataTypes.TEXT, allowNull: true },
        leaseExpiresAt: { type: DataTypes.DATE, allowNull: true },
        retryAt: { type: DataTypes.DATE, allowNull: true },
        queue: { type: DataTypes.TEXT, allowNull: true },
        result: { type: DataTypes.JSONB, allowNull: true },
        error: { type: DataTypes.JSONB, allowNull: true },
        startedAt: { type: DataTypes.DATE, allowNull: true },
        finishedAt: { type: DataTypes.DATE, allowNull: true },
      },
      { sequelize, modelName: "SyncTask", tableName: "sync_tasks" },
    );
    return Bound;
  }
}
