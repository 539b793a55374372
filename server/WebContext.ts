import type { Cluster, Redis } from "ioredis";
import type { Server as SocketServer } from "socket.io";
import type { CoreContext } from "../core/context";
import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents } from "../core/events";
import type { MaintenanceQueue, SyncQueue } from "../core/queue";
import type { GmailQuotaBudget } from "../core/sync/RedisQuotaBudget";
import type { TaskStatus } from "../core/tasks/TaskStatus";
import type { ChangeSignal } from "./services/ChangeSignal";
import type { SyncDispatcher } from "./services/SyncDispatcher";

/** Everything a web process's routes and sockets need, built once in server/main.ts. */
export interface WebContext extends CoreContext {
  /** Null when Redis is not configured at all (streaming-fallback mode). */
  queue: SyncQueue | null;
  /** The workers' housekeeping queue, where a Gmail push queues its debounced sync. */
  maintenance: MaintenanceQueue | null;
  /**
   * The request path's auto-pipelined client (rate limits, liveness, quota, auth invalidation);
   * the queues have a client of their own (server/WebServer.ts says why).
   */
  redis: Redis | Cluster | null;
  /** The queues' client: readiness needs it too, since a sync request is refused until it connects. */
  queueRedis: Redis | Cluster | null;
  dispatcher: SyncDispatcher;
  /** The freshest snapshot of a task, with why it waits (status route, subscribe, streams). */
  status: TaskStatus;
  /** Names this node's stream runs in task leases. */
  nodeId: string;
  /** Gmail quota shared with the workers, for syncs run by the streaming fallback. */
  quota: GmailQuotaBudget | null;
  /** Aborted when the node is stopping: syncs running in streams hand their tasks back. */
  shutdown: AbortSignal;
  /** Streaming syncs in flight on this node, awaited (briefly) when it stops. */
  streams: Set<Promise<unknown>>;
  /** Wakes this node's change-feed followers (server/routes/api/changes). */
  changeSignal: ChangeSignal;
  /** Set once Socket.IO is attached; the streaming fallback pushes through it too. */
  io?: SocketServer<ClientToServerEvents, ServerToClientEvents, InterServerEvents>;
}
