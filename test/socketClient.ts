import { io, type Socket } from "socket.io-client";
import {
  type ClientToServerEvents,
  isTerminal,
  type ServerToClientEvents,
  type SubscribeAck,
  type TaskSnapshot,
} from "../core/events";

/**
 * A Node Socket.IO client as the browser app would use it, for tests and the benchmark. No
 * vitest import here: `npm run bench` loads this file outside the test runner.
 */
export type TaskSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface SocketAuth {
  /** A `Cookie` header value (ApiClient.cookieHeader). */
  cookie?: string;
  /** An API token, sent as `auth: {token}`. */
  token?: string;
  /** An Origin header, as a browser would send it. */
  origin?: string;
  /** Default websocket only; ["polling", "websocket"] is what a browser starts with. */
  transports?: ("polling" | "websocket")[];
}

/** A socket that has not connected yet (autoConnect off), websocket only, no reconnection. */
export function openSocket(baseUrl: string, auth: SocketAuth = {}): TaskSocket {
  const extraHeaders: Record<string, string> = {};
  if (auth.cookie) extraHeaders.cookie = auth.cookie;
  if (auth.origin) extraHeaders.origin = auth.origin;
  return io(baseUrl, {
    path: "/socket.io",
    transports: auth.transports ?? ["websocket"],
    extraHeaders,
    auth: auth.token ? { token: auth.token } : {},
    autoConnect: false,
    reconnection: false,
    forceNew: true,
    timeout: 10_000,
  });
}

/** Connects, resolving once the server accepted the socket; rejects with the connect_error. */
export function connect(socket: TaskSocket, timeoutMs = 10_000): Promise<TaskSocket> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`socket did not connect in ${timeoutMs} ms`));
    }, timeoutMs);
    const onConnect = () => {
      cleanup();
      resolve(socket);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("connect_error", onError);
    };
    socket.on("connect", onConnect);
    socket.on("connect_error", onError);
    socket.connect();
  });
}

/** A connected socket for `baseUrl` with the given credentials. */
export async function connectSocket(baseUrl: string, auth: SocketAuth, timeoutMs = 10_000) {
  const socket = openSocket(baseUrl, auth);
  try {
    return await connect(socket, timeoutMs);
  } catch (err) {
    socket.close();
    throw err;
  }
}

/**
 * Tries to connect and answers the connect_error's message; throws when the server accepted
 * the socket. The socket is closed either way.
 */
export async function refusal(baseUrl: string, auth: SocketAuth, timeoutMs = 10_000): Promise<string> {
  const socket = openSocket(baseUrl, auth);
  try {
    await connect(socket, timeoutMs);
  } catch (err) {
    return (err as Error).message;
  } finally {
    socket.close();
  }
  throw new Error("the server accepted a connection it should have refused");
}

/** `task:subscribe` with its ack. */
export function subscribe(socket: TaskSocket, taskId: unknown, timeoutMs = 10_000): Promise<SubscribeAck> {
  return socket.timeout(timeoutMs).emitWithAck("task:subscribe", { taskId } as { taskId: string });
}

export interface Received {
  snapshot: TaskSnapshot;
  /** Date.now() when this client got it. */
  receivedAt: number;
}

/**
 * Keeps every `sync:progress` a socket receives, and what a client would show per task: the
 * highest `seq` wins, older and duplicate snapshots are dropped.
 */
export class SnapshotLog {
  readonly received: Received[] = [];
  /** Every snapshot offered: events and subscribe acks' snapshots alike. */
  readonly all: TaskSnapshot[] = [];
  /** Per task, the snapshots a client would have shown, in order (the seq filter applied). */
  readonly shown = new Map<string, TaskSnapshot[]>();
  private waiters: { test: (s: TaskSnapshot) => boolean; resolve: (s: TaskSnapshot) => void }[] = [];

  constructor(readonly socket: TaskSocket) {
    socket.on("sync:progress", (snapshot) => {
      this.received.push({ snapshot, receivedAt: Date.now() });
      this.offer(snapshot);
    });
  }

  /** Applies a snapshot (an event, or a subscribe ack's) the way a client would. */
  offer(snapshot: TaskSnapshot): boolean {
    this.all.push(snapshot);
    const list = this.shown.get(snapshot.taskId) ?? [];
    this.shown.set(snapshot.taskId, list);
    const last = list.at(-1);
    const fresh = !last || snapshot.seq > last.seq;
    if (fresh) list.push(snapshot);
    for (const w of [...this.waiters]) {
      if (w.test(snapshot)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(snapshot);
      }
    }
    return fresh;
  }

  /** Snapshots of one task as they arrived (no filter). */
  eventsOf(taskId: string): TaskSnapshot[] {
    return this.received.filter((r) => r.snapshot.taskId === taskId).map((r) => r.snapshot);
  }

  /** What the client shows for a task now. */
  latest(taskId: string): TaskSnapshot | undefined {
    return this.shown.get(taskId)?.at(-1);
  }

  /** The first snapshot (already offered or still to come) that passes `test`. */
  waitFor(test: (s: TaskSnapshot) => boolean, timeoutMs = 30_000, what = "snapshot"): Promise<TaskSnapshot> {
    const seen = this.all.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        test,
        resolve: (s: TaskSnapshot) => {
          clearTimeout(timer);
          resolve(s);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        const last = this.received.at(-1)?.snapshot;
        reject(new Error(`no ${what} in ${timeoutMs} ms; last received: ${JSON.stringify(last)}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** The task's terminal snapshot (completed or failed). */
  final(taskId: string, timeoutMs = 30_000): Promise<TaskSnapshot> {
    return this.waitFor((s) => s.taskId === taskId && isTerminal(s.state), timeoutMs, `end of ${taskId}`);
  }
}

/** Resolves when the server has closed the socket (`io server disconnect`), with the reason. */
export function disconnection(socket: TaskSocket, timeoutMs = 10_000): Promise<string> {
  if (!socket.connected) return Promise.resolve("already disconnected");
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`socket still connected after ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once("disconnect", (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}
