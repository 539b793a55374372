import type { Cluster, Redis } from "ioredis";

/**
 * Worker liveness, kept in one sorted set per queue prefix: member = worker id, score = time of
 * its last beat. Portable to managed Redis that forbids CLIENT LIST (which BullMQ's getWorkers
 * needs, and which a cluster would answer per node), and a crashed worker ages out on its own.
 * Every command, the MULTI too, touches this one key, so a Redis Cluster needs no hash tag.
 */
const key = (prefix: string) => `${prefix}:workers:heartbeat`;

export async function beat(
  redis: Redis | Cluster,
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

export async function leave(redis: Redis | Cluster, prefix: string, workerId: string): Promise<void> {
  await redis.zrem(key(prefix), workerId);
}

export async function aliveWorkers(
  redis: Redis | Cluster,
  prefix: string,
  ttlSeconds: number,
): Promise<number> {
  return redis.zcount(key(prefix), Date.now() - ttlSeconds * 1000, "+inf");
}

/**
 * "Is any worker alive?" asked on hot paths (every sync request, every status read): a positive
 * answer is trusted for a second, so a burst of requests costs one Redis read. A negative one is
 * never cached, so a worker that comes back is seen at once.
 */
export class WorkerLiveness {
  private aliveUntil = 0;
  private lastAlive = 0;

  constructor(
    private readonly redis: Redis | Cluster | null,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  /** Live workers; throws when Redis cannot answer (then no worker can take work either). */
  async count(): Promise<number> {
    if (!this.redis) return 0;
    if (Date.now() < this.aliveUntil) return this.lastAlive;
    const alive = await aliveWorkers(this.redis, this.prefix, this.ttlSeconds);
    if (alive > 0) {
      this.lastAlive = alive;
      this.aliveUntil = Date.now() + 1_000;
    }
    return alive;
  }
}
