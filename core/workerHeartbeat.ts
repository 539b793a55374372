import type { Redis } from "ioredis";

/**
 * Worker liveness, kept in one sorted set per queue prefix: member = worker id, score = time of
 * its last beat. Portable to managed Redis that forbids CLIENT LIST (which BullMQ's getWorkers
 * needs), and a crashed worker ages out on its own.
 */
const key = (prefix: string) => `${prefix}:workers:heartbeat`;

export async function beat(
  redis: Redis,
  prefix: string,
  workerId: string,
  ttlSeconds: number,
): Promise<void> {
  const now = Date.now();
  // Each beat also sweeps out workers that have been silent for two TTLs (they died).
  await redis
    .multi()
    .zadd(key(prefix), now, workerId)
    .zremrangebyscore(key(prefix), "-inf", `(${now - 2 * ttlSeconds * 1000}`)
    .exec();
}

export async function leave(redis: Redis, prefix: string, workerId: string): Promise<void> {
  await redis.zrem(key(prefix), workerId);
}

export async function aliveWorkers(redis: Redis, prefix: string, ttlSeconds: number): Promise<number> {
  return redis.zcount(key(prefix), Date.now() - ttlSeconds * 1000, "+inf");
}
