import type { Cluster, Redis } from "ioredis";

/**
 * What the quota table's limits are worth in practice, learned from Google's refusals: a fraction
 * of the table's value per budget (the project's minute, each user's). A refusal with a rate
 * reason cuts it (× DECREASE); each quiet minute after the last cut adds INCREASE back, up to the
 * table's value. Additive increase, multiplicative decrease, as TCP finds a link's capacity: the
 * gate settles just under what Google really grants without being told.
 */
export const DECREASE = 0.7;
export const INCREASE = 0.05;
/** The gate never plans with less than this share of the table: a limit that low is an outage. */
export const FLOOR = 0.1;
/** Refusals of one burst (every lane refused in the same second) cut once. */
export const SETTLE_MS = 1_000;

/** One budget's learned share of its table value, and when it was last cut (ms since the epoch). */
export interface Learned {
  factor: number;
  at: number;
}

/** The share a learned state allows at `now`: recovered by one INCREASE per quiet minute. */
export function factorAt(state: Learned | null, now: number): number {
  if (!state) return 1;
  const quietMinutes = Math.max(0, Math.floor((now - state.at) / 60_000));
  return Math.min(1, state.factor + quietMinutes * INCREASE);
}

/** The state after a refusal at `now`: a cut from what was allowed then, unless one just happened. */
export function afterRefusal(state: Learned | null, now: number): Learned {
  if (state && now - state.at < SETTLE_MS) return state;
  return { factor: Math.max(FLOOR, factorAt(state, now) * DECREASE), at: now };
}

/** Where learned states live: Redis, so every worker plans with the same ones. */
export interface LearnedStore {
  get(key: string): Promise<Learned | null>;
  set(key: string, value: Learned): Promise<void>;
}

/** A learned state forgets itself once fully recovered: (1 − FLOOR) ÷ INCREASE minutes at most. */
const TTL_SECONDS = Math.ceil(((1 - FLOOR) / INCREASE + 1) * 60);

export function redisLearnedStore(redis: Redis | Cluster): LearnedStore {
  return {
    async get(key) {
      const raw = await redis.get(key);
      if (!raw) return null;
      const [factor, at] = raw.split(":").map(Number);
      return Number.isFinite(factor) && Number.isFinite(at) ? { factor: factor!, at: at! } : null;
    },
    async set(key, value) {
      // Two workers cutting at once both write about the same cut: the last write stands.
      await redis.set(key, `${value.factor}:${value.at}`, "EX", TTL_SECONDS);
    },
  };
}

/**
 * The learned limits of one deployment, read through a one-second cache so the gate does not
 * ask Redis twice more per call; a refusal is written at once.
 */
export class LearnedLimits {
  private readonly cache = new Map<string, { state: Learned | null; read: number }>();

  constructor(
    private readonly store: LearnedStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** The share of the table `key`'s budget may plan with now (1 = the table's value). */
  async factor(key: string): Promise<number> {
    const now = this.now();
    let cached = this.cache.get(key);
    if (!cached || now - cached.read >= 1_000) {
      if (this.cache.size > 10_000) this.cache.clear();
      cached = { state: await this.store.get(key).catch(() => cached?.state ?? null), read: now };
      this.cache.set(key, cached);
    }
    return factorAt(cached.state, now);
  }

  /** Google refused a call on `key`'s budget: plan with less from now on. */
  async refused(key: string): Promise<void> {
    const now = this.now();
    const current = await this.store.get(key).catch(() => this.cache.get(key)?.state ?? null);
    const next = afterRefusal(current, now);
    this.cache.set(key, { state: next, read: now });
    if (next !== current) await this.store.set(key, next).catch(() => {});
  }
}
