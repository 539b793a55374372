import type { Server as HttpServer } from "node:http";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import type { Cluster, Redis } from "ioredis";
import { Server } from "socket.io";
import {
  type ClientToServerEvents,
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
  Record<string, never>,
  { principal: Principal }
>;

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
  redis: { pub: Redis | Cluster; sub: Redis | Cluster; sharded?: boolean } | null,
): RealtimeServer {
  const io: RealtimeServer = new Server(httpServer, {
    path: "/socket.io",
    serveClient: false,
    allowRequest: (req, callback) => callback(null, originAllowed(req.headers.origin, ctx.config.publicUrl)),
  });
  if (redis?.sharded) {
    io.adapter(
      createShardedAdapter(redis.pub, redis.sub, { channelPrefix: socketKey(ctx.config.queuePrefix) }),
    );
  } else if (redis) {
    io.adapter(createAdapter(redis.pub, redis.sub, { key: socketKey(ctx.config.queuePrefix) }));
  }
  startSocketRecheck(io, ctx, httpServer);

  const limits = rateLimitsFor(ctx);
  io.use(socketBearerGate(limits));
  const sessionCookie = cookiePolicy(ctx.config).session;
  io.use(async (socket, next) => {
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
  });

  applySocketLimits(io, limits);

  io.on("connection", (socket) => {
    const { userId, sessionId, tokenId } = socket.data.principal;
    void socket.join(rooms.user(userId));
    if (sessionId) void socket.join(rooms.session(sessionId));
    if (tokenId) void socket.join(rooms.token(tokenId));

    socket.on("task:subscribe", async (payload: unknown, ack: unknown) => {
      // `emit("task:subscribe", ack)` without a payload still deserves an answer.
      const callback = typeof ack === "function" ? ack : typeof payload === "function" ? payload : null;
      if (!callback) return;
      const reply = (answer: SubscribeAck) => callback(answer);
      try {
        const taskId =
          payload &&
          typeof payload === "object" &&
          typeof (payload as { taskId?: unknown }).taskId === "string"
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
    });

    socket.on("task:unsubscribe", (payload) => {
      if (typeof payload?.taskId === "string") void socket.leave(rooms.task(payload.taskId));
    });
  });

  return io;
}
