import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { WorkerLiveness } from "./workerHeartbeat";

/** A Redis that answers ZCOUNT from a table of live workers per key, and counts the questions. */
function fakeRedis(alive: Record<string, number>) {
  const asked: string[] = [];
  const redis = {
    zcount: async (key: string) => {
      asked.push(key);
      return alive[key] ?? 0;
    },
  } as unknown as Redis;
  return { redis, asked };
}

describe("worker liveness by shard", () => {
  it("one unsharded queue asks the deployment's set, whoever the user", async () => {
    const { redis, asked } = fakeRedis({ "p:workers:heartbeat": 2 });
    const workers = new WorkerLiveness(redis, "p", 10);
    expect(await workers.count("user-1")).toBe(2);
    expect(asked).toEqual(["p:workers:heartbeat"]);
  });

  it("a sharded queue asks the set of the user's shard: workers serving other shards do not count", async () => {
    const { redis, asked } = fakeRedis({ "p:workers:heartbeat": 3, "p:workers:heartbeat:shard:1": 1 });
    const shardOf = (userId: string) => (userId === "on-1" ? 1 : 4);
    const workers = new WorkerLiveness(redis, "p", 10, shardOf);
    expect(await workers.count("on-1")).toBe(1);
    expect(await workers.count("on-4")).toBe(0);
    expect(await workers.count()).toBe(3);
    // A live shard is trusted for a second; a dead one is asked again every time.
    expect(await workers.count("on-1")).toBe(1);
    expect(await workers.count("on-4")).toBe(0);
    expect(asked).toEqual([
      "p:workers:heartbeat:shard:1",
      "p:workers:heartbeat:shard:4",
      "p:workers:heartbeat",
      "p:workers:heartbeat:shard:4",
    ]);
  });
});
