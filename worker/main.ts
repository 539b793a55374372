import { DEMO_SWITCH_LINE } from "../core/config";
import { serveUntilStopped } from "../core/lifecycle";
import { startSyncWorker } from "./SyncWorker";

// On SIGTERM running syncs hand their tasks back to the queue before the process exits.
serveUntilStopped("worker", async (config) => {
  const worker = await startSyncWorker(config);
  if (config.demo) worker.ctx.logger.warn(DEMO_SWITCH_LINE);
  return { logger: worker.ctx.logger, close: () => worker.close() };
});
