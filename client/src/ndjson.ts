import type { TaskSnapshot } from "../../core/contract";
import { ApiError, send } from "./api";

export interface StreamOptions {
  signal: AbortSignal;
  /** The task's id, from the X-Task-Id header, before the first line arrives. */
  onTaskId?: (taskId: string) => void;
  /** What to sync (a new task's options), as for POST /api/emails/sync. */
  body?: unknown;
}

/**
 * The last link of the fallback chain: `POST` the streaming endpoint and read its
 * `application/x-ndjson` body as it arrives, one task snapshot per line. Answers the last
 * snapshot read (normally completed or failed), or null for an empty stream.
 */
export async function streamSync(
  url: string,
  onSnapshot: (snapshot: TaskSnapshot) => void,
  options: StreamOptions,
): Promise<TaskSnapshot | null> {
  const res = await send("POST", url, {
    accept: "application/x-ndjson",
    signal: options.signal,
    body: options.body,
  });
  const headerId = res.headers.get("X-Task-Id");
  if (headerId) options.onTaskId?.(headerId);
  if (!res.body) throw new ApiError(0, "stream_interrupted", "The stream had no body.");

  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let last: TaskSnapshot | null = null;
  const take = (line: string) => {
    const text = line.trim();
    if (!text) return;
    let snapshot: TaskSnapshot;
    try {
      snapshot = JSON.parse(text) as TaskSnapshot;
    } catch {
      return; // a torn or foreign line: the next one carries the whole state again
    }
    last = snapshot;
    onSnapshot(snapshot);
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        take(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf("\n");
      }
    }
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(0, "stream_interrupted", "The connection dropped during the sync.");
  } finally {
    reader.releaseLock();
  }
  take(buffer + decoder.decode());
  return last;
}
