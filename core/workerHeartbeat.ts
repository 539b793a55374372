import type { Cluster, Redis } from "ioredis";

/**
 * Worker liveness, kept in one sorted set per queue prefix: member = worker id, score = time of
 * its last beat. Portable to managed Redis that forbids CLIENT LIST (which BullMQ's getWorkers
 * needs, and which a cluster would answer per node), and a crashed worker ages out on its own.
 * A sharded sync queue (SYNC_QUEUE_SHARDS) also keeps one set per shard, so a web node can tell
 * whether anyone serves a given user's shard (WORKER_QUEUE_SHARDS). Every command, the MULTI too,
 * touches one key, so a Redis Cluster needs no hash tag.
 */
const key = (prefix: string, shard?: number) =>
  shard === undefined ? `${prefix}:workers:heartbeat` : `${prefix}:workers:heartbeat:shard:${shard}`;

export async function beat(
  redis: Redis | Cluster,
  prefix: string,
  workerId: string,
  ttlSeconds: number,
  /** The shards this worker serves, when the queue is sharded. */
  shards: number[] = [],
): Promise<void> {
  const now = Date.now();
  // Each beat also sweeps out workers that have been silent for two TTLs (they died).
  const one = (k: string) =>
    redis
      .multi()
      .zadd(k, now, workerId)
      .zremrangebyscore(k, "-inf", `(${now - 2 * ttlSeconds * 1000}`)
      .exec();
  await Promise.all([one(key(prefix)), ...shards.map((n) => one(key(prefix, n)))]);
}

export async function leave(
  redis: Redis | Cluster,
  prefix: string,
  workerId: string,
  shards: number[] = [],
): Promise<void> {
  await Promise.all([key(prefix), ...shards.map((n) => key(prefix, n))].map((k) => redis.zrem(k, workerId)));
}

/** Workers with a fresh beat: all of them, or those serving `shard`. */
export async function aliveWorkers(
  redis: Redis | Cluster,
  prefix: string,
  ttlSeconds: number,
  shard?: number,
  /** The instant a beat's age is measured at (ms since the epoch). */
  now: number = Date.now(),
): Promise<number> {
  return redis.zcount(key(prefix, shard), now - ttlSeconds * 1000, "+inf");
}

/**
 * "Is any worker alive?" asked on hot paths (every sync request, every status read): a positive
 * answer is trusted for a second, so a burst of requests costs one Redis read. A negative one is
 * never cached, so a worker that comes back is seen at once. With a sharded queue (`shardOf`)
 * the question is asked of the user's shard: a worker that serves other shards cannot run it.
 */
export class WorkerLiveness {
  private readonly alive = new Map<number | undefined, { count: number; until: number }>();

  constructor(
    private readonly redis: Redis | Cluster | null,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
    /** A user's shard; null = one unsharded queue. */
    private readonly shardOf: ((userId: string) => number) | null = null,
    /**
     * The clock beats age on and the positive answer is trusted by (ms since the epoch; default
     * `Date.now`). Tests move a fake one past the heartbeat TTL instead of sleeping through it.
     */
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Live workers (that serve `userId`'s shard, when given and sharded); throws when Redis cannot
   * answer (then no worker can take work either).
   */
  async count(userId?: string): Promise<number> {
    if (!this.redis) return 0;
    const shard = userId !== undefined && this.shardOf ? this.shardOf(userId) : undefined;
    const cached = this.alive.get(shard);
    if (cached && this.now() < cached.until) return cached.count;
    const alive = await aliveWorkers(this.redis, this.prefix, this.ttlSeconds, shard, this.now());
    if (alive > 0) this.alive.set(shard, { count: alive, until: this.now() + 1_000 });
    return alive;
  }
}
