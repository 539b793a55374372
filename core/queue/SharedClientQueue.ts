import { Queue } from "bullmq";

/**
 * A BullMQ queue on a client it shares (the web's fail-fast request client, the worker's
 * publisher). BullMQ starts each queue's connection in the background (wait for Redis, then an
 * INFO for its version check) and reports a failure there as an 'error' event of that connection,
 * yet its close() removes all of the connection's listeners without waiting for that start-up.
 * A start-up that fails after close (the client dropped before Redis answered, or an INFO retried
 * after a cluster slot refresh meeting a client that is shutting down) then throws inside a
 * promise: an unhandled rejection, which ends the process (BullMQ issue 3546). So once closed,
 * the connection keeps a listener for that last report.
 */
export class SharedClientQueue<T = unknown> extends Queue<T> {
  override async close(): Promise<void> {
    try {
      await super.close();
    } finally {
      this.connection.on("error", () => {});
    }
  }
}
