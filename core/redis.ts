import { Redis, type RedisOptions } from "ioredis";

/**
 * Redis clients by role. Workers and subscribers wait for Redis forever (BullMQ requires
 * `maxRetriesPerRequest: null`); the web's request-path client fails fast instead, so a request
 * learns within moments that the queue is down and can offer the streaming fallback.
 */
export function createRedis(
  url: string,
  role: "worker" | "subscriber" | "request",
  extra: RedisOptions = {},
): Redis {
  const failFast = role === "request";
  return new Redis(url, {
    maxRetriesPerRequest: failFast ? 1 : null,
    enableOfflineQueue: !failFast,
    connectTimeout: 5_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    lazyConnect: false,
    ...extra,
  });
}

/** True when the client has a live connection right now. */
export function isRedisReady(redis: Redis): boolean {
  return redis.status === "ready";
}
