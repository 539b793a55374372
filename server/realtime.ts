import type { Server as HttpServer } from "node:http";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import type { Cluster, Redis } from "ioredis";
import { Server, type Socket } from "socket.io";
import {
  type ClientToServerEvents,
  type InterServerEvents,
  rooms,
  type ServerToClientEvents,
  type SubscribeAck,
  socketKey,
} from "../core/events";
import { hasScope, type Principal } from "../core/services/SessionService";
import { cookiePolicy, principalOf } from "./middleware/authenticate";
import { applySocketLimits, rateLimitsFor, socketAuthFailed, socketBearerGate } from "./middleware/rateLimit";
import { startSocketRecheck } from "./socketRecheck";
import type { WebContext } from "./WebContext";

/**
 * Whether a handshake's Origin may use the session cookie: it must be exactly PUBLIC_URL's origin
 * (scheme, host and port), the address users open. The Host header proves nothing: whoever sends
 * the request chooses it, and behind a proxy it names the proxy's upstream. Browsers always send
 * Origin on WebSocket handshakes and cross-site requests; a request without one is not a page of
 * another site (the SameSite=Lax cookie stays home on cross-site subresource loads), such as the
 * CLI or a script with an API token.
 */
export function originAllowed(origin: string | undefined, publicUrl: string): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).origin === new URL(publicUrl).origin;
  } catch {
    // "null" (sandboxed frames, file: pages) and anything unparsable.
    return false;
  }
}

export type RealtimeServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  { principal: Principal }
>;

type RealtimeSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  { principal: Principal }
>;
type RedisPair = { pub: Redis | Cluster; sub: Redis | Cluster; sharded?: boolean };
type SocketLimits = ReturnType<typeof rateLimitsFor>;

/** Fans emits out across nodes: the sharded adapter on a Redis Cluster, the classic one otherwise. */
function useRedisAdapter(io: RealtimeServer, ctx: WebContext, redis: RedisPair | null): void {
  if (redis?.sharded) {
    io.adapter(
      createShardedAdapter(redis.pub, redis.sub, { channelPrefix: socketKey(ctx.config.queuePrefix) }),
    );
  } else if (redis) {
    io.adapter(createAdapter(redis.pub, redis.sub, { key: socketKey(ctx.config.queuePrefix) }));
  }
}

/** The handshake gate: a session cookie or an API token (`auth.token`) whose scope covers `read`. */
function authenticateSocket(ctx: WebContext, limits: SocketLimits): Parameters<RealtimeServer["use"]>[0] {
  const sessionCookie = cookiePolicy(ctx.config).session;
  return async (socket, next) => {
    try {
      const token =
        typeof socket.handshake.auth?.token === "string" ? socket.handshake.auth.token : undefined;
      const principal = await principalOf(
        ctx.sessions,
        {
          cookie: token ? undefined : socket.handshake.headers.cookie,
          authorization: token ? `Bearer ${token}` : undefined,
        },
        sessionCookie,
      );
      if (!principal) {
        await socketAuthFailed(limits, socket);
        return next(new Error("unauthorized"));
      }
      // Progress and mail changes are what `read` covers.
      if (!hasScope(principal, "read")) return next(new Error("insufficient_scope"));
      socket.data.principal = principal;
      next();
    } catch {
      next(new Error("unavailable"));
    }
  };
}

/** `task:subscribe`: joins the task's room when the task is the user's, and acks its snapshot. */
function subscribeToTask(ctx: WebContext, socket: RealtimeSocket, userId: string) {
  return async (payload: unknown, ack: unknown) => {
    // `emit("task:subscribe", ack)` without a payload still deserves an answer.
    const callback = typeof ack === "function" ? ack : typeof payload === "function" ? payload : null;
    if (!callback) return;
    const reply = (answer: SubscribeAck) => callback(answer);
    try {
      const taskId =
        payload && typeof payload === "object" && typeof (payload as { taskId?: unknown }).taskId === "string"
          ? (payload as { taskId: string }).taskId
          : "";
      const task = await ctx.tasks.findForUser(userId, taskId);
      if (!task) return reply({ ok: false, error: { code: "not_found" } });
      // Join before reading: an update published between the two still reaches this socket,
      // and the client's sequence numbers drop whichever copy is older.
      await socket.join(rooms.task(task.id));
      const fresh = (await ctx.tasks.findById(task.id)) ?? task;
      reply({ ok: true, snapshot: await ctx.status.snapshot(fresh) });
    } catch (err) {
      ctx.logger.warn({ err }, "task:subscribe failed");
      reply({ ok: false, error: { code: "unavailable" } });
    }
  };
}

/** A new socket joins its user's, session's and token's rooms and may follow tasks. */
function onConnection(ctx: WebContext, socket: RealtimeSocket): void {
  const { userId, sessionId, tokenId } = socket.data.principal;
  void socket.join(rooms.user(userId));
  if (sessionId) void socket.join(rooms.session(sessionId));
  if (tokenId) void socket.join(rooms.token(tokenId));
  socket.on("task:subscribe", subscribeToTask(ctx, socket, userId));
  socket.on("task:unsubscribe", (payload) => {
    if (typeof payload?.taskId === "string") void socket.leave(rooms.task(payload.taskId));
  });
}

/**
 * Socket.IO on the web process: authenticated by the session cookie or an API token, every
 * socket in its user's room, `task:subscribe` for one task's room. With Redis, the adapter makes
 * a worker's emit (or another node's) reach the sockets of this node: the classic adapter on a
 * single Redis (workers publish with @socket.io/redis-emitter), the sharded adapter on a Redis
 * Cluster (SSUBSCRIBE, Redis 7: each channel lives on its slot's node instead of every message
 * crossing the whole cluster bus; workers publish with worker/ShardedEmitter.ts).
 */
export function attachRealtime(
  httpServer: HttpServer,
  ctx: WebContext,
  redis: RedisPair | null,
): RealtimeServer {
  const io: RealtimeServer = new Server(httpServer, {
    path: "/socket.io",
    serveClient: false,
    allowRequest: (req, callback) => callback(null, originAllowed(req.headers.origin, ctx.config.publicUrl)),
  });
  useRedisAdapter(io, ctx, redis);
  startSocketRecheck(io, ctx, httpServer);
  const limits = rateLimitsFor(ctx);
  io.use(socketBearerGate(limits));
  io.use(authenticateSocket(ctx, limits));
  applySocketLimits(io, limits);
  io.on("connection", (socket) => onConnection(ctx, socket));
  // A worker's (or another node's) sync wrote: this node's change-feed followers read again.
  io.on("changes:written", (userId) => {
    if (typeof userId === "string") ctx.changeSignal.notify(userId);
  });
  return io;
}
