import { setTimeout as sleep } from "node:timers/promises";
import type { Cluster, Redis } from "ioredis";
import { GMAIL_METHOD_COSTS, type QuotaGate } from "./QuotaGate";
import { TokenBucket } from "./TokenBucket";

/** Gmail's quota, in units per second. Zero turns a limit off. */
export interface QuotaLimits {
  /** Per Gmail user. Google's default is 250. */
  userUnitsPerSecond: number;
  /** For the whole project (every worker together). Google's default is 1,200,000 a minute. */
  projectUnitsPerSecond: number;
}

/** Where the buckets are kept: both keys of one take must share a Redis Cluster slot. */
export interface QuotaKeys {
  quotaUser(userId: string): string;
  quotaProject: string;
}

/**
 * Two token buckets in one atomic step: the user's and the project's, each holding at most one
 * second of units and refilled by Redis's own clock (so workers on several machines agree).
 * Takes `cost` from both or from neither; answers 0, or how many ms until both could pay. On a
 * Redis Cluster both keys carry one hash tag, so the script runs in one slot: every take touches
 * the project bucket anyway, so its node sees all quota traffic whichever slot the users' are in.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = tonumber(ARGV[1])
local rates = { tonumber(ARGV[2]), tonumber(ARGV[3]) }
local levels = {}
local wait = 0
for i = 1, 2 do
  local rate = rates[i]
  if rate > 0 then
    local v = redis.call('HMGET', KEYS[i], 'tokens', 'at')
    local tokens = tonumber(v[1]) or rate
    local at = tonumber(v[2]) or now
    tokens = math.min(rate, tokens + (now - at) * rate / 1000)
    levels[i] = tokens
    if tokens < cost then wait = math.max(wait, (cost - tokens) * 1000 / rate) end
  end
end
if wait > 0 then return math.ceil(wait) end
for i = 1, 2 do
  if levels[i] then
    redis.call('HSET', KEYS[i], 'tokens', levels[i] - cost, 'at', now)
    redis.call('PEXPIRE', KEYS[i], 10000)
  end
end
return 0
`;

/**
 * Gmail quota shared by every worker and web node: before each call a sync asks Redis for the
 * call's units from its user's bucket and the project's, and waits its turn instead of spending
 * Google's patience on 429s. Each user has a bucket of their own, so a huge mailbox cannot slow
 * a small one down; they share only the project bucket, one call at a time.
 */
export class GmailQuota {
  /**
   * Used while Redis cannot answer: this process's own buckets at the same rates. A user's sync
   * runs in one place at a time (the task lease), so the per-user pace stays right; only the
   * project's share is then this process's alone.
   */
  private readonly local = new Map<string, TokenBucket>();
  private readonly localProject: TokenBucket;
  private readonly keys: QuotaKeys;

  constructor(
    private readonly redis: Redis | Cluster,
    /** A key prefix (`<prefix>:quota:…`), or the key layout of core/redis.ts's redisKeys. */
    keys: string | QuotaKeys,
    private readonly limits: QuotaLimits,
  ) {
    this.keys =
      typeof keys === "string"
        ? { quotaUser: (userId) => `${keys}:quota:user:${userId}`, quotaProject: `${keys}:quota:project` }
        : keys;
    redis.defineCommand("gmailQuotaTake", { numberOfKeys: 2, lua: TAKE });
    this.localProject = new TokenBucket(limits.projectUnitsPerSecond);
  }

  private takeLocally(userId: string, cost: number): number {
    let bucket = this.local.get(userId);
    if (!bucket) {
      // Forget idle users' buckets: a full bucket is what a new one starts as anyway.
      if (this.local.size > 10_000) this.local.clear();
      bucket = new TokenBucket(this.limits.userUnitsPerSecond);
      this.local.set(userId, bucket);
    }
    const wait = bucket.take(cost);
    if (wait > 0) return wait;
    const projectWait = this.localProject.take(cost);
    // Both or neither, as in Redis: give the user's units back when the project cannot pay.
    if (projectWait > 0) bucket.refund(cost);
    return projectWait;
  }

  get enabled(): boolean {
    return this.limits.userUnitsPerSecond > 0 || this.limits.projectUnitsPerSecond > 0;
  }

  /** The gate for one Gmail user's sync. */
  forUser(userId: string): QuotaGate {
    const userKey = this.keys.quotaUser(userId);
    const projectKey = this.keys.quotaProject;
    const { userUnitsPerSecond, projectUnitsPerSecond } = this.limits;
    const redis = this.redis as (Redis | Cluster) & {
      gmailQuotaTake(k1: string, k2: string, cost: number, user: number, project: number): Promise<number>;
    };
    // Units that no bucket could ever hold at once (a batch larger than a second's quota) are
    // paid in bucket-sized parts, or the take would wait for ever.
    const rates = [userUnitsPerSecond, projectUnitsPerSecond].filter((r) => r > 0);
    const most = rates.length ? Math.min(...rates) : Number.POSITIVE_INFINITY;
    const pay = async (units: number, signal?: AbortSignal, onWait?: (until: number) => void) => {
      for (;;) {
        let wait: number;
        try {
          wait = await redis.gmailQuotaTake(
            userKey,
            projectKey,
            units,
            userUnitsPerSecond,
            projectUnitsPerSecond,
          );
        } catch {
          // Redis is unreachable: the sync goes on at the same pace from this process's own
          // buckets rather than stopping, or spending Google's patience on 429s.
          wait = this.takeLocally(userId, units);
        }
        if (wait <= 0) return;
        onWait?.(Date.now() + wait);
        await sleep(wait, undefined, { signal });
      }
    };
    return {
      take: async (method, signal, onWait, times = 1) => {
        let units = GMAIL_METHOD_COSTS[method] * Math.max(1, times);
        while (units > most) {
          await pay(most, signal, onWait);
          units -= most;
        }
        await pay(units, signal, onWait);
      },
    };
  }
}
