import { serveUntilStopped } from "../core/lifecycle";
import { startSyncWorker } from "./SyncWorker";

// On SIGTERM running syncs hand their tasks back to the queue before the process exits.
serveUntilStopped("worker", async (config) => {
  const worker = await startSyncWorker(config);
  return { logger: worker.ctx.logger, close: () => worker.close() };
});
