import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { NextFunction, Request, Response } from "express";
import type { Cluster, Redis } from "ioredis";
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from "rate-limiter-flexible";
import type { Server, Socket } from "socket.io";
import type { Config, RateLimit } from "../../core/config";
import { AppError } from "../../core/errors";
import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents } from "../../core/events";
import type { Logger } from "../../core/logger";
import type { Principal } from "../../core/services/SessionService";
import { clientAddress, compileTrustProxy, type TrustProxy } from "../clientAddress";
import { bearerOf } from "./authenticate";
import { sendError } from "./errors";

/**
 * Every abuse limit of the web process, in one place. Counters live in Redis, so all web nodes
 * share them; when Redis cannot answer, each node counts in its own memory instead (so with N
 * nodes a caller may get up to N times the limit until Redis is back), and nothing is refused
 * just because Redis is down: the streaming fallback keeps working.
 *
 * A refusal is 429 `{"error":{"code":"rate_limited","message":"…"}}` with `Retry-After` in
 * whole seconds; on sockets it is a connect_error or a `task:subscribe` ack with that code.
 */

/** How long until the caller may try again, in whole seconds (at least 1). */
export interface Refusal {
  retryAfter: number;
}

const secondsOf = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

interface Store {
  redis: Redis | Cluster | null;
  prefix: string;
  logger: Logger;
}

/** One limit: at most `points` per key in each fixed window of `duration` seconds. */
export class Limit {
  private readonly limiter: RateLimiterAbstract;

  constructor(
    readonly name: string,
    readonly setting: RateLimit,
    private readonly store: Store,
    /** Per-node counting for keys that only ever reach one node (a socket's id). */
    where: "shared" | "local" = "shared",
  ) {
    const keyPrefix = `${store.prefix}:rl:${name}`;
    const memory = new RateLimiterMemory({ keyPrefix, points: setting.points, duration: setting.duration });
    this.limiter =
      store.redis && where === "shared"
        ? new RateLimiterRedis({
            storeClient: store.redis,
            // The client is ioredis, not node-redis: the library must use ioredis's call shapes.
            useRedisPackage: false,
            // The request client does not queue commands while offline; a client that is
            // reconnecting goes straight to the in-memory counters instead of erroring first.
            rejectIfRedisNotReady: true,
            keyPrefix,
            points: setting.points,
            duration: setting.duration,
            insuranceLimiter: memory,
          })
        : memory;
  }

  /** Spends a point for `key`; a refusal when none was left. */
  async take(key: string): Promise<Refusal | null> {
    try {
      await this.limiter.consume(key);
      return null;
    } catch (err) {
      if (err instanceof RateLimiterRes) return { retryAfter: secondsOf(err.msBeforeNext) };
      // Neither Redis nor the memory fallback could count: serving is better than failing.
      this.store.logger.warn({ err, limit: this.name }, "rate limit could not count");
      return null;
    }
  }

  /** A refusal when `key` has already spent every point; spends nothing. */
  async spent(key: string): Promise<Refusal | null> {
    const res = await this.limiter.get(key).catch(() => null);
    return res && res.consumedPoints >= this.setting.points
      ? { retryAfter: secondsOf(res.msBeforeNext) }
      : null;
  }
}

/**
 * Holds a slot while the slot's owner lives: an entry per open stream in a Redis sorted set per
 * user, scored by when it lapses. Each script touches that one key (and the counters of `Limit`
 * one key per call), so on a Redis Cluster every call runs in the key's own slot. An open stream renews its entry; a web node that dies without
 * releasing leaves entries that lapse within `ttlMs`, so a crash never locks a user out for long.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[2]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1
`;

type SlotRedis = (Redis | Cluster) & {
  rlSlotAcquire(key: string, max: number, ttlMs: number, member: string): Promise<number>;
  rlSlotRenew(key: string, ttlMs: number, member: string): Promise<number>;
};

/** A held slot; `release` is safe to call more than once. */
export interface Slot {
  release(): void;
}

/** At most `max` slots per key at once, across every web node. */
export class ConcurrencyLimit {
  /** Slots this node holds in memory because Redis could not answer when they were taken. */
  private readonly local = new Map<string, Set<string>>();
  private readonly redis: SlotRedis | null;

  constructor(
    readonly name: string,
    readonly max: number,
    private readonly store: Store,
    private readonly ttlMs = 60_000,
    /** What a refused caller is told: nobody knows when another stream will end. */
    readonly retryAfter = 10,
  ) {
    this.redis = store.redis as SlotRedis | null;
    this.redis?.defineCommand("rlSlotAcquire", { numberOfKeys: 1, lua: ACQUIRE });
    this.redis?.defineCommand("rlSlotRenew", { numberOfKeys: 1, lua: RENEW });
  }

  /** A slot for `key`, or a refusal when `max` are already held. */
  async acquire(key: string): Promise<Slot | Refusal> {
    const member = randomUUID();
    const redisKey = `${this.store.prefix}:rl:${this.name}:${key}`;
    const redis = this.redis;
    if (redis && redis.status === "ready") {
      try {
        const got = await redis.rlSlotAcquire(redisKey, this.max, this.ttlMs, member);
        if (got !== 1) return { retryAfter: this.retryAfter };
        const renew = setInterval(() => {
          redis.rlSlotRenew(redisKey, this.ttlMs, member).catch(() => {});
        }, this.ttlMs / 3);
        renew.unref();
        let held = true;
        return {
          release: () => {
            if (!held) return;
            held = false;
            clearInterval(renew);
            // If Redis is away now, the entry lapses on its own within ttlMs.
            redis.zrem(redisKey, member).catch(() => {});
          },
        };
      } catch (err) {
        this.store.logger.debug({ err, limit: this.name }, "slot not taken in Redis; counting locally");
      }
    }
    const held = this.local.get(key) ?? new Set<string>();
    if (held.size >= this.max) return { retryAfter: this.retryAfter };
    held.add(member);
    this.local.set(key, held);
    return {
      release: () => {
        held.delete(member);
        if (held.size === 0 && this.local.get(key) === held) this.local.delete(key);
      },
    };
  }
}

/** The limits of one web node; build them with `rateLimitsFor(ctx)`. */
export class RateLimits {
  /** Per IP: `GET /auth/google` and `GET /auth/google/callback`, each request one point. */
  readonly signIn: Limit;
  /**
   * Per IP: bearer tokens (HTTP `Authorization` or a socket's `auth.token`) that match no live
   * token. Only failures spend points, so a script with a good token is never slowed by its own
   * traffic. Once an IP has spent them all, its bearer requests are refused before any lookup
   * until the window ends, a good token among them too: answering that one would tell a guesser
   * which guess was right.
   */
  readonly badToken: Limit;
  /** Per user: `POST /api/emails/sync` and `POST /api/emails/sync/stream` together. */
  readonly sync: Limit;
  /** Per user: `POST /api/tokens`. */
  readonly tokenCreate: Limit;
  /** Per user: Socket.IO connections accepted (a reconnect storm, many tabs, a script in a loop). */
  readonly socketConnect: Limit;
  /**
   * Per socket: `task:subscribe` messages. A socket lives on one node, so this counts in that
   * node's memory, without a Redis round-trip per message.
   */
  readonly subscribe: Limit;
  /** Per user: streaming syncs open at once, across every web node. */
  readonly streams: ConcurrencyLimit;
  /** Per user: change-feed long-polls and event streams held open at once, across every web node. */
  readonly followers: ConcurrencyLimit;
  /**
   * TRUST_PROXY, compiled once for the node: the HTTP app's `trust proxy` and `socketIp` both
   * read addresses with it, so a socket and a request from one client spend the same points.
   */
  readonly trustProxy: TrustProxy;

  constructor(config: Config, redis: Redis | Cluster | null, logger: Logger) {
    const store: Store = { redis, prefix: config.queuePrefix, logger };
    this.trustProxy = compileTrustProxy(config.trustProxy);
    const r = config.rateLimits;
    this.signIn = new Limit("sign-in", r.signIn, store);
    this.badToken = new Limit("bad-token", r.badToken, store);
    this.sync = new Limit("sync", r.sync, store);
    this.tokenCreate = new Limit("token-create", r.tokenCreate, store);
    this.socketConnect = new Limit("socket-connect", r.socketConnect, store);
    this.subscribe = new Limit("subscribe", r.subscribe, store, "local");
    this.streams = new ConcurrencyLimit("streams", r.streams, store);
    this.followers = new ConcurrencyLimit("feed-followers", r.feedFollowers, store);
  }
}

const built = new WeakMap<object, RateLimits>();

/** One RateLimits per web context, shared by its HTTP app and its Socket.IO server. */
export function rateLimitsFor(ctx: {
  config: Config;
  redis: Redis | Cluster | null;
  logger: Logger;
}): RateLimits {
  let limits = built.get(ctx);
  if (!limits) {
    limits = new RateLimits(ctx.config, ctx.redis, ctx.logger);
    built.set(ctx, limits);
  }
  return limits;
}

// ---- HTTP ----

const WHAT: Record<string, string> = {
  "sign-in": "Too many sign-in attempts from this address.",
  "bad-token": "Too many requests with an unknown API token from this address.",
  sync: "Too many sync requests.",
  "token-create": "Too many API tokens created.",
  streams: "Too many streaming syncs open at once; close one first.",
  "feed-followers":
    "Too many change-feed requests held open at once (wait or event streams); close one first.",
};

function refuse(res: Response, refusal: Refusal, what: string): void {
  res.set("Retry-After", String(refusal.retryAfter));
  sendError(
    res,
    429,
    "rate_limited",
    `${WHAT[what] ?? "Too many requests."} Try again in ${refusal.retryAfter} s.`,
  );
}

/** One point per request from the caller's IP (`req.ip`, read with `RateLimits.trustProxy`). */
export function limitByIp(limit: Limit) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const refusal = await limit.take(req.ip ?? "unknown");
    if (refusal) return refuse(res, refusal, limit.name);
    next();
  };
}

/** One point per request of the signed-in user; mount behind requireAuth. */
export function limitByUser(limit: Limit) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const refusal = await limit.take(req.principal!.userId);
    if (refusal) return refuse(res, refusal, limit.name);
    next();
  };
}

/** Before requireAuth: an IP that has spent its failed-token points is refused unread. */
export function bearerGate(limits: RateLimits) {
  return async (req: Request, res: Response, next: NextFunction) => {
    if (bearerOf(req.headers.authorization)) {
      const refusal = await limits.badToken.spent(req.ip ?? "unknown");
      if (refusal) return refuse(res, refusal, limits.badToken.name);
    }
    next();
  };
}

/** Right after requireAuth, as an error handler: a bearer token it turned away costs the IP. */
export function countFailedBearer(limits: RateLimits) {
  return async (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (err instanceof AppError && err.status === 401 && bearerOf(req.headers.authorization)) {
      const refusal = await limits.badToken.take(req.ip ?? "unknown");
      if (refusal) return refuse(res, refusal, limits.badToken.name);
    }
    next(err);
  };
}

/** Holds one of the user's stream slots until the response closes; mount behind requireAuth. */
export function streamSlot(limits: RateLimits) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const slot = await limits.streams.acquire(req.principal!.userId);
    if ("retryAfter" in slot) return refuse(res, slot, limits.streams.name);
    // "finish" comes before the client can read the last line; "close" covers a client leaving.
    res.once("finish", () => slot.release());
    res.once("close", () => slot.release());
    next();
  };
}

/**
 * Holds one of the user's change-feed follower slots until the response closes, for requests
 * `held` says stay open (a long-poll, an event stream); others pass. Mount behind requireAuth.
 */
export function followerSlot(limits: RateLimits, held: (req: Request) => boolean) {
  return async (req: Request, res: Response, next: NextFunction) => {
    if (!held(req)) return next();
    const slot = await limits.followers.acquire(req.principal!.userId);
    if ("retryAfter" in slot) return refuse(res, slot, limits.followers.name);
    res.once("finish", () => slot.release());
    res.once("close", () => slot.release());
    next();
  };
}

// ---- Socket.IO ----

/** The client's address for a socket's handshake, read by the same rule as the HTTP app's `req.ip`. */
export function socketIp(limits: RateLimits, req: IncomingMessage): string {
  return clientAddress(req, limits.trustProxy);
}

/** A connect_error the client can read: `err.message` and `err.data`. */
function socketRefusal(refusal: Refusal): Error {
  return Object.assign(new Error("rate_limited"), {
    data: { code: "rate_limited", retryAfter: refusal.retryAfter },
  });
}

type SocketData = { principal: Principal };
type AnySocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

const tokenOf = (socket: AnySocket) =>
  typeof socket.handshake.auth?.token === "string" ? (socket.handshake.auth.token as string) : undefined;

/** io.use before authentication: an IP that has spent its failed-token points is refused unread. */
export function socketBearerGate(limits: RateLimits) {
  return async (socket: AnySocket, next: (err?: Error) => void) => {
    const refusal = tokenOf(socket) ? await limits.badToken.spent(socketIp(limits, socket.request)) : null;
    next(refusal ? socketRefusal(refusal) : undefined);
  };
}

/** Called by the authentication middleware when it turns a socket away. */
export async function socketAuthFailed(limits: RateLimits, socket: AnySocket): Promise<void> {
  if (tokenOf(socket)) await limits.badToken.take(socketIp(limits, socket.request));
}

/**
 * After authentication: connections per user, and `task:subscribe` per socket (answered
 * `{ok:false, error:{code:"rate_limited"}}` through its ack, the socket staying open).
 */
export function applySocketLimits(
  io: Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>,
  limits: RateLimits,
): void {
  io.use(async (socket, next) => {
    const userId = socket.data.principal?.userId;
    const refusal = userId ? await limits.socketConnect.take(userId) : null;
    next(refusal ? socketRefusal(refusal) : undefined);
  });
  io.on("connection", (socket) => {
    socket.use(async ([event, ...args], next) => {
      if (event !== "task:subscribe") return next();
      const refusal = await limits.subscribe.take(socket.id);
      if (!refusal) return next();
      const ack = args.at(-1);
      if (typeof ack === "function") ack({ ok: false, error: { code: "rate_limited" } });
    });
  });
}
