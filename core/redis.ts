import { createHash } from "node:crypto";
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import type { Config } from "./config";

/** A connection to one Redis, or to a Redis Cluster (REDIS_CLUSTER_NODES): every role takes both. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: a URL, or a configuration (a cluster when it names one). */
export type RedisWhere = string | Pick<Config, "redisUrl" | "redisCluster">;

export type RedisRole = "worker" | "subscriber" | "request";

/**
 * Redis clients by role. Workers and subscribers wait for Redis forever (BullMQ requires
 * `maxRetriesPerRequest: null`); the web's request-path client fails fast instead, so a request
 * learns within moments that the queue is down and can offer the streaming fallback. On a
 * cluster the same rules hold per node and for the cluster as a whole; a client made with
 * `{ shardedSubscribers: true }` can also SSUBSCRIBE (sharded pub/sub: ioredis keeps a subscriber
 * connection per master and sends each channel to the node that owns its slot).
 */
export function createRedis(url: string, role: RedisRole, extra?: RedisOptions): Redis;
export function createRedis(
  where: RedisWhere,
  role: RedisRole,
  extra?: RedisOptions,
  clusterExtra?: Partial<ClusterOptions>,
): RedisClient;
export function createRedis(
  where: RedisWhere,
  role: RedisRole,
  extra: RedisOptions = {},
  /** Cluster-only options, e.g. `shardedSubscribers` for a client that will SSUBSCRIBE. */
  clusterExtra: Partial<ClusterOptions> = {},
): RedisClient {
  const failFast = role === "request";
  const options: RedisOptions = {
    maxRetriesPerRequest: failFast ? 1 : null,
    enableOfflineQueue: !failFast,
    connectTimeout: 5_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    lazyConnect: false,
    ...extra,
  };
  const cluster = typeof where === "string" ? null : where.redisCluster;
  if (!cluster) return new Redis(typeof where === "string" ? where : where.redisUrl, options);
  const clusterOptions: ClusterOptions = {
    redisOptions: {
      ...options,
      username: cluster.username,
      password: cluster.password,
      ...(cluster.tls ? { tls: {} } : {}),
    },
    enableOfflineQueue: !failFast,
    lazyConnect: options.lazyConnect,
    clusterRetryStrategy: (times) => Math.min(times * 200, 2_000),
    // A failover moves slots: ask for the new map soon, and keep asking while nodes are missing.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    slotsRefreshTimeout: 2_000,
    // With TLS, connect to the names given rather than to the IPs they resolve to, so certificate
    // checks see the name (ioredis's documented setting for ElastiCache and the like).
    ...(cluster.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
    ...clusterExtra,
  };
  return new Cluster(cluster.nodes, clusterOptions);
}

/** True when the client has a live connection right now. */
export function isRedisReady(redis: RedisClient): boolean {
  return redis.status === "ready";
}

/**
 * Key names by role (docs/scaling.md, "Key layout"). On a single Redis they are exactly
 * what they always were; on a cluster the part in braces is a hash tag, so every key a Lua script
 * or MULTI touches together lands in one slot, and unrelated roles spread over the nodes.
 */
export interface RedisKeys {
  /** The sync queue's BullMQ prefix of shard `n` (also what task rows name as their queue). */
  syncQueue(n: number): string;
  /** Every shard's prefix, shard 0 first. */
  syncQueues(): string[];
  /** The shard a user's tasks always travel through. */
  shardOf(userId: string): number;
  /** The housekeeping queue's BullMQ prefix. */
  maintenanceQueue: string;
  /** Both quota buckets share one slot on a cluster: one script takes from both at once. */
  quotaUser(userId: string): string;
  quotaProject: string;
  /** The worker heartbeat sorted set (one key). */
  heartbeat: string;
  /** Rate-limit counters and stream slots (one key per operation). */
  rateLimit: string;
  /** Socket.IO channel prefix (classic adapter and emitter, or the sharded adapter). */
  socketIo: string;
  /** The auth-invalidation pub/sub channel. */
  authChannel: string;
}

/** A stable hash of the user id onto `shards` shards: the same user is always on the same shard. */
export function shardOf(userId: string, shards: number): number {
  if (shards <= 1) return 0;
  return createHash("sha1").update(userId).digest().readUInt32BE(0) % shards;
}

export function redisKeys(
  config: Pick<Config, "queuePrefix" | "redisCluster" | "syncQueueShards">,
): RedisKeys {
  const p = config.queuePrefix;
  const cluster = config.redisCluster !== null;
  const shards = config.syncQueueShards;
  // One unsharded queue on a single Redis keeps today's prefix, so nothing moves on upgrade.
  const syncQueue = (n: number) => (shards === 1 && !cluster ? p : `{${p}:${n}}`);
  // Both quota buckets in the project bucket's slot: one script takes from both at once.
  const quota = cluster ? `{${p}:quota}` : `${p}:quota`;
  return {
    syncQueue,
    syncQueues: () => Array.from({ length: shards }, (_, n) => syncQueue(n)),
    shardOf: (userId) => shardOf(userId, shards),
    maintenanceQueue: cluster ? `{${p}:maintenance}` : p,
    quotaUser: (userId) => `${quota}:user:${userId}`,
    quotaProject: `${quota}:project`,
    // One key per command, or a MULTI on one key: no hash tag needed, so they spread by name.
    heartbeat: `${p}:workers:heartbeat`,
    rateLimit: `${p}:rl`,
    socketIo: `${p}:socket.io`,
    authChannel: `${p}:auth:ended`,
  };
}

/**
 * The shards a worker serves (WORKER_QUEUE_SHARDS, else all) as queue prefixes; the worker serving
 * shard 0 also sweeps tasks that name the unsharded queue (created before sharding was turned on).
 */
export function servedSyncQueues(
  config: Pick<Config, "queuePrefix" | "redisCluster" | "syncQueueShards" | "workerQueueShards">,
): { shards: number[]; queues: string[]; sweep: string[] } {
  const keys = redisKeys(config);
  const shards = config.workerQueueShards ?? keys.syncQueues().map((_, n) => n);
  const queues = shards.map((n) => keys.syncQueue(n));
  const sweep =
    queues.includes(config.queuePrefix) || !shards.includes(0) ? queues : [...queues, config.queuePrefix];
  return { shards, queues, sweep };
}
