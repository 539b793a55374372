/**
 * Gmail's usage limits as token buckets: one per account (`userUnitsPerSecond`) and one for the
 * whole project (`projectUnitsPerSecond`). Buckets hold one second's units and refill continuously;
 * each call takes its method's cost in quota units.
 */
import type { GmailMethod } from "./stats";

/** Quota units per call, as Gmail documents them. */
export const METHOD_COST: Record<GmailMethod, number> = {
  "users.getProfile": 1,
  "messages.list": 5,
  "messages.get": 5,
  "history.list": 2,
  "labels.list": 1,
  "labels.get": 1,
  "messages.attachments.get": 5,
  "users.watch": 100,
  "users.stop": 50,
};

export interface QuotaSettings {
  userUnitsPerSecond: number | null;
  projectUnitsPerSecond: number | null;
}

export function parseQuotaSettings(body: Record<string, unknown>): QuotaSettings | string {
  const settings: QuotaSettings = { userUnitsPerSecond: null, projectUnitsPerSecond: null };
  for (const key of Object.keys(body)) {
    if (!(key in settings))
      return `Unknown field "${key}"; expected userUnitsPerSecond, projectUnitsPerSecond.`;
  }
  for (const key of ["userUnitsPerSecond", "projectUnitsPerSecond"] as const) {
    const value = body[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      return `${key} must be a positive number (or null for no limit).`;
    }
    settings[key] = value;
  }
  return settings;
}

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
      this.last = now;
    }
  }

  /** Whether `cost` units are available (a full bucket always admits one call, even a costly one). */
  canTake(cost: number, now: number): boolean {
    this.refill(now);
    return this.tokens >= Math.min(cost, this.rate);
  }

  take(cost: number): void {
    this.tokens -= cost;
  }
}

export type QuotaVerdict = "ok" | "user" | "project";

export class QuotaLimiter {
  private settings: QuotaSettings = { userUnitsPerSecond: null, projectUnitsPerSecond: null };
  private project: TokenBucket | undefined;
  private readonly users = new Map<string, TokenBucket>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  get current(): QuotaSettings {
    return { ...this.settings };
  }

  set(settings: QuotaSettings): void {
    this.settings = { ...settings };
    this.users.clear();
    this.project =
      settings.projectUnitsPerSecond === null
        ? undefined
        : new TokenBucket(settings.projectUnitsPerSecond, this.now());
  }

  clear(): void {
    this.set({ userUnitsPerSecond: null, projectUnitsPerSecond: null });
  }

  /** Charges one call of `method` to `account`, or says which limit refuses it (nothing is charged then). */
  charge(account: string, method: GmailMethod): QuotaVerdict {
    const userRate = this.settings.userUnitsPerSecond;
    if (userRate === null && !this.project) return "ok";
    const cost = METHOD_COST[method];
    const now = this.now();
    let user: TokenBucket | undefined;
    if (userRate !== null) {
      user = this.users.get(account);
      if (!user) {
        user = new TokenBucket(userRate, now);
        this.users.set(account, user);
      }
      if (!user.canTake(cost, now)) return "user";
    }
    if (this.project && !this.project.canTake(cost, now)) return "project";
    user?.take(cost);
    this.project?.take(cost);
    return "ok";
  }
}
