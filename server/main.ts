import { loadConfig, runMain } from "../core/config";
import { startWebServer } from "./WebServer";

void runMain("web", async () => {
  const web = await startWebServer(loadConfig());
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    web.ctx.logger.info({ signal }, "web shutting down");
    await web.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
});
