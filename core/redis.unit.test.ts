import { describe, expect, it } from "vitest";
import { shardConcurrency } from "../worker/SyncWorker";
import { type Config, ConfigError, loadConfig } from "./config";
import { redisKeys, servedSyncQueues, shardOf } from "./redis";

const BASE = {
  NODE_ENV: "test",
  SESSION_SECRET: "s".repeat(40),
  TOKEN_ENCRYPTION_KEY: "ab".repeat(32),
  QUEUE_PREFIX: "inbox-sync",
};
const load = (env: Record<string, string>) => loadConfig({ ...BASE, ...env });
const refusal = (env: Record<string, string>) => {
  try {
    load(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
  }
  throw new Error("accepted");
};

describe("Redis Cluster settings", () => {
  it("REDIS_CLUSTER_NODES parses host:port lists (names, IPv4, bracketed IPv6) and wins over REDIS_URL", () => {
    const config = load({
      REDIS_URL: "redis://single:6379",
      REDIS_CLUSTER_NODES: " redis-0:7000, 10.0.0.2:7001 ,[::1]:7002",
      REDIS_CLUSTER_PASSWORD: "pw",
      REDIS_CLUSTER_TLS: "1",
    });
    expect(config.redisCluster).toEqual({
      nodes: [
        { host: "redis-0", port: 7000 },
        { host: "10.0.0.2", port: 7001 },
        { host: "::1", port: 7002 },
      ],
      username: undefined,
      password: "pw",
      tls: true,
    });
    expect(config.syncQueueShards).toBe(8);
    expect(config.workerQueueShards).toBeNull();
  });

  it("refuses node lists that are not host:port, with one line naming the variable", () => {
    for (const bad of ["redis-0", "redis-0:", "redis://a:1", "a:1,b", "a:70000", ",", "a b:1"]) {
      const err = refusal({ REDIS_CLUSTER_NODES: bad });
      expect(err.variable, bad).toBe("REDIS_CLUSTER_NODES");
    }
    expect(refusal({ REDIS_CLUSTER_TLS: "yes" }).variable).toBe("REDIS_CLUSTER_TLS");
  });

  it("a single Redis keeps one unsharded queue unless SYNC_QUEUE_SHARDS says otherwise", () => {
    expect(load({}).redisCluster).toBeNull();
    expect(load({}).syncQueueShards).toBe(1);
    expect(load({ SYNC_QUEUE_SHARDS: "4" }).syncQueueShards).toBe(4);
    expect(load({ REDIS_CLUSTER_NODES: "a:1", SYNC_QUEUE_SHARDS: "3" }).syncQueueShards).toBe(3);
    expect(refusal({ SYNC_QUEUE_SHARDS: "0" }).variable).toBe("SYNC_QUEUE_SHARDS");
  });

  it("WORKER_QUEUE_SHARDS names shards that exist, sorted and once each", () => {
    const config = load({ REDIS_CLUSTER_NODES: "a:1", WORKER_QUEUE_SHARDS: "5, 0,2,0" });
    expect(config.workerQueueShards).toEqual([0, 2, 5]);
    expect(refusal({ REDIS_CLUSTER_NODES: "a:1", WORKER_QUEUE_SHARDS: "8" }).message).toMatch(
      /WORKER_QUEUE_SHARDS names shard 8, but shards are numbered 0 to 7/,
    );
    expect(refusal({ WORKER_QUEUE_SHARDS: "0-2" }).variable).toBe("WORKER_QUEUE_SHARDS");
  });
});

describe("key layout", () => {
  const single = load({});
  const cluster = load({ REDIS_CLUSTER_NODES: "a:1" });

  it("on a single Redis every name is what it was before cluster mode", () => {
    const keys = redisKeys(single);
    expect(keys.syncQueues()).toEqual(["inbox-sync"]);
    expect(keys.maintenanceQueue).toBe("inbox-sync");
    expect(keys.quotaUser("u1")).toBe("inbox-sync:quota:user:u1");
    expect(keys.quotaProject).toBe("inbox-sync:quota:project");
    expect(keys.heartbeat).toBe("inbox-sync:workers:heartbeat");
    expect(keys.socketIo).toBe("inbox-sync:socket.io");
    expect(keys.authChannel).toBe("inbox-sync:auth:ended");
    expect(servedSyncQueues(single)).toEqual({ shards: [0], queues: ["inbox-sync"], sweep: ["inbox-sync"] });
  });

  it("on a cluster the keys a script or BullMQ touches together share one hash tag", () => {
    const keys = redisKeys(cluster);
    expect(keys.syncQueues()).toEqual(Array.from({ length: 8 }, (_, n) => `{inbox-sync:${n}}`));
    expect(keys.maintenanceQueue).toBe("{inbox-sync:maintenance}");
    const tag = (key: string) => /\{([^}]*)\}/.exec(key)?.[1];
    expect(tag(keys.quotaUser("u1"))).toBe("inbox-sync:quota");
    expect(tag(keys.quotaUser("u2"))).toBe(tag(keys.quotaProject));
  });

  it("a worker with a subset serves those shards and, with shard 0, sweeps tasks of the unsharded queue", () => {
    const with0 = servedSyncQueues({ ...cluster, workerQueueShards: [0, 2] } as Config);
    expect(with0).toEqual({
      shards: [0, 2],
      queues: ["{inbox-sync:0}", "{inbox-sync:2}"],
      sweep: ["{inbox-sync:0}", "{inbox-sync:2}", "inbox-sync"],
    });
    expect(servedSyncQueues({ ...cluster, workerQueueShards: [3] } as Config).sweep).toEqual([
      "{inbox-sync:3}",
    ]);
  });

  it("a user's shard is stable and users spread over every shard", () => {
    const users = Array.from(
      { length: 800 },
      (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    );
    const counts = new Array(8).fill(0);
    for (const u of users) {
      expect(shardOf(u, 8)).toBe(shardOf(u, 8));
      counts[shardOf(u, 8)]++;
    }
    // 100 expected per shard; a hash that ignored part of the id would leave shards empty.
    for (const n of counts) expect(n).toBeGreaterThan(50);
    expect(shardOf(users[0]!, 1)).toBe(0);
  });

  it("WORKER_CONCURRENCY is shared out over the served shards, at least one each", () => {
    expect(shardConcurrency(10, 1)).toEqual([10]);
    expect(shardConcurrency(10, 8)).toEqual([2, 2, 1, 1, 1, 1, 1, 1]);
    expect(shardConcurrency(4, 8)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(shardConcurrency(9, 3)).toEqual([3, 3, 3]);
  });
});
