import type { Redis } from "ioredis";

/**
 * Worker liveness, kept in one sorted set per queue prefix: member = worker id, score = time of
 * its last beat. Portable to managed Redis that forbids CLIENT LIST (which BullMQ's getWorkers
 * needs), and a crashed worker ages out on its own.
 */
const key = (prefix: string) => `${prefix}:workers:heartbeat`;

export async function beat(redis: Redis, prefix: string, workerId: string): Promise<void> {
  await redis.zadd(key(prefix), Date.now(), workerId);
}

export async function leave(redis: Redis, prefix: string, workerId: string): Promise<void> {
  await redis.zrem(key(prefix), workerId);
}

export async function aliveWorkers(redis: Redis, prefix: string, ttlSeconds: number): Promise<number> {
  const since = Date.now() - ttlSeconds * 1000;
  await redis.zremrangebyscore(key(prefix), "-inf", `(${since - ttlSeconds * 1000}`);
  return redis.zcount(key(prefix), since, "+inf");
}
