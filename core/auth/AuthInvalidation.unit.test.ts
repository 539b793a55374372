import { EventEmitter } from "node:events";
import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import type { Logger } from "../logger";
import { AuthInvalidation, invalidationChannel } from "./AuthInvalidation";
import { PrincipalCache } from "./PrincipalCache";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const silent = { warn() {}, debug() {} } as unknown as Logger;

/** A subscriber connection as ioredis shows one: events, a status and `subscribe`. */
class FakeSubscriber extends EventEmitter {
  status = "connecting";
  subscribed: string[] = [];
  async subscribe(channel: string) {
    this.subscribed.push(channel);
    return 1;
  }
  disconnect() {
    this.status = "end";
    this.emit("close");
  }
}

function setup(publish: (channel: string, message: string) => Promise<number>) {
  // A fake clock: entries are put at T0 and read at whatever instant a step names.
  let clock = T0;
  const cache = new PrincipalCache({ ttlMs: 30_000, fallbackTtlMs: 2_000, now: () => clock });
  const subscriber = new FakeSubscriber();
  const bus = new AuthInvalidation(
    cache,
    { publish } as unknown as Redis,
    subscriber as unknown as Redis,
    "pfx",
    silent,
  );
  const put = (key: string, userId: string) => {
    clock = T0;
    cache.set(
      key,
      {
        principal: { userId, sessionId: `s-${userId}`, via: "session" },
        expiresAt: null,
        lastSeenAt: new Date(T0),
        touchedAt: T0,
      },
      cache.epoch(),
    );
  };
  const getAt = (key: string, time = T0) => {
    clock = time;
    return cache.get(key);
  };
  return { cache, subscriber, bus, put, getAt };
}

describe("AuthInvalidation", () => {
  it("listens (30 s entries) once subscribed, and falls back to 2 s entries, cache emptied, while the connection is down", async () => {
    const { cache, subscriber, put, getAt } = setup(async () => 1);
    expect(cache.listening).toBe(false);
    subscriber.status = "ready";
    subscriber.emit("ready");
    await new Promise((r) => setImmediate(r));
    expect(subscriber.subscribed).toEqual([invalidationChannel("pfx")]);
    expect(cache.listening).toBe(true);
    put("a", "u1");
    expect(getAt("a", T0 + 10_000)).toBeDefined();

    subscriber.emit("close");
    expect(cache.listening).toBe(false);
    expect(getAt("a")).toBeUndefined();
    put("a", "u1");
    expect(getAt("a", T0 + 2_000)).toBeUndefined();

    subscriber.emit("ready");
    await new Promise((r) => setImmediate(r));
    expect(cache.listening).toBe(true);
  });

  it("drops what another node announces, and everything when a message cannot be read", async () => {
    const { cache, subscriber, put, getAt } = setup(async () => 1);
    subscriber.emit("ready");
    await new Promise((r) => setImmediate(r));
    put("a", "u1");
    put("b", "u2");
    subscriber.emit("message", invalidationChannel("other"), JSON.stringify({ users: ["u1"] }));
    expect(getAt("a")).toBeDefined();
    subscriber.emit("message", invalidationChannel("pfx"), JSON.stringify({ users: ["u1"] }));
    expect(getAt("a")).toBeUndefined();
    expect(getAt("b")).toBeDefined();
    subscriber.emit("message", invalidationChannel("pfx"), "{not json");
    expect(cache.size).toBe(0);
  });

  it("publishes what ended and drops it here first; a failed publish does not fail the caller", async () => {
    const sent: Array<[string, string]> = [];
    const { bus, put, subscriber, getAt } = setup(async (channel, message) => {
      sent.push([channel, message]);
      return 1;
    });
    subscriber.emit("ready");
    await new Promise((r) => setImmediate(r));
    put("a", "u1");
    await bus.publish({ sessions: ["s-u1"] });
    expect(getAt("a")).toBeUndefined();
    expect(sent).toEqual([[invalidationChannel("pfx"), JSON.stringify({ sessions: ["s-u1"] })]]);

    const failing = setup(async () => {
      throw new Error("Connection is closed.");
    });
    failing.put("a", "u1");
    await expect(failing.bus.publish({ users: ["u1"] })).resolves.toBeUndefined();
    expect(failing.getAt("a")).toBeUndefined();
  });

  it("a publish refused while the client is not ready yet is tried again until Redis takes it, once", async () => {
    let refusals = 3;
    const sent: string[] = [];
    const { bus } = setup(async (_channel, message) => {
      if (refusals-- > 0) throw new Error("Cluster isn't ready and enableOfflineQueue options is false");
      sent.push(message);
      return 1;
    });
    await bus.publish({ sessions: ["s-u1"] });
    expect(sent).toEqual([JSON.stringify({ sessions: ["s-u1"] })]);
  });
});
