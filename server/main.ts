import { serveUntilStopped } from "../core/lifecycle";
import { startWebServer } from "./WebServer";

serveUntilStopped("web", async (config) => {
  const web = await startWebServer(config);
  return { logger: web.ctx.logger, close: () => web.close() };
});
