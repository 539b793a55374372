import type { QueryInterface } from "sequelize";
import type { MigrationFn } from "umzug";

/**
 * Task ownership becomes an explicit lease (core/tasks/TaskLease.ts): who holds the task and
 * until when, renewed on a timer of its own, so a dead owner is noticed in seconds rather than
 * read from `updated_at`, which only moved with throttled progress writes.
 *
 * `seq` becomes bigint: every claim moves it on by a whole span, and an int ran out after about
 * 2,000 claims of one task (a huge mailbox sliced every five minutes gets there).
 *
 * `retry_at` says when a task that waits for the queue's retry backoff will run again.
 *
 * `queue` names the deployment's queue (its QUEUE_PREFIX) whose workers look after the task:
 * deployments that share a database (staging beside production, shards of one queue) must not
 * sweep each other's tasks. Null, for tasks made before it, means any.
 */
export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    ALTER TABLE sync_tasks
      ADD COLUMN lease_owner text,
      ADD COLUMN lease_expires_at timestamptz,
      ADD COLUMN retry_at timestamptz,
      ADD COLUMN queue text,
      ALTER COLUMN seq TYPE bigint;
    -- Active tasks left by the old rule get a lapsed lease: whoever asks next may take them over.
    UPDATE sync_tasks SET lease_expires_at = updated_at WHERE state = 'active';
    -- The sweeper's question, "whose lease has lapsed?", reads only active tasks.
    CREATE INDEX sync_tasks_active_lease_idx ON sync_tasks (lease_expires_at) WHERE state = 'active';
  `);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    DROP INDEX IF EXISTS sync_tasks_active_lease_idx;
    ALTER TABLE sync_tasks
      DROP COLUMN lease_owner,
      DROP COLUMN lease_expires_at,
      DROP COLUMN retry_at,
      DROP COLUMN queue,
      ALTER COLUMN seq TYPE integer USING least(seq, 2147483647);
  `);
};
