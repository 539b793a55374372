import { isTerminal, type TaskSnapshot } from "../../core/contract";
import { ApiError, api, isAbort } from "./api";

export interface PollOptions {
  signal: AbortSignal;
  intervalMs?: number;
  /** Consecutive failed requests (network, 5xx) tolerated before giving up. */
  maxFailures?: number;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new DOMException("aborted", "AbortError"));
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new DOMException("aborted", "AbortError"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * The second link of the fallback chain: `GET /api/emails/sync/status/:taskId` every second
 * until the task is completed or failed. Every answer goes to `onSnapshot`; the terminal one is
 * also the result. Transient failures are retried; 401/403/404 end the polling at once.
 */
export async function pollTaskStatus(
  taskId: string,
  onSnapshot: (snapshot: TaskSnapshot) => void,
  options: PollOptions,
): Promise<TaskSnapshot> {
  const { signal, intervalMs = 1_000, maxFailures = 30 } = options;
  let failures = 0;
  for (;;) {
    try {
      const snapshot = await api.get<TaskSnapshot>(
        `/api/emails/sync/status/${encodeURIComponent(taskId)}`,
        signal,
      );
      failures = 0;
      onSnapshot(snapshot);
      if (isTerminal(snapshot.state)) return snapshot;
    } catch (err) {
      if (isAbort(err)) throw err;
      if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429) throw err;
      failures += 1;
      if (failures >= maxFailures) throw err;
    }
    await sleep(intervalMs, signal);
  }
}
