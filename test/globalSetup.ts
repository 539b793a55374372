import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { loadConfig } from "../core/config";
import { migrate } from "../core/db/migrator";
import { createDatabase } from "../core/db/sequelize";
import {
  deleteRedisPrefix,
  dropDatabase,
  ensureDatabase,
  freePort,
  provisionPostgres,
  provisionRedis,
} from "../scripts/lib/devServices";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
    queuePrefix: string;
  }
}

/**
 * One database and one Redis key prefix for this test run, never a dev instance's: created
 * here, migrated once, dropped and deleted at the end.
 */
export default async function setup(project: TestProject) {
  const env = process.env;
  const run = `${process.pid}_${randomBytes(3).toString("hex")}`;
  const server = await provisionPostgres({
    url: env.TEST_DATABASE_URL ?? env.DATABASE_URL,
    dir: `.data/test-postgres-${run}`,
    port: await freePort(),
    persistent: false,
  });
  const dbName = `inbox_sync_test_${run}`;
  const databaseUrl = await ensureDatabase(server.url, dbName);
  const sequelize = createDatabase(databaseUrl);
  await migrate(sequelize);
  await sequelize.close();

  const redis = await provisionRedis(env.TEST_REDIS_URL ?? env.REDIS_URL);
  if (!redis) throw new Error("npm test needs Redis: set REDIS_URL or put redis-server on PATH");
  const queuePrefix = `inbox-sync-test-${run}`;
  // Fail here, in one line, if the machine's environment would break every test.
  loadConfig({
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: queuePrefix,
    DATA_DIR: ".data/test",
  });

  project.provide("databaseUrl", databaseUrl);
  project.provide("redisUrl", redis.url);
  project.provide("queuePrefix", queuePrefix);

  return async () => {
    await dropDatabase(server.url, dbName).catch(() => {});
    await deleteRedisPrefix(redis.url, queuePrefix).catch(() => {});
    await redis.stop();
    await server.stop();
  };
}
