import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { loadConfig } from "../../core/config";
import { provisionScratchDatabase } from "../../scripts/lib/devServices";
import { startRedisCluster } from "./redisCluster";

declare module "vitest" {
  export interface ProvidedContext {
    redisClusterNodes: string;
  }
}

/**
 * `npm run test:cluster`: a scratch database, as for `npm test`, and a three-master Redis Cluster
 * of this run's own, started here and torn down at the end.
 */
export default async function setup(project: TestProject) {
  // Sharded pub/sub (SSUBSCRIBE/SPUBLISH), which the web nodes' adapter uses here, came in Redis 7.
  const version = /v=(\d+)\./.exec(execFileSync("redis-server", ["--version"], { encoding: "utf8" }));
  if (!version || Number(version[1]) < 7) {
    throw new Error(
      `npm run test:cluster needs redis-server 7 or later on PATH (found ${version?.[0] ?? "none"})`,
    );
  }
  const env = process.env;
  const run = `${process.pid}_${randomBytes(3).toString("hex")}`;
  const database = await provisionScratchDatabase(
    `inbox_sync_cluster_${run}`,
    env.TEST_DATABASE_URL ?? env.DATABASE_URL,
  );
  const cluster = await startRedisCluster(3);
  const queuePrefix = `inbox-sync-cluster-${run}`;
  loadConfig({
    DATABASE_URL: database.url,
    REDIS_CLUSTER_NODES: cluster.nodes,
    QUEUE_PREFIX: queuePrefix,
    DATA_DIR: ".data/test",
  });
  project.provide("databaseUrl", database.url);
  // Unused while REDIS_CLUSTER_NODES is set (it wins); a node's address keeps helpers that read it valid.
  project.provide("redisUrl", `redis://127.0.0.1:${cluster.ports[0]}`);
  project.provide("queuePrefix", queuePrefix);
  project.provide("redisClusterNodes", cluster.nodes);

  return async () => {
    await cluster.stop();
    await database.drop();
  };
}
