import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { loadConfig } from "../core/config";
import { deleteRedisPrefix, provisionRedis, provisionScratchDatabase } from "../scripts/lib/devServices";

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
  const database = await provisionScratchDatabase(
    `inbox_sync_test_${run}`,
    env.TEST_DATABASE_URL ?? env.DATABASE_URL,
  );
  const databaseUrl = database.url;

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
    await deleteRedisPrefix(redis.url, queuePrefix).catch(() => {});
    await redis.stop();
    await database.drop();
  };
}
