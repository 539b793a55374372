import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { GMAIL_METHOD_COSTS, type GmailMethod, type QuotaGate } from "./QuotaGate";

/** Gmail's quota, in units per second. Zero turns a limit off. */
export interface QuotaLimits {
  /** Per Gmail user. Google's default is 250. */
  userUnitsPerSecond: number;
  /** For the whole project (every worker together). Google's default is 1,200,000 a minute. */
  projectUnitsPerSecond: number;
}

/**
 * Two token buckets in one atomic step: the user's and the project's, each holding at most one
 * second of units and refilled by Redis's own clock (so workers on several machines agree).
 * Takes `cost` from both or from neither; answers 0, or how many ms until both could pay.
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
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limits: QuotaLimits,
  ) {
    redis.defineCommand("gmailQuotaTake", { numberOfKeys: 2, lua: TAKE });
  }

  get enabled(): boolean {
    return this.limits.userUnitsPerSecond > 0 || this.limits.projectUnitsPerSecond > 0;
  }

  /** The gate for one Gmail user's sync. */
  forUser(userId: string): QuotaGate {
    const userKey = `${this.prefix}:quota:user:${userId}`;
    const projectKey = `${this.prefix}:quota:project`;
    const { userUnitsPerSecond, projectUnitsPerSecond } = this.limits;
    const redis = this.redis as Redis & {
      gmailQuotaTake(k1: string, k2: string, cost: number, user: number, project: number): Promise<number>;
    };
    return {
      take: async (method: GmailMethod, signal?: AbortSignal) => {
        const cost = GMAIL_METHOD_COSTS[method];
        for (;;) {
          let wait: number;
          try {
            wait = await redis.gmailQuotaTake(
              userKey,
              projectKey,
              cost,
              userUnitsPerSecond,
              projectUnitsPerSecond,
            );
          } catch {
            // Without Redis the quota cannot be shared; Gmail's own 429s and our backoff still
            // keep the sync correct, so the call goes ahead rather than the sync stopping.
            return;
          }
          if (wait <= 0) return;
          await sleep(wait, undefined, { signal });
        }
      },
    };
  }
}
