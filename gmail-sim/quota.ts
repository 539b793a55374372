/**
 * Gmail's usage limits, enforced: per account and per project, by the second (token buckets, the
 * `legacy` model), by the minute and by the day (the `2026` model). Every limit reads Gmail's
 * clock (`PUT /sim/clock`), so a test crosses a minute or a day by moving it.
 *
 * Per-minute quotas are a rolling window of sixty one-second slots: a call is admitted when the
 * units spent in the current second and the 59 before it, plus its own cost, stay within the
 * limit. Google meters "per minute" quotas over a moving minute rather than a calendar minute, so
 * a burst at :59 does not buy a fresh minute at :00. Daily quotas reset at midnight Pacific Time,
 * as Google documents. A refused call is charged nothing.
 */
import { type QuotaSettings, unlimited } from "./quotaSettings";
import type { GmailMethod } from "./stats";

export type QuotaReason = "userRateLimitExceeded" | "rateLimitExceeded" | "dailyLimitExceeded";

export type QuotaVerdict =
  | { ok: true; cost: number }
  | { ok: false; cost: number; reason: QuotaReason; retryAfterSeconds: number };

class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    now: number,
  ) {
    this.tokens = rate;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate);
    }
    // A clock set back refills nothing but does not stall the bucket until it catches up.
    this.last = now;
  }

  /** 0 when `cost` units are there now (a full bucket always admits one call), else seconds to wait. */
  wait(cost: number, now: number): number {
    this.refill(now);
    const need = Math.min(cost, this.rate);
    return this.tokens >= need ? 0 : Math.ceil((need - this.tokens) / this.rate);
  }

  take(cost: number): void {
    this.tokens -= cost;
  }
}

/** A rolling minute of sixty one-second slots. */
class MinuteWindow {
  private readonly units = new Float64Array(60);
  private readonly seconds = new Float64Array(60).fill(Number.NEGATIVE_INFINITY);

  constructor(private readonly limit: number) {}

  /** Units spent in the minute ending with second `at` (slots stamped later, after a clock set back, count for nothing). */
  private usedAt(at: number, now: number): number {
    let sum = 0;
    for (let i = 0; i < 60; i++) {
      const s = this.seconds[i]!;
      if (s > at - 60 && s <= now) sum += this.units[i]!;
    }
    return sum;
  }

  /** 0 when `cost` fits now (an empty window always admits one call), else whole seconds until it does. */
  wait(cost: number, nowMs: number): number {
    const now = Math.floor(nowMs / 1000);
    const used = this.usedAt(now, now);
    if (used === 0 || used + cost <= this.limit) return 0;
    for (let k = 1; k < 60; k++) {
      const later = this.usedAt(now + k, now);
      if (later === 0 || later + cost <= this.limit) return k;
    }
    return 60;
  }

  take(cost: number, nowMs: number): void {
    const now = Math.floor(nowMs / 1000);
    const i = now % 60;
    if (this.seconds[i] !== now) {
      this.seconds[i] = now;
      this.units[i] = 0;
    }
    this.units[i]! += cost;
  }

  used(nowMs: number): number {
    const now = Math.floor(nowMs / 1000);
    return this.usedAt(now, now);
  }
}

const PACIFIC = new Intl.DateTimeFormat("en-US", {
  timeZone: "America/Los_Angeles",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

function pacificParts(ms: number): { y: number; m: number; d: number; wall: number } {
  const p: Record<string, number> = {};
  for (const part of PACIFIC.formatToParts(ms))
    if (part.type !== "literal") p[part.type] = Number(part.value);
  const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return { y: p.year!, m: p.month!, d: p.day!, wall };
}

/** The Pacific-time date of an instant, `YYYY-MM-DD`: the day a daily quota is counted in. */
export function pacificDay(ms: number): string {
  const { y, m, d } = pacificParts(ms);
  return `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/** The instant of the next midnight in Pacific Time (PST or PDT, whichever holds then). */
export function nextPacificMidnight(ms: number): number {
  const { y, m, d } = pacificParts(ms);
  const midnightWall = Date.UTC(y, m - 1, d + 1);
  const offsetAt = (instant: number) => pacificParts(instant).wall - Math.floor(instant / 1000) * 1000;
  const guess = midnightWall - offsetAt(ms);
  // The offset may change between now and midnight (a DST switch at 02:00 the same night).
  return midnightWall - offsetAt(guess);
}

export interface QuotaUsage {
  day: string;
  projectUnitsToday: number;
  projectUnitsLastMinute: number;
  userUnitsLastMinute: Record<string, number>;
}

export class QuotaLimiter {
  private settings: QuotaSettings = unlimited();
  private projectBucket: TokenBucket | undefined;
  private projectMinute: MinuteWindow | undefined;
  private readonly userBuckets = new Map<string, TokenBucket>();
  private readonly userMinutes = new Map<string, MinuteWindow>();
  private day = { name: "", used: 0, from: 0, until: 0 };

  constructor(private readonly now: () => number = Date.now) {}

  get current(): QuotaSettings {
    return { ...this.settings, costs: { ...this.settings.costs } };
  }

  /** New settings; every bucket and window starts full, the day's count from zero. */
  set(settings: QuotaSettings): void {
    this.settings = { ...settings, costs: { ...settings.costs } };
    this.userBuckets.clear();
    this.userMinutes.clear();
    const now = this.now();
    const { projectUnitsPerSecond: perSecond, projectUnitsPerMinute: perMinute } = settings;
    this.projectBucket = perSecond === null ? undefined : new TokenBucket(perSecond, now);
    this.projectMinute = perMinute === null ? undefined : new MinuteWindow(perMinute);
    this.day = { name: "", used: 0, from: 0, until: 0 };
    this.rollDay(now);
  }

  clear(): void {
    this.set(unlimited());
  }

  usage(): QuotaUsage {
    const now = this.now();
    this.rollDay(now);
    const users: Record<string, number> = {};
    for (const [account, window] of this.userMinutes) users[account] = window.used(now);
    return {
      day: this.day.name,
      projectUnitsToday: this.day.used,
      projectUnitsLastMinute: this.projectMinute?.used(now) ?? 0,
      userUnitsLastMinute: users,
    };
  }

  /** Starts a new day's count once Pacific midnight has passed (or the clock was set back across one). */
  private rollDay(now: number): void {
    if (now >= this.day.from && now < this.day.until) return;
    const name = pacificDay(now);
    if (name === this.day.name) this.day.from = Math.min(this.day.from, now);
    else this.day = { name, used: 0, from: now, until: nextPacificMidnight(now) };
  }

  private userLimits(account: string, now: number): [TokenBucket | undefined, MinuteWindow | undefined] {
    const { userUnitsPerSecond: perSecond, userUnitsPerMinute: perMinute } = this.settings;
    let bucket = this.userBuckets.get(account);
    if (!bucket && perSecond !== null) {
      bucket = new TokenBucket(perSecond, now);
      this.userBuckets.set(account, bucket);
    }
    let window = this.userMinutes.get(account);
    if (!window && perMinute !== null) {
      window = new MinuteWindow(perMinute);
      this.userMinutes.set(account, window);
    }
    return [bucket, window];
  }

  /**
   * Charges one call of `method` to `account` against every limit at once, or says which limit
   * refuses it (the day's first, then the user's, then the project's) and in how many seconds it
   * would be admitted; a refused call is charged nothing.
   */
  charge(account: string, method: GmailMethod): QuotaVerdict {
    const cost = this.settings.costs[method];
    const s = this.settings;
    const limited =
      s.projectUnitsPerDay !== null ||
      s.userUnitsPerSecond !== null ||
      s.userUnitsPerMinute !== null ||
      this.projectBucket !== undefined ||
      this.projectMinute !== undefined;
    if (!limited) return { ok: true, cost };
    const now = this.now();
    this.rollDay(now);
    const perDay = this.settings.projectUnitsPerDay;
    if (perDay !== null && this.day.used > 0 && this.day.used + cost > perDay) {
      const retryAfterSeconds = Math.ceil((nextPacificMidnight(now) - now) / 1000);
      return { ok: false, cost, reason: "dailyLimitExceeded", retryAfterSeconds };
    }
    const [userBucket, userMinute] = this.userLimits(account, now);
    const userWait = Math.max(userBucket?.wait(cost, now) ?? 0, userMinute?.wait(cost, now) ?? 0);
    if (userWait > 0)
      return { ok: false, cost, reason: "userRateLimitExceeded", retryAfterSeconds: userWait };
    const projectWait = Math.max(
      this.projectBucket?.wait(cost, now) ?? 0,
      this.projectMinute?.wait(cost, now) ?? 0,
    );
    if (projectWait > 0)
      return { ok: false, cost, reason: "rateLimitExceeded", retryAfterSeconds: projectWait };
    userBucket?.take(cost);
    userMinute?.take(cost, now);
    this.projectBucket?.take(cost);
    this.projectMinute?.take(cost, now);
    this.day.used += cost;
    return { ok: true, cost };
  }
}
