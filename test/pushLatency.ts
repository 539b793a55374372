import type { TaskSnapshot } from "../core/events";
import { connectSocket, SnapshotLog, type SocketAuth, subscribe } from "./socketClient";

/**
 * Push latency: from a snapshot's `at` (stamped by the worker when it made it) to the moment a
 * client connected to some web node received it through Redis. Same machine, same clock; on
 * several machines the samples include their clock skew. No vitest import: `npm run bench`
 * reuses this.
 */

export interface PushLatencyResult {
  taskId: string;
  /** One per `sync:progress` event of the task, in ms, in arrival order. */
  samples: number[];
  final: TaskSnapshot;
}

/** The samples of one task from a log that has received its events. */
export function pushLatencyOf(log: SnapshotLog, taskId: string): number[] {
  return log.received.filter((r) => r.snapshot.taskId === taskId).map((r) => r.receivedAt - r.snapshot.at);
}

export interface MeasurePushLatencyOptions {
  /** The web node the observing client connects to (pick another than the one `start` uses). */
  url: string;
  auth: SocketAuth;
  /** Starts the task (e.g. POST /api/emails/sync on another node) and answers its id. */
  start: () => Promise<string>;
  timeoutMs?: number;
}

/**
 * Connects an observer, starts a task, and collects the latency of every snapshot pushed for
 * it until it ends. The observer sits in its user's room from the start, so no event of the
 * task is missed; it also subscribes, as a browser would.
 */
export async function measurePushLatency(options: MeasurePushLatencyOptions): Promise<PushLatencyResult> {
  const socket = await connectSocket(options.url, options.auth);
  try {
    const log = new SnapshotLog(socket);
    const taskId = await options.start();
    const ack = await subscribe(socket, taskId);
    if (!ack.ok) throw new Error(`task:subscribe answered ${ack.error.code}`);
    const final = await log.final(taskId, options.timeoutMs ?? 60_000);
    return { taskId, samples: pushLatencyOf(log, taskId), final };
  } finally {
    socket.close();
  }
}

/** Nearest-rank percentile (p in 0..100) of samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function summarize(samples: readonly number[]) {
  return {
    count: samples.length,
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    p99: percentile(samples, 99),
    max: samples.length ? Math.max(...samples) : Number.NaN,
  };
}
