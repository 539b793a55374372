/**
 * The task snapshot and every Socket.IO event, typed once and shared by the web process, the
 * worker's emitter and the browser client. HTTP status answers, NDJSON stream lines and socket
 * events all carry the same `TaskSnapshot`.
 */

export type TaskState = "queued" | "active" | "completed" | "failed";
export type SyncPhase = "listing" | "fetching" | "storing" | "done";
export type SyncMode = "full" | "incremental";

export interface TaskProgress {
  phase: SyncPhase;
  processed: number;
  total: number;
  percent: number;
}

export interface SyncResult {
  added: number;
  updated: number;
  deleted: number;
  mode: SyncMode;
}

export interface TaskError {
  code: string;
  message: string;
}

/**
 * Why a task that is not finished is not moving right now:
 * - `worker`: queued (or its runner vanished), and a live worker will take it;
 * - `no_workers`: nobody alive can take it; a client should run it through the streaming fallback;
 * - `retry`: an attempt failed (Gmail 5xx, a restart…) and it runs again at `retryAt`;
 * - `quota`: Gmail's per-minute quota (the user's or the project's) is spent; calls resume at `retryAt`;
 * - `daily_budget`: the project's daily quota is spent; calls resume at its reset, `retryAt`.
 */
export type WaitReason = "worker" | "no_workers" | "retry" | "quota" | "daily_budget";

/**
 * What holds a running sync's pace back now: the user's or the project's per-minute quota (the
 * quota gate makes it wait), the project's daily budget, or Gmail refusing calls for rate (429,
 * 403 rateLimitExceeded) and the sync backing off; null when nothing does.
 */
export type RateLimiter = "user_quota" | "project_quota" | "daily_budget" | "gmail";

export interface TaskSnapshot {
  taskId: string;
  state: TaskState;
  progress: TaskProgress;
  /** Only when `state` is `completed`. */
  result?: SyncResult;
  /** Only when `state` is `failed`. */
  error?: TaskError;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** When this snapshot was made, ms since the epoch. */
  at: number;
  /** Absent while the task moves, and once it has finished. */
  waiting?: WaitReason;
  /** When the wait is expected to end (ms since the epoch), when that is known. */
  retryAt?: number;
  /** Messages a second now, smoothed (0 while waiting); in the snapshots of a running task. */
  rate?: number;
  /** What holds the pace back now; in the snapshots of a running task (null: nothing). */
  rateLimitedBy?: RateLimiter | null;
  /**
   * When the task is expected to finish, ms since the epoch, pauses included: the quota units its
   * remaining messages need at the rate the quota allows (or the observed one, when lower).
   * Absent while unknown and once the task has finished.
   */
  etaAt?: number;
  /**
   * Quota units one message costs in the plan `etaAt` is made from: what the run has spent per
   * message fetched (whole threads, listing, retries included), `messages.get`'s cost until then.
   */
  unitsPerMessage?: number;
  /**
   * Grows with every snapshot of one task, across processes and retries, so a client keeps the
   * highest it has seen and drops duplicates and stale ones.
   */
  seq: number;
}

export const TERMINAL_STATES: readonly TaskState[] = ["completed", "failed"];

export function isTerminal(state: TaskState): boolean {
  return TERMINAL_STATES.includes(state);
}

export type SubscribeAck = { ok: true; snapshot: TaskSnapshot } | { ok: false; error: { code: string } };

/**
 * A finished sync changed the user's stored mail: how many messages it added, deleted and
 * updated, and which task (a page that hears it twice, from two paths, refreshes once).
 */
export interface MailChange {
  added: number;
  deleted: number;
  updated: number;
  taskId: string;
}

export interface ServerToClientEvents {
  "sync:progress": (snapshot: TaskSnapshot) => void;
  /** To the user's room when a sync completes with any change (worker and stream alike). */
  "mail:changed": (change: MailChange) => void;
}

export interface ClientToServerEvents {
  "task:subscribe": (payload: { taskId: string }, ack: (answer: SubscribeAck) => void) => void;
  "task:unsubscribe": (payload: { taskId: string }) => void;
}

/** Between Socket.IO servers: from a worker's emitter or another web node to every web node. */
export interface InterServerEvents {
  /**
   * The user's mirror may have new entries in the change feed (a sync wrote, or finished): wakes
   * that user's long-polls and event streams on every node (server/services/ChangeSignal.ts).
   */
  "changes:written": (userId: string) => void;
}

export const rooms = {
  task: (taskId: string) => `task:${taskId}`,
  user: (userId: string) => `user:${userId}`,
  session: (sessionId: string) => `session:${sessionId}`,
  /** Sockets opened with an API token: revoking the token closes them on every node. */
  token: (tokenId: string) => `token:${tokenId}`,
};

/** A web node's Socket.IO server or a worker's Redis emitter: either reaches every node's sockets. */
export interface SnapshotBroadcaster {
  to(room: string | string[]): {
    emit(event: "sync:progress", snapshot: TaskSnapshot): unknown;
    emit(event: "mail:changed", change: MailChange): unknown;
  };
  /** Reaches every other Socket.IO server (not the caller's own). */
  serverSideEmit?(event: "changes:written", userId: string): unknown;
}

/** What a completed snapshot says changed in the user's mail; null when it changed nothing. */
export function mailChangeOf(snapshot: TaskSnapshot): MailChange | null {
  if (snapshot.state !== "completed" || !snapshot.result) return null;
  const { added, deleted, updated } = snapshot.result;
  return added + deleted + updated > 0 ? { added, deleted, updated, taskId: snapshot.taskId } : null;
}

/**
 * The one fan-out of a snapshot: to the task's room (sockets following it) and to its user's
 * room (the user's other tabs). The streaming fallback and the worker both publish through it,
 * so a completed snapshot that changed mail also tells the user's room `mail:changed` here: every
 * sync, whoever ran it and however it was started (a click, a push, the schedule), announces it.
 */
export function publishSnapshot(
  via: SnapshotBroadcaster | undefined,
  userId: string,
  snapshot: TaskSnapshot,
): void {
  if (!via) return;
  via.to([rooms.task(snapshot.taskId), rooms.user(userId)]).emit("sync:progress", snapshot);
  const change = mailChangeOf(snapshot);
  if (change) via.to(rooms.user(userId)).emit("mail:changed", change);
  // A sync's snapshots come as it writes (at most every 100 ms) and when it ends: the change
  // feed's followers wake on them instead of asking the database over and over.
  via.serverSideEmit?.("changes:written", userId);
}

/** The Redis channel prefix shared by every web node's adapter and every worker's emitter. */
export const socketKey = (queuePrefix: string) => `${queuePrefix}:socket.io`;
