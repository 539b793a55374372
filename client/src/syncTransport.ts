import { isTerminal, type TaskSnapshot, type WaitReason } from "../../core/contract";
import { ApiError, api, isAbort, type SyncAccepted, type SyncOptions } from "./api";
import { streamSync } from "./ndjson";
import { pollTaskStatus } from "./polling";
import { SnapshotGate } from "./snapshotGate";
import type { LiveChannel } from "./socket";

/**
 * The fallback chain that follows one sync task to its end:
 *   1. push over Socket.IO (`task:subscribe`, then `sync:progress` events),
 *   2. polling the status URL every second when no socket connects within ~3 s or it drops,
 *   3. the NDJSON streaming endpoint when POST /api/emails/sync answers 503 with a fallback, or
 *      when a followed task says `waiting: "no_workers"` (its worker died and none is left): the
 *      stream takes the task over and resumes it where it stopped.
 * Whatever the channel, snapshots pass one seq gate, so the page only ever moves forwards.
 */

export type TransportMode = "live" | "polling" | "streaming";

export const MODE_LABELS: Record<TransportMode, string> = {
  live: "Live (WebSocket)",
  polling: "Polling",
  streaming: "Streaming",
};

/** How long the push channel may take to connect before the page polls instead. */
export const SOCKET_GRACE_MS = 3_000;
/**
 * With push, a status read when nothing arrived for this long, and again as often while the
 * silence lasts: a lost event, or a worker that died, must not leave the bar frozen.
 */
const LIVE_SILENCE_MS = 3_000;
/** The streaming endpoint, when no 503 has named it. */
const STREAM_URL = "/api/emails/sync/stream";
/** Least time between two takeovers by stream, so a stream refused at once does not loop. */
const TAKEOVER_BACKOFF_MS = 5_000;

export interface TransportHandlers {
  /** The page now follows this task (a new sync, a resumed one, or one another tab started). */
  onFollow(taskId: string): void;
  /** A snapshot of the followed task, newer than every one before it. */
  onSnapshot(snapshot: TaskSnapshot): void;
  /** Why the followed task waits, from a snapshot at least as fresh as any before (`at`). */
  onWaiting(taskId: string, wait: { waiting?: WaitReason; retryAt?: number; at: number }): void;
  onMode(mode: TransportMode): void;
  /** The server does not know the task (any more), or it belongs to someone else. */
  onLost(taskId: string): void;
  /** Starting or following failed in a way the person should hear about. */
  onError(err: unknown): void;
}

interface Followed {
  taskId: string;
  terminal: boolean;
  mode: TransportMode | null;
  poll: AbortController | null;
  stream: AbortController | null;
  subscribing: boolean;
  checking: boolean;
  lastNewsAt: number;
  lastCheckAt: number;
  /** `at` of the freshest snapshot whose waiting reason was passed on. */
  waitingAt: number;
  waiting: WaitReason | undefined;
}

export class SyncTransport {
  private current: Followed | null = null;
  private readonly gate = new SnapshotGate();
  private readonly watchdog: ReturnType<typeof setInterval>;
  private starting = false;
  private lastTakeover = 0;

  constructor(
    private readonly live: LiveChannel,
    private readonly handlers: TransportHandlers,
  ) {
    live.onProgress((snapshot) => this.onPush(snapshot));
    live.onConnect(() => this.onLiveUp());
    live.onDrop(() => this.onLiveDown());
    this.watchdog = setInterval(() => void this.checkSilence(), 1_000);
  }

  /** True while a task is being followed and has not finished. */
  get busy(): boolean {
    return this.starting || Boolean(this.current && !this.current.terminal);
  }

  get taskId(): string | null {
    return this.current?.taskId || null;
  }

  /** "Fetch emails": queue a sync (or join the running one) and follow it; stream when the queue cannot. */
  async start(options: SyncOptions = {}): Promise<void> {
    if (this.starting) return;
    this.starting = true;
    // No choice made: no body, which means "everything" and joins whatever sync is open.
    const body = Object.keys(options).length ? options : undefined;
    try {
      const accepted = await api.post<SyncAccepted>("/api/emails/sync", body);
      this.starting = false;
      this.follow(accepted.taskId);
    } catch (err) {
      this.starting = false;
      const fallback = err instanceof ApiError && err.status === 503 ? err.body.fallback : undefined;
      const open = err instanceof ApiError && err.status === 409 ? err.body.taskId : undefined;
      if (typeof fallback === "string" && fallback.startsWith("/")) void this.stream(fallback, "", body);
      else {
        // Another tab started a sync of other mail: say so, and follow that one to its end.
        if (typeof open === "string") this.follow(open);
        this.handlers.onError(err);
      }
    }
  }

  /** Follows a task by push, or by polling when push is not there. */
  follow(taskId: string, first?: TaskSnapshot): void {
    const now = this.current;
    if (now && now.taskId === taskId && !now.terminal) {
      if (first) this.deliver(now, first);
      return;
    }
    this.drop();
    const f = this.newFollowed(taskId);
    this.current = f;
    this.handlers.onFollow(taskId);
    if (first) this.deliver(f, first);
    if (!f.terminal) this.attach(f);
  }

  /** Stops following (sign-out, page teardown). */
  stop(): void {
    this.drop();
    clearInterval(this.watchdog);
  }

  // ---- the chain ----

  private newFollowed(taskId: string): Followed {
    return {
      taskId,
      terminal: false,
      mode: null,
      poll: null,
      stream: null,
      subscribing: false,
      checking: false,
      lastNewsAt: Date.now(),
      lastCheckAt: 0,
      waitingAt: 0,
      waiting: undefined,
    };
  }

  /** Push if the socket is (or within the grace period becomes) connected, else polling. */
  private attach(f: Followed): void {
    if (this.live.connected) {
      void this.subscribeLive(f);
      return;
    }
    void this.live.waitForConnection(SOCKET_GRACE_MS).then((ok) => {
      if (this.current !== f || f.terminal || f.stream) return;
      if (ok) void this.subscribeLive(f);
      else this.startPolling(f);
    });
  }

  private async subscribeLive(f: Followed): Promise<void> {
    if (f.subscribing) return;
    f.subscribing = true;
    const ack = await this.live.subscribe(f.taskId);
    f.subscribing = false;
    if (this.current !== f || f.terminal || f.stream) return;
    if (ack?.ok) {
      this.stopPolling(f);
      this.setMode(f, "live");
      this.deliver(f, ack.snapshot);
    } else if (ack && !ack.ok && ack.error.code === "not_found") {
      this.lose(f);
    } else {
      this.startPolling(f);
    }
  }

  private startPolling(f: Followed): void {
    if (f.poll || f.terminal || f.stream) return;
    const control = new AbortController();
    f.poll = control;
    this.setMode(f, "polling");
    pollTaskStatus(f.taskId, (snapshot) => this.deliver(f, snapshot), { signal: control.signal }).then(
      () => {
        if (f.poll === control) f.poll = null;
      },
      (err: unknown) => {
        if (f.poll === control) f.poll = null;
        if (isAbort(err) || this.current !== f) return;
        if (err instanceof ApiError && err.status === 404) this.lose(f);
        else this.handlers.onError(err);
      },
    );
  }

  private stopPolling(f: Followed): void {
    f.poll?.abort();
    f.poll = null;
  }

  /**
   * Runs the sync through the streaming endpoint. With `taskId` it takes over that task (and
   * never starts another); should the stream fail, the page goes back to following the task.
   */
  private async stream(url: string, taskId = "", body?: SyncOptions): Promise<void> {
    this.drop();
    const control = new AbortController();
    const f = this.newFollowed(taskId);
    f.stream = control;
    this.current = f;
    this.setMode(f, "streaming");
    const adopt = (taskId: string) => {
      if (f.taskId || !taskId) return;
      f.taskId = taskId;
      this.handlers.onFollow(taskId);
    };
    try {
      await streamSync(
        url,
        (snapshot) => {
          adopt(snapshot.taskId);
          this.deliver(f, snapshot);
        },
        { signal: control.signal, onTaskId: adopt, body },
      );
      f.stream = null;
      // The stream ended before the task did (a proxy cut it, the node restarted…): keep
      // following the task by push or polling.
      if (this.current === f && !f.terminal && f.taskId) this.attach(f);
    } catch (err) {
      f.stream = null;
      if (isAbort(err) || this.current !== f || f.terminal) return;
      if (f.taskId && (taskId || !(err instanceof ApiError && err.status >= 400))) this.attach(f);
      else {
        this.current = null;
        this.handlers.onError(err);
      }
    }
  }

  // ---- events ----

  private deliver(f: Followed, snapshot: TaskSnapshot): void {
    if (this.current !== f || snapshot.taskId !== f.taskId) return;
    if (this.gate.accept(snapshot)) {
      f.lastNewsAt = Date.now();
      this.handlers.onSnapshot(snapshot);
      if (isTerminal(snapshot.state)) {
        f.terminal = true;
        this.stopPolling(f);
        this.live.unsubscribe(f.taskId);
        return;
      }
    }
    this.noteWaiting(f, snapshot);
  }

  /**
   * A status read may repeat an older step (the row lags the live progress) yet carry fresh news
   * of why the task waits: that news is taken by time (`at`), not by `seq`.
   */
  private noteWaiting(f: Followed, snapshot: TaskSnapshot): void {
    if (typeof snapshot.at !== "number" || snapshot.at < f.waitingAt) return;
    f.waitingAt = snapshot.at;
    if (snapshot.waiting !== f.waiting) {
      f.waiting = snapshot.waiting;
      this.handlers.onWaiting(f.taskId, {
        waiting: snapshot.waiting,
        retryAt: snapshot.retryAt,
        at: snapshot.at,
      });
    }
    if (snapshot.waiting === "no_workers") this.takeOver(f);
  }

  /** Nobody alive can run the task: run it here, through the stream, where it stopped. */
  private takeOver(f: Followed): void {
    if (f.stream || f.terminal || Date.now() - this.lastTakeover < TAKEOVER_BACKOFF_MS) return;
    this.lastTakeover = Date.now();
    void this.stream(`${STREAM_URL}?taskId=${encodeURIComponent(f.taskId)}`, f.taskId);
  }

  /** Every `sync:progress` of this user arrives here, whichever tab started the task. */
  private onPush(snapshot: TaskSnapshot): void {
    const f = this.current;
    if (f && f.taskId === snapshot.taskId) {
      this.deliver(f, snapshot);
      return;
    }
    // A task this page is not following: take it up unless ours is still running.
    if ((!f || f.terminal) && this.gate.isNewer(snapshot)) this.follow(snapshot.taskId, snapshot);
  }

  private onLiveUp(): void {
    const f = this.current;
    if (f && !f.terminal && !f.stream && f.taskId) void this.subscribeLive(f);
  }

  private onLiveDown(): void {
    const f = this.current;
    if (f && !f.terminal && !f.stream && f.mode === "live") this.startPolling(f);
  }

  /**
   * With push, a quiet spell gets a status read every few seconds while it lasts, so a lost event
   * cannot stall the page and a dead worker is noticed (the answer says why the task waits).
   */
  private async checkSilence(): Promise<void> {
    const f = this.current;
    if (!f || f.terminal || f.mode !== "live" || f.checking || f.stream) return;
    if (Date.now() - Math.max(f.lastNewsAt, f.lastCheckAt) < LIVE_SILENCE_MS) return;
    f.checking = true;
    try {
      const snapshot = await api.get<TaskSnapshot>(`/api/emails/sync/status/${encodeURIComponent(f.taskId)}`);
      this.deliver(f, snapshot);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404 && this.current === f) this.lose(f);
    } finally {
      f.checking = false;
      f.lastCheckAt = Date.now();
    }
  }

  private lose(f: Followed): void {
    f.terminal = true;
    this.stopPolling(f);
    if (this.current === f) this.current = null;
    this.handlers.onLost(f.taskId);
  }

  private setMode(f: Followed, mode: TransportMode): void {
    if (f.mode === mode) return;
    f.mode = mode;
    if (this.current === f) this.handlers.onMode(mode);
  }

  private drop(): void {
    const f = this.current;
    if (!f) return;
    f.poll?.abort();
    f.stream?.abort();
    if (!f.terminal && f.taskId) this.live.unsubscribe(f.taskId);
    this.current = null;
  }
}
