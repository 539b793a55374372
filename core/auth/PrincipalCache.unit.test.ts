import { beforeEach, describe, expect, it } from "vitest";
import type { CachedPrincipal } from "./PrincipalCache";
import { PrincipalCache } from "./PrincipalCache";

const T0 = Date.parse("2026-01-01T00:00:00Z");

const entry = (userId: string, extra: Partial<CachedPrincipal> = {}): CachedPrincipal => ({
  principal: { userId, sessionId: `s-${userId}`, csrfToken: "c", via: "session" },
  expiresAt: new Date(T0 + 86_400_000),
  lastSeenAt: new Date(T0),
  touchedAt: T0,
  ...extra,
});

describe("PrincipalCache", () => {
  /** The fake clock every cache here reads; a step sets it to the instant it happens at. */
  let clock = T0;
  const now = () => clock;
  const getAt = (cache: PrincipalCache, key: string, time: number) => {
    clock = time;
    return cache.get(key);
  };
  beforeEach(() => {
    clock = T0;
  });

  it("keeps an entry 30 s while invalidations are heard, and only 2 s while they are not", () => {
    const cache = new PrincipalCache({ ttlMs: 30_000, fallbackTtlMs: 2_000, now });
    cache.set("a", entry("u1"), cache.epoch());
    expect(getAt(cache, "a", T0 + 1_999)).toBeDefined();
    expect(getAt(cache, "a", T0 + 2_000)).toBeUndefined();

    cache.setListening(true);
    clock = T0;
    cache.set("a", entry("u1"), cache.epoch());
    expect(getAt(cache, "a", T0 + 29_999)).toBeDefined();
    expect(getAt(cache, "a", T0 + 30_000)).toBeUndefined();
  });

  it("never answers an entry at or past its own expiry, whatever its lifetime left", () => {
    const cache = new PrincipalCache({ now });
    cache.setListening(true);
    cache.set("a", entry("u1", { expiresAt: new Date(T0 + 5_000) }), cache.epoch());
    expect(getAt(cache, "a", T0 + 4_999)).toBeDefined();
    expect(getAt(cache, "a", T0 + 5_000)).toBeUndefined();
  });

  it("losing the Redis connection drops every entry: invalidations may have been missed", () => {
    const cache = new PrincipalCache({ now });
    cache.setListening(true);
    cache.set("a", entry("u1"), cache.epoch());
    cache.setListening(false);
    expect(cache.get("a")).toBeUndefined();
  });

  it("forgets by session, token or user, and nothing else", () => {
    const cache = new PrincipalCache({ now });
    cache.setListening(true);
    cache.set("s1", entry("u1"), cache.epoch());
    cache.set("s2", entry("u2"), cache.epoch());
    cache.set(
      "t1",
      entry("u3", { principal: { userId: "u3", tokenId: "tok", via: "token" } }),
      cache.epoch(),
    );
    cache.set("s4", entry("u4"), cache.epoch());
    cache.forget({ sessions: ["s-u1"], tokens: ["tok"], users: ["u2"] });
    expect(cache.get("s1")).toBeUndefined();
    expect(cache.get("s2")).toBeUndefined();
    expect(cache.get("t1")).toBeUndefined();
    expect(cache.get("s4")?.principal.userId).toBe("u4");
  });

  it("does not keep a lookup that an invalidation overtook (the read may predate the ending)", () => {
    const cache = new PrincipalCache({ now });
    cache.setListening(true);
    const before = cache.epoch();
    cache.forget({ sessions: ["s-u1"] });
    cache.set("s1", entry("u1"), before);
    expect(cache.get("s1")).toBeUndefined();
  });

  it("holds at most `max` entries, dropping the least recently used", () => {
    const cache = new PrincipalCache({ max: 2, now });
    cache.setListening(true);
    cache.set("a", entry("ua"), cache.epoch());
    cache.set("b", entry("ub"), cache.epoch());
    expect(cache.get("a")).toBeDefined();
    cache.set("c", entry("uc"), cache.epoch());
    expect(cache.size).toBe(2);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBeDefined();
    expect(cache.get("c")).toBeDefined();
  });
});
