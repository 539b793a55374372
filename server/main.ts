import { DEMO_SWITCH_LINE } from "../core/config";
import { serveUntilStopped } from "../core/lifecycle";
import { startWebServer } from "./WebServer";

serveUntilStopped("web", async (config) => {
  const web = await startWebServer(config);
  if (config.demo) web.ctx.logger.warn(DEMO_SWITCH_LINE);
  return { logger: web.ctx.logger, close: () => web.close() };
});
