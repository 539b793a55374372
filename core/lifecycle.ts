import { type Config, loadConfig, runMain } from "./config";
import type { Logger } from "./logger";

export interface Service {
  logger: Logger;
  close(): Promise<void>;
}

/**
 * A process entry point: starts a service from the validated configuration and closes it once
 * on SIGTERM or SIGINT (a PaaS or compose stopping it), then exits.
 */
export function serveUntilStopped(name: string, start: (config: Config) => Promise<Service>): void {
  void runMain(name, async () => {
    const service = await start(loadConfig());
    let stopping = false;
    const stop = async (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      service.logger.info({ signal }, `${name} shutting down`);
      await service.close();
      process.exit(0);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}
