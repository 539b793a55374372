import { loadConfig, runMain } from "../core/config";
import { startSyncWorker } from "./SyncWorker";

void runMain("worker", async () => {
  const worker = await startSyncWorker(loadConfig());
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    worker.ctx.logger.info({ signal }, "worker shutting down: handing running syncs back to the queue");
    await worker.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
});
