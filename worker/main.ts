import { DEMO_SWITCH_LINE } from "../core/config";
import { serveUntilStopped } from "../core/lifecycle";
import { lowerPriority } from "./cpuPriority";
import { startSyncWorker } from "./SyncWorker";

// On SIGTERM running syncs hand their tasks back to the queue before the process exits.
serveUntilStopped("worker", async (config) => {
  // Before the worker starts its connections, so that the threads they start inherit it.
  const priority = lowerPriority(config.workerNice);
  const worker = await startSyncWorker(config);
  if (priority.failed > 0) {
    worker.ctx.logger.warn(
      { niceness: config.workerNice, failed: priority.failed },
      "could not lower the priority of every worker thread",
    );
  }
  if (config.demo) worker.ctx.logger.warn(DEMO_SWITCH_LINE);
  return { logger: worker.ctx.logger, close: () => worker.close() };
});
