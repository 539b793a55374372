import type { Principal } from "../services/SessionService";

/** What ended: sessions by id, API tokens by id, or everything of some users. */
export interface Invalidation {
  sessions?: string[];
  tokens?: string[];
  users?: string[];
}

/** A resolved session or token, kept so that the next request needs no database round trip. */
export interface CachedPrincipal {
  principal: Principal;
  /** The session's or token's own end; null for a token without one. */
  expiresAt: Date | null;
  /**
   * A lower bound of the session's last use (never later than the database's), so an idle check
   * against it can only end a session early, never keep one alive past its idle limit.
   */
  lastSeenAt: Date | null;
  /** When this node last wrote (or tried to write) the last use, for the once-a-minute rule. */
  touchedAt: number;
}

interface Slot {
  value: CachedPrincipal;
  until: number;
}

export interface PrincipalCacheOptions {
  /** How long an entry lives while invalidations reach this node. */
  ttlMs?: number;
  /** How long while they may not (Redis down or not configured): other nodes' logouts go unheard. */
  fallbackTtlMs?: number;
  /** Entries kept at most; the least recently used go first. */
  max?: number;
  /**
   * The clock entry lifetimes are read on (ms since the epoch; default `Date.now`). Tests move a
   * fake one past a lifetime instead of sleeping through it.
   */
  now?: () => number;
}

/**
 * An in-process, bounded, short-lived cache of resolved principals, keyed by the secret's SHA-256
 * (what the database looks up). Entries are dropped when an `Invalidation` arrives, from this node
 * or (through core/auth/AuthInvalidation.ts) any other. A lookup that raced an invalidation is not
 * cached: `epoch()` before the read, `set(…, epoch)` after it.
 */
export class PrincipalCache {
  private readonly slots = new Map<string, Slot>();
  private readonly ttlMs: number;
  private readonly fallbackTtlMs: number;
  private readonly max: number;
  private readonly now: () => number;
  private generation = 0;
  /** Whether every node's invalidations reach this one right now. */
  private heard = false;
  readonly stats = { hits: 0, misses: 0, invalidations: 0 };

  constructor(options: PrincipalCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.fallbackTtlMs = options.fallbackTtlMs ?? 2_000;
    this.max = options.max ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Whether invalidations from other nodes reach this one. Either way the entries go: while
   * deaf, this node may have missed some; from now on they live only `fallbackTtlMs`.
   */
  setListening(listening: boolean): void {
    this.heard = listening;
    this.clear();
  }

  get listening(): boolean {
    return this.heard;
  }

  epoch(): number {
    return this.generation;
  }

  get(key: string): CachedPrincipal | undefined {
    const now = this.now();
    const slot = this.slots.get(key);
    if (!slot) {
      this.stats.misses++;
      return undefined;
    }
    if (slot.until <= now || (slot.value.expiresAt && slot.value.expiresAt.getTime() <= now)) {
      this.slots.delete(key);
      this.stats.misses++;
      return undefined;
    }
    // Most recently used last, so the first key is the one to evict.
    this.slots.delete(key);
    this.slots.set(key, slot);
    this.stats.hits++;
    return slot.value;
  }

  /** Keeps `value` unless an invalidation arrived since `epoch` (the read may predate it). */
  set(key: string, value: CachedPrincipal, epoch: number): void {
    if (epoch !== this.generation) return;
    this.slots.delete(key);
    this.slots.set(key, { value, until: this.now() + (this.heard ? this.ttlMs : this.fallbackTtlMs) });
    while (this.slots.size > this.max) {
      const oldest = this.slots.keys().next().value;
      if (oldest === undefined) break;
      this.slots.delete(oldest);
    }
  }

  forget(what: Invalidation): void {
    this.generation++;
    this.stats.invalidations++;
    const sessions = new Set(what.sessions ?? []);
    const tokens = new Set(what.tokens ?? []);
    const users = new Set(what.users ?? []);
    for (const [key, { value }] of this.slots) {
      const p = value.principal;
      if (
        users.has(p.userId) ||
        (p.sessionId !== undefined && sessions.has(p.sessionId)) ||
        (p.tokenId !== undefined && tokens.has(p.tokenId))
      ) {
        this.slots.delete(key);
      }
    }
  }

  clear(): void {
    this.generation++;
    this.slots.clear();
  }

  get size(): number {
    return this.slots.size;
  }
}
