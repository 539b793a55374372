import { existsSync } from "node:fs";
import path from "node:path";
import express, { type Express, type Request, type Response } from "express";
import { createMetrics } from "./metrics";
import { cookiePolicy, requireAuth, requireCsrf } from "./middleware/authenticate";
import { errorHandler, notFound } from "./middleware/errors";
import { requireMetricsToken } from "./middleware/metricsToken";
import {
  bearerGate,
  countFailedBearer,
  limitByIp,
  limitByUser,
  rateLimitsFor,
  streamSlot,
} from "./middleware/rateLimit";
import { privateAnswers, securityHeaders } from "./middleware/securityHeaders";
import { adminRoutes } from "./routes/admin";
import { accountRoutes } from "./routes/api/account";
import { accountsRoutes } from "./routes/api/accounts";
import { changeRoutes } from "./routes/api/changes";
import { emailRoutes } from "./routes/api/emails";
import { labelRoutes } from "./routes/api/labels";
import { meRoutes } from "./routes/api/me";
import { syncRoutes } from "./routes/api/sync";
import { tokenRoutes } from "./routes/api/tokens";
import { authRoutes } from "./routes/auth";
import { docsRoutes } from "./routes/docs";
import { healthRoutes } from "./routes/health";
import { webhookRoutes } from "./routes/webhooks";
import type { WebContext } from "./WebContext";

/** Where `npm run build` puts the browser app, seen from the sources or from the bundle in dist/. */
export const CLIENT_DIR =
  [
    path.resolve(import.meta.dirname, "..", "client"),
    path.resolve(import.meta.dirname, "..", "dist", "client"),
  ].find((dir) => existsSync(path.join(dir, "index.html")) && existsSync(path.join(dir, "app.js"))) ??
  path.resolve(import.meta.dirname, "..", "dist", "client");

/**
 * The browser app's own addresses (client/src/router.ts): each answers the app's page, which
 * reads the path. Named one by one so /api, /auth, /webhooks, /admin and the rest keep their own
 * answers (an unknown /api path stays a JSON 404).
 */
export const APP_PATHS = ["/mail", "/mail/:id", "/label/:id", "/search", "/settings"];

/** The web process's HTTP surface, built from a context so tests can run it in-process. */
export function createApp(ctx: WebContext, options: { clientDir?: string } = {}): Express {
  const app = express();
  app.disable("x-powered-by");
  const limits = rateLimitsFor(ctx);
  // TRUST_PROXY: the one rule for the client's address, shared with the Socket.IO handshake.
  app.set("trust proxy", limits.trustProxy);
  // No ETags on what res.send builds: the API's answers may not be stored (privateAnswers), so
  // nothing would ever revalidate one, and each costs a hash of the whole body (a message's HTML
  // included). Static files keep theirs (serve-static makes its own).
  app.set("etag", false);
  const metrics = createMetrics(ctx);
  app.use(metrics.timing);
  // Headers first, so every answer has them: errors, metrics and Bull Board included.
  app.use(securityHeaders(ctx.config));
  app.get("/metrics", requireMetricsToken(ctx.config), metrics.handler);
  app.use(adminRoutes(ctx));

  app.use(healthRoutes(ctx));
  app.get(["/auth/google", "/auth/google/callback"], limitByIp(limits.signIn));
  app.use(authRoutes(ctx));
  // Public, checked by Google's signed token instead of a session: Gmail's Pub/Sub push.
  app.use(webhookRoutes(ctx));
  // Public, before the API's authentication: the document and its reference page.
  app.use(docsRoutes(ctx.config));

  const api = express.Router();
  api.use(privateAnswers);
  api.use(express.json({ limit: "64kb" }));
  api.use(bearerGate(limits));
  api.use(requireAuth(ctx.sessions, cookiePolicy(ctx.config).session));
  api.use(countFailedBearer(limits));
  api.use(requireCsrf);
  api.post(["/emails/sync", "/emails/sync/stream"], limitByUser(limits.sync));
  api.post("/emails/sync/stream", streamSlot(limits));
  api.post("/tokens", limitByUser(limits.tokenCreate));
  api.use(meRoutes(ctx));
  api.use(tokenRoutes(ctx));
  api.use(accountRoutes(ctx));
  api.use(accountsRoutes(ctx));
  api.use(syncRoutes(ctx, metrics));
  api.use(emailRoutes(ctx));
  api.use(labelRoutes(ctx));
  api.use(changeRoutes(ctx));
  api.use(notFound);
  app.use("/api", api);

  const clientDir = options.clientDir ?? CLIENT_DIR;
  if (existsSync(clientDir)) {
    app.use(express.static(clientDir, { index: "index.html", maxAge: "1h", setHeaders: noCacheHtml }));
    const page = (_req: Request, res: Response) => {
      noCacheHtml(res, "index.html");
      res.sendFile(path.join(clientDir, "index.html"));
    };
    app.get(["/", ...APP_PATHS], page);
  } else {
    app.get("/", (_req, res) => {
      res
        .type("text/plain")
        .send("inbox-sync is running, but the browser app is not built. Run `npm run build`.");
    });
  }

  app.use(notFound);
  app.use(errorHandler(ctx.logger));
  return app;
}

function noCacheHtml(res: Response, file: string): void {
  if (file.endsWith(".html")) res.setHeader("Cache-Control", "no-cache");
}
