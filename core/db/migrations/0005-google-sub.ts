import type { QueryInterface } from "sequelize";
import type { MigrationFn } from "umzug";

/**
 * A user is Google's stable account id (`sub`, from the sign-in's ID token), not an address: an
 * address can change, and a Workspace domain can give a deleted person's address to someone new.
 *
 * - `google_sub` is unique. Users from before it have none; their next sign-in fills it in when
 *   the address matches (the only link we had to them).
 * - The address stops being unique: after a recycled address, the old user (their sub) keeps
 *   their mail under their last known address, and the newcomer is a new user with the same
 *   address. Among users not yet tied to a sub the address stays unique, so that back-fill finds
 *   at most one.
 */
export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    ALTER TABLE users ADD COLUMN google_sub text;
    ALTER TABLE users ADD CONSTRAINT users_google_sub_key UNIQUE (google_sub);
    ALTER TABLE users DROP CONSTRAINT IF EXISTS users_email_key;
    CREATE UNIQUE INDEX users_email_without_sub_key ON users (email) WHERE google_sub IS NULL;
    CREATE INDEX users_email_idx ON users (email);
  `);
};

/** Fails if two users share an address by then: deciding which one keeps it is not a migration's job. */
export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    DROP INDEX IF EXISTS users_email_idx;
    DROP INDEX IF EXISTS users_email_without_sub_key;
    ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
    ALTER TABLE users DROP CONSTRAINT IF EXISTS users_google_sub_key;
    ALTER TABLE users DROP COLUMN IF EXISTS google_sub;
  `);
};
