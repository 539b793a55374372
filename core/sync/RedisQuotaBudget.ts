import { setTimeout as sleep } from "node:timers/promises";
import type { Cluster, Redis } from "ioredis";
import { DailyBudgetSpentError } from "../errors";
import {
  type GmailQuotaTable,
  nextPacificMidnight,
  pacificDay,
  type QuotaMethod,
} from "../gmail/quotaProfile";
import { LearnedLimits, redisLearnedStore } from "./LearnedLimits";
import { MinuteWindow, WINDOW_SECONDS } from "./MinuteWindow";
import {
  type GmailMethod,
  type QuotaGate,
  type QuotaLimitName,
  type QuotaObserver,
  REASON_OF_LIMIT,
} from "./QuotaGate";

/**
 * The part of the project's day first syncs may spend: the rest (5%) is kept so incremental and
 * push syncs keep every mailbox current once big first syncs have used the day up.
 */
export const FIRST_SYNC_DAY_SHARE = 0.95;

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
  forFullSync(): QuotaBudgetGate;
}

/**
 * The user's rolling minute, the project's rolling minute and the project's Pacific-time day, in
 * one atomic step: the call's units are taken from all three or from none. KEYS: user window, project
 * window, day counter (hashes of one-second slots; a counter), the user's first-sync units today,
 * the set of users whose first syncs compete today, the hash of users that left (parked, or
 * finished: user id → units spent by then) and its total. ARGV: cost, user limit, project limit, day limit (0 = none),
 * ms until the day ends, first-sync day limit (0 = not a first sync), user id.
 * Answers {0, 0} when paid, else {which (1 user, 2 project, 3 day, 4 first syncs' part of the
 * day, 5 this user's fair share of that part), ms to wait}. A user's fair share is what the
 * users that left have not spent of the first syncs' part ÷ the users still competing: a second
 * big mailbox halves the first's, and a user that parks (a first-sync refusal parks the task
 * until the reset) or finishes hands what it did not spend to the others. The slots are stamped by Redis's own clock so workers on
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
local firstLimit = tonumber(ARGV[6])
if firstLimit > 0 then
  local user = ARGV[7]
  local mine = tonumber(redis.call('GET', KEYS[4]) or '0')
  -- A user that left (parked, or its first sync finished) and spends again competes again,
  -- with what it spent.
  local gone = redis.call('HGET', KEYS[6], user)
  if gone then
    redis.call('HDEL', KEYS[6], user)
    redis.call('DECRBY', KEYS[7], gone)
  end
  local park = function(which)
    redis.call('SREM', KEYS[5], user)
    redis.call('HSET', KEYS[6], user, mine)
    redis.call('INCRBY', KEYS[7], mine)
    redis.call('EXPIRE', KEYS[6], 172800)
    redis.call('EXPIRE', KEYS[7], 172800)
    return { which, tonumber(ARGV[5]) }
  end
  local used = tonumber(redis.call('GET', KEYS[3]) or '0')
  if used + cost > firstLimit then return park(4) end
  redis.call('SADD', KEYS[5], user)
  redis.call('EXPIRE', KEYS[5], 172800)
  local left = firstLimit - tonumber(redis.call('GET', KEYS[7]) or '0')
  local share = left / redis.call('SCARD', KEYS[5])
  if mine > 0 and mine + cost > share then return park(5) end
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
if firstLimit > 0 then
  redis.call('INCRBY', KEYS[4], cost)
  redis.call('EXPIRE', KEYS[4], 172800)
end
return { 0, 0 }
`;

/**
 * A user's first sync finished: it leaves the users competing for the first syncs' part of the
 * day with what it spent (as SPEND's park). KEYS: the competing set, the left hash and its total,
 * the user's first-sync units today. ARGV: user id.
 */
const LEAVE = `
local user = ARGV[1]
if redis.call('SREM', KEYS[1], user) == 0 then return 0 end
local mine = tonumber(redis.call('GET', KEYS[4]) or '0')
redis.call('HSET', KEYS[2], user, mine)
redis.call('INCRBY', KEYS[3], mine)
redis.call('EXPIRE', KEYS[2], 172800)
redis.call('EXPIRE', KEYS[3], 172800)
return 1
`;

const LIMIT_NAMES: Record<number, QuotaLimitName> = { 1: "user", 2: "project", 3: "day", 4: "day", 5: "day" };

type SpendingRedis = (Redis | Cluster) & {
  gmailQuotaSpend(
    user: string,
    project: string,
    day: string,
    userDay: string,
    firstSyncUsers: string,
    leftUsers: string,
    leftUnits: string,
    cost: number,
    userLimit: number,
    projectLimit: number,
    dayLimit: number,
    msToMidnight: number,
    firstSyncDayLimit: number,
    userId: string,
  ): Promise<[number, number]>;
  gmailQuotaLeave(
    competing: string,
    left: string,
    leftUnits: string,
    userDay: string,
    userId: string,
  ): Promise<number>;
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
  /** The share of the table's per-minute limits Google's refusals say it really grants. */
  readonly learned: LearnedLimits;
  /** Told of every unit spent and refused. */
  observer: QuotaObserver | undefined;

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
    redis.defineCommand("gmailQuotaSpend", { numberOfKeys: 7, lua: SPEND });
    redis.defineCommand("gmailQuotaLeave", { numberOfKeys: 4, lua: LEAVE });
    this.localProject = new MinuteWindow(table.projectUnitsPerMinute, now);
    this.learned = new LearnedLimits(redisLearnedStore(redis), now);
  }

  get enabled(): boolean {
    const t = this.table;
    return t.userUnitsPerMinute > 0 || t.projectUnitsPerMinute > 0 || t.projectUnitsPerDay > 0;
  }

  /**
   * Today's use of the project's daily budget, and the part `userId`'s first sync took (the
   * account's health); null without a daily limit or while Redis cannot answer.
   */
  async dayUsage(userId: string): Promise<{
    projectUnitsToday: number;
    projectUnitsPerDay: number;
    firstSyncUnitsToday: number;
    resetsAt: Date;
  } | null> {
    if (this.table.projectUnitsPerDay <= 0) return null;
    const now = this.now();
    const day = pacificDay(now);
    try {
      const [project, user] = await Promise.all([
        this.redis.get(`${this.keys.quotaProject}:day:${day}`),
        this.redis.get(`${this.keys.quotaUser(userId)}:day:${day}`),
      ]);
      return {
        projectUnitsToday: Number(project ?? 0),
        projectUnitsPerDay: this.table.projectUnitsPerDay,
        firstSyncUnitsToday: Number(user ?? 0),
        resetsAt: new Date(nextPacificMidnight(now)),
      };
    } catch {
      return null;
    }
  }

  /** Where a budget's learned share lives: the project's minute (null), or a user's. */
  learnedKey(userId: string | null): string {
    return userId === null ? `${this.keys.quotaProject}:learned` : `${this.keys.quotaUser(userId)}:learned`;
  }

  private async learnedLimit(tableValue: number, key: string): Promise<number> {
    if (tableValue <= 0) return 0;
    return Math.max(1, Math.floor(tableValue * (await this.learned.factor(key))));
  }

  /** What `times` calls of `method` cost. */
  cost(method: QuotaMethod, times = 1): number {
    return this.table.costs[method] * Math.max(1, times);
  }

  /** What first syncs may spend of the day in all; 0 = no daily limit. */
  private get firstSyncDayLimit(): number {
    return Math.floor(this.table.projectUnitsPerDay * FIRST_SYNC_DAY_SHARE);
  }

  /** As the script, without the fair share: this process cannot see the other users' first syncs. */
  private spendLocally(
    userId: string,
    units: number,
    day: string,
    msToMidnight: number,
    firstSync: boolean,
  ): SpendResult {
    if (this.localDay.name !== day) Object.assign(this.localDay, { name: day, used: 0 });
    const perDay = firstSync ? this.firstSyncDayLimit : this.table.projectUnitsPerDay;
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

  /**
   * Takes `units` from the user's, the project's and the day's budgets at once, or none. A first
   * sync's units also stay within the first syncs' part of the day and the user's fair share of it.
   */
  async spendUnits(userId: string, units: number, firstSync = false): Promise<SpendResult> {
    const now = this.now();
    const day = pacificDay(now);
    const msToMidnight = nextPacificMidnight(now) - now;
    const t = this.table;
    try {
      const [which, wait] = await (this.redis as SpendingRedis).gmailQuotaSpend(
        this.keys.quotaUser(userId),
        this.keys.quotaProject,
        `${this.keys.quotaProject}:day:${day}`,
        `${this.keys.quotaUser(userId)}:day:${day}`,
        `${this.keys.quotaProject}:day:${day}:first-sync-users`,
        `${this.keys.quotaProject}:day:${day}:first-sync-left`,
        `${this.keys.quotaProject}:day:${day}:first-sync-left-units`,
        units,
        await this.learnedLimit(t.userUnitsPerMinute, this.learnedKey(userId)),
        await this.learnedLimit(t.projectUnitsPerMinute, this.learnedKey(null)),
        t.projectUnitsPerDay,
        msToMidnight,
        firstSync ? this.firstSyncDayLimit : 0,
        userId,
      );
      return which === 0
        ? { ok: true }
        : { ok: false, waitMs: Math.max(1, wait), limit: LIMIT_NAMES[which]! };
    } catch {
      // Redis is unreachable: the sync goes on at the same pace from this process's own windows.
      return this.spendLocally(userId, units, day, msToMidnight, firstSync);
    }
  }

  /**
   * The user's first sync finished: it stops competing for today's first-sync part, so the users
   * still running share what it did not spend. Nothing happens while Redis cannot answer.
   */
  async fullSyncEnded(userId: string): Promise<void> {
    if (this.table.projectUnitsPerDay <= 0) return;
    const day = `${this.keys.quotaProject}:day:${pacificDay(this.now())}`;
    await (this.redis as SpendingRedis)
      .gmailQuotaLeave(
        `${day}:first-sync-users`,
        `${day}:first-sync-left`,
        `${day}:first-sync-left-units`,
        `${this.keys.quotaUser(userId)}:day:${pacificDay(this.now())}`,
        userId,
      )
      .catch(() => {});
  }

  /**
   * The gate for one Gmail user's sync; `take` waits until every budget can pay. Its first-sync
   * gate (`forFullSync`) stops with DailyBudgetSpentError instead of waiting for the day's reset,
   * so the task is parked rather than holding a worker until midnight.
   */
  forUser(userId: string, firstSync = false): QuotaBudgetGate {
    const limits = [this.table.userUnitsPerMinute, this.table.projectUnitsPerMinute].filter((l) => l > 0);
    // Units no window could ever hold at once are paid in window-sized parts.
    const most = limits.length ? Math.min(...limits) : Number.POSITIVE_INFINITY;
    const pay = async (
      method: GmailMethod,
      units: number,
      signal?: AbortSignal,
      onWait?: (until: number, limit?: QuotaLimitName) => void,
    ) => {
      for (;;) {
        const result = await this.spendUnits(userId, units, firstSync);
        if (result.ok) return void this.observer?.spent(method, units);
        this.observer?.refused(method, units, REASON_OF_LIMIT[result.limit], "gate");
        if (firstSync && result.limit === "day")
          throw new DailyBudgetSpentError(nextPacificMidnight(this.now()));
        onWait?.(Date.now() + result.waitMs, result.limit);
        await sleep(result.waitMs, undefined, { signal });
      }
    };
    const gate: QuotaBudgetGate = {
      spend: (method, times = 1) => this.spendUnits(userId, this.cost(method, times), firstSync),
      forFullSync: () => (firstSync ? gate : this.forUser(userId, true)),
      fullSyncEnded: () => this.fullSyncEnded(userId),
      refused: async (limit, method) => {
        if (method) this.observer?.refused(method, this.cost(method), REASON_OF_LIMIT[limit], "gmail");
        if (limit !== "day") await this.learned.refused(this.learnedKey(limit === "user" ? userId : null));
      },
      take: async (method, signal, onWait, times = 1) => {
        let units = this.cost(method, times);
        while (units > most) {
          await pay(method, most, signal, onWait);
          units -= most;
        }
        await pay(method, units, signal, onWait);
      },
    };
    return gate;
  }
}
