import { setTimeout as sleep } from "node:timers/promises";
import type { Cluster, Redis } from "ioredis";
import {
  type GmailQuotaTable,
  nextPacificMidnight,
  pacificDay,
  type QuotaMethod,
} from "../gmail/quotaProfile";
import { MinuteWindow, WINDOW_SECONDS } from "./MinuteWindow";
import type { QuotaGate, QuotaLimitName } from "./QuotaGate";

/** Where the budgets are kept: every key of one spend must share a Redis Cluster slot. */
export interface QuotaKeys {
  quotaUser(userId: string): string;
  quotaProject: string;
}

export type { QuotaLimitName };

/** A spend's answer: paid, or how long until it could be and which budget says so (nothing taken). */
export type SpendResult = { ok: true } | { ok: false; waitMs: number; limit: QuotaLimitName };

/** A gate for one Gmail user's calls that can also say which budget holds a call back. */
export interface QuotaBudgetGate extends QuotaGate {
  /** Pays for `times` calls of `method` now, or says how long until it could (taking nothing). */
  spend(method: QuotaMethod, times?: number): Promise<SpendResult>;
}

/**
 * The user's rolling minute, the project's rolling minute and the project's Pacific-time day, in
 * one atomic step: the call's units are taken from all three or from none. KEYS: user window, project
 * window, day counter (hashes of one-second slots; a counter). ARGV: cost, user limit, project
 * limit, day limit (0 = none), ms until the day ends. Answers {0, 0} when paid, else {which
 * (1 user, 2 project, 3 day), ms to wait}. The slots are stamped by Redis's own clock so workers on
 * several machines agree; the day key is named by the caller, since Lua has no time zones.
 */
const SPEND = `
local t = redis.call('TIME')
local second = tonumber(t[1])
local nowMs = second * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = tonumber(ARGV[1])
local span = ${WINDOW_SECONDS}
local dayLimit = tonumber(ARGV[4])
if dayLimit > 0 then
  local used = tonumber(redis.call('GET', KEYS[3]) or '0')
  if used > 0 and used + cost > dayLimit then return {3, tonumber(ARGV[5])} end
end
local limits = { tonumber(ARGV[2]), tonumber(ARGV[3]) }
for i = 1, 2 do
  local limit = limits[i]
  if limit > 0 then
    local flat = redis.call('HGETALL', KEYS[i])
    local used = 0
    local slots = {}
    for j = 1, #flat, 2 do
      local s = tonumber(flat[j])
      local units = tonumber(flat[j + 1])
      if s > second - span and s <= second then
        used = used + units
        slots[#slots + 1] = { s, units }
      else
        redis.call('HDEL', KEYS[i], flat[j])
      end
    end
    if used > 0 and used + cost > limit then
      table.sort(slots, function(a, b) return a[1] < b[1] end)
      local left = used
      for _, slot in ipairs(slots) do
        left = left - slot[2]
        if left == 0 or left + cost <= limit then return { i, (slot[1] + span) * 1000 - nowMs } end
      end
      return { i, span * 1000 }
    end
  end
end
for i = 1, 2 do
  if limits[i] > 0 then
    redis.call('HINCRBY', KEYS[i], second, cost)
    redis.call('EXPIRE', KEYS[i], span * 2)
  end
end
if dayLimit > 0 then
  redis.call('INCRBY', KEYS[3], cost)
  redis.call('EXPIRE', KEYS[3], 172800)
end
return { 0, 0 }
`;

const LIMIT_NAMES: Record<number, QuotaLimitName> = { 1: "user", 2: "project", 3: "day" };

type SpendingRedis = (Redis | Cluster) & {
  gmailQuotaSpend(
    user: string,
    project: string,
    day: string,
    cost: number,
    userLimit: number,
    projectLimit: number,
    dayLimit: number,
    msToMidnight: number,
  ): Promise<[number, number]>;
};

/**
 * Gmail's quota as the quota table gives it, shared by every worker and web node through Redis:
 * per user per minute, per project per minute and per project per day, each call paying the
 * table's cost for its method. The keys share the quota hash tag of core/redis.ts (`{<prefix>:quota}`
 * on a cluster), so the one script runs in one slot.
 */
export class GmailQuotaBudget {
  /**
   * This process's own windows, used while Redis cannot answer: a user's sync runs in one place
   * at a time (the task lease), so the per-user pace stays right; only the project's share is
   * then this process's alone.
   */
  private readonly local = new Map<string, MinuteWindow>();
  private readonly localProject: MinuteWindow;
  private readonly localDay = { name: "", used: 0 };
  private readonly keys: QuotaKeys;

  constructor(
    private readonly redis: Redis | Cluster,
    keys: string | QuotaKeys,
    private readonly table: GmailQuotaTable,
    private readonly now: () => number = Date.now,
  ) {
    this.keys =
      typeof keys === "string"
        ? { quotaUser: (userId) => `${keys}:quota:user:${userId}`, quotaProject: `${keys}:quota:project` }
        : keys;
    redis.defineCommand("gmailQuotaSpend", { numberOfKeys: 3, lua: SPEND });
    this.localProject = new MinuteWindow(table.projectUnitsPerMinute, now);
  }

  get enabled(): boolean {
    const t = this.table;
    return t.userUnitsPerMinute > 0 || t.projectUnitsPerMinute > 0 || t.projectUnitsPerDay > 0;
  }

  /** What `times` calls of `method` cost. */
  cost(method: QuotaMethod, times = 1): number {
    return this.table.costs[method] * Math.max(1, times);
  }

  private spendLocally(userId: string, units: number, day: string, msToMidnight: number): SpendResult {
    if (this.localDay.name !== day) Object.assign(this.localDay, { name: day, used: 0 });
    const perDay = this.table.projectUnitsPerDay;
    if (perDay > 0 && this.localDay.used > 0 && this.localDay.used + units > perDay) {
      return { ok: false, waitMs: msToMidnight, limit: "day" };
    }
    let window = this.local.get(userId);
    if (!window) {
      if (this.local.size > 10_000) this.local.clear();
      window = new MinuteWindow(this.table.userUnitsPerMinute, this.now);
      this.local.set(userId, window);
    }
    const userWait = window.take(units);
    if (userWait > 0) return { ok: false, waitMs: userWait, limit: "user" };
    const projectWait = this.localProject.take(units);
    if (projectWait > 0) {
      window.refund(units);
      return { ok: false, waitMs: projectWait, limit: "project" };
    }
    this.localDay.used += units;
    return { ok: true };
  }

  /** Takes `units` from the user's, the project's and the day's budgets at once, or none. */
  async spendUnits(userId: string, units: number): Promise<SpendResult> {
    const now = this.now();
    const day = pacificDay(now);
    const msToMidnight = nextPacificMidnight(now) - now;
    const t = this.table;
    try {
      const [which, wait] = await (this.redis as SpendingRedis).gmailQuotaSpend(
        this.keys.quotaUser(userId),
        this.keys.quotaProject,
        `${this.keys.quotaProject}:day:${day}`,
        units,
        t.userUnitsPerMinute,
        t.projectUnitsPerMinute,
        t.projectUnitsPerDay,
        msToMidnight,
      );
      return which === 0
        ? { ok: true }
        : { ok: false, waitMs: Math.max(1, wait), limit: LIMIT_NAMES[which]! };
    } catch {
      // Redis is unreachable: the sync goes on at the same pace from this process's own windows.
      return this.spendLocally(userId, units, day, msToMidnight);
    }
  }

  /** The gate for one Gmail user's sync; `take` waits until every budget can pay. */
  forUser(userId: string): QuotaBudgetGate {
    const limits = [this.table.userUnitsPerMinute, this.table.projectUnitsPerMinute].filter((l) => l > 0);
    // Units no window could ever hold at once are paid in window-sized parts.
    const most = limits.length ? Math.min(...limits) : Number.POSITIVE_INFINITY;
    const pay = async (
      units: number,
      signal?: AbortSignal,
      onWait?: (until: number, limit?: QuotaLimitName) => void,
    ) => {
      for (;;) {
        const result = await this.spendUnits(userId, units);
        if (result.ok) return;
        onWait?.(Date.now() + result.waitMs, result.limit);
        await sleep(result.waitMs, undefined, { signal });
      }
    };
    return {
      spend: (method, times = 1) => this.spendUnits(userId, this.cost(method, times)),
      take: async (method, signal, onWait, times = 1) => {
        let units = this.cost(method, times);
        while (units > most) {
          await pay(most, signal, onWait);
          units -= most;
        }
        await pay(units, signal, onWait);
      },
    };
  }
}
