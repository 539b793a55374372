import { io, type Socket } from "socket.io-client";
import type {
  ClientToServerEvents,
  MailChange,
  ServerToClientEvents,
  SubscribeAck,
  TaskSnapshot,
} from "../../core/contract";

export type AppSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

type Listener<T extends unknown[]> = (...args: T) => void;

/**
 * The push channel: one Socket.IO connection to this origin, authenticated by the session
 * cookie. The server puts it in the user's room, so it hears `sync:progress` for every task of
 * this user; `task:subscribe` answers the current snapshot of one task.
 */
export class LiveChannel {
  private readonly socket: AppSocket;
  private readonly progress = new Set<Listener<[TaskSnapshot]>>();
  private readonly mailChanges = new Set<Listener<[MailChange]>>();
  private readonly connects = new Set<Listener<[]>>();
  private readonly drops = new Set<Listener<[string]>>();
  /** Set once a connection attempt failed and none has succeeded since. */
  private failedSinceConnect = false;
  private retry: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    this.socket = io({
      path: "/socket.io",
      transports: ["websocket"],
      reconnectionDelay: 1_000,
      reconnectionDelayMax: 5_000,
      timeout: 5_000,
    });
    this.socket.on("connect", () => {
      this.failedSinceConnect = false;
      for (const fn of this.connects) fn();
    });
    this.socket.on("disconnect", (reason) => {
      for (const fn of this.drops) fn(reason);
    });
    this.socket.on("connect_error", (err) => {
      this.failedSinceConnect = true;
      for (const fn of this.drops) fn(err.message || "connect_error");
      // A refusal by the server's middleware (rate_limited, unavailable) ends Socket.IO's own
      // retries, which would leave the page polling for good: try again later, unless the
      // server says nobody is signed in.
      if (!this.socket.active && err.message !== "unauthorized") {
        const retryAfter = (err as Error & { data?: { retryAfter?: number } }).data?.retryAfter;
        clearTimeout(this.retry);
        this.retry = setTimeout(() => this.socket.connect(), Math.max(1, retryAfter ?? 5) * 1000);
      }
    });
    this.socket.on("sync:progress", (snapshot) => {
      for (const fn of this.progress) fn(snapshot);
    });
    this.socket.on("mail:changed", (change) => {
      for (const fn of this.mailChanges) fn(change);
    });
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  onProgress(fn: Listener<[TaskSnapshot]>): void {
    this.progress.add(fn);
  }

  /** Any sync of this user changed their mail (the user's room hears it). */
  onMailChanged(fn: Listener<[MailChange]>): void {
    this.mailChanges.add(fn);
  }

  onConnect(fn: Listener<[]>): void {
    this.connects.add(fn);
  }

  /** A drop of an open connection or a failed attempt to open one. */
  onDrop(fn: Listener<[string]>): void {
    this.drops.add(fn);
  }

  /**
   * True as soon as the socket is connected; false when it is not connected within `ms`, or
   * when an attempt to connect fails (no need to wait out the timer then).
   */
  waitForConnection(ms: number): Promise<boolean> {
    if (this.socket.connected) return Promise.resolve(true);
    if (this.failedSinceConnect || !this.socket.active) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.socket.off("connect", onConnect);
        this.socket.off("connect_error", onError);
        resolve(ok);
      };
      const onConnect = () => done(true);
      const onError = () => done(false);
      const timer = setTimeout(() => done(false), ms);
      this.socket.on("connect", onConnect);
      this.socket.on("connect_error", onError);
    });
  }

  /** Joins the task's room and answers its current snapshot; null when no answer came in time. */
  async subscribe(taskId: string, timeoutMs = 5_000): Promise<SubscribeAck | null> {
    if (!this.socket.connected) return null;
    try {
      return await this.socket.timeout(timeoutMs).emitWithAck("task:subscribe", { taskId });
    } catch {
      return null;
    }
  }

  unsubscribe(taskId: string): void {
    if (this.socket.connected) this.socket.emit("task:unsubscribe", { taskId });
  }

  close(): void {
    clearTimeout(this.retry);
    this.progress.clear();
    this.connects.clear();
    this.drops.clear();
    this.socket.removeAllListeners();
    this.socket.disconnect();
  }
}
