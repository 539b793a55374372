import { randomBytes } from "node:crypto";
import type { Sequelize } from "sequelize";
import { inject } from "vitest";
import { createDatabase } from "../core/db/sequelize";
import { dropDatabase, ensureDatabase } from "../scripts/lib/devServices";

/**
 * A database of its own on the test server, for a test that runs migrations itself (the shared
 * test database is migrated once, for every test): `fn` gets a handle on it, not migrated, with
 * its name and URL. Closed and dropped afterwards, pass or fail.
 */
export async function withScratchDatabase<T>(
  prefix: string,
  fn: (db: Sequelize, where: { name: string; url: string }) => Promise<T>,
): Promise<T> {
  const server = new URL(inject("databaseUrl"));
  server.pathname = "/postgres";
  const name = `${prefix}_${randomBytes(3).toString("hex")}`;
  const url = await ensureDatabase(server.toString(), name);
  const db = createDatabase(url);
  try {
    return await fn(db, { name, url });
  } finally {
    await db.close();
    await dropDatabase(server.toString(), name);
  }
}
