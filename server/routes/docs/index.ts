import { createRequire } from "node:module";
import path from "node:path";
import { type Request, type Response, Router } from "express";
import type { Config } from "../../../core/config";
import { docsContentSecurityPolicy } from "../../middleware/securityHeaders";
import { openApiDocument } from "../../openapi";

/**
 * Scalar's prebuilt page script, served from our origin: the policy allows scripts from 'self'
 * only, and reading the docs should tell no CDN who reads them.
 */
const SCALAR_SCRIPT = path.join(
  path.dirname(createRequire(import.meta.url).resolve("@scalar/api-reference")),
  "browser",
  "standalone.js",
);

const SCALAR_CONFIG = {
  url: "/api/openapi.json",
  // No web fonts from Scalar's servers; the system font is fine.
  withDefaultFonts: false,
  // One theme, the one checked with axe-core (e2e/docs.spec.ts).
  forceDarkModeState: "light",
  hideDarkModeToggle: true,
  telemetry: false,
  showDeveloperTools: "never",
  agent: { disabled: true },
  // Samples show what a script sends: a bearer token, not the browser's cookie. The document's
  // `servers` entry (PUBLIC_URL) gives them the full address.
  authentication: {
    preferredSecurityScheme: "bearer",
    securitySchemes: { bearer: { token: "isk_YOUR_TOKEN" } },
  },
};

/**
 * The page's one script of ours (the CSP refuses inline ones). Scalar bundles zod, whose first
 * use probes `Function("")` to see if it may compile validators; under our CSP that probe fails
 * quietly but is reported as a violation. zod reads its settings from this global, so asking for
 * its "jitless" mode first means the probe never runs. Then Scalar is loaded and started.
 */
const INIT_SCRIPT = `"use strict";
globalThis.__zod_globalConfig = Object.assign(globalThis.__zod_globalConfig || {}, { jitless: true });
const scalar = document.createElement("script");
scalar.src = "/api/docs/scalar.js";
scalar.addEventListener("load", () => Scalar.createApiReference("#app", ${JSON.stringify(SCALAR_CONFIG)}));
document.body.append(scalar);
`;

/**
 * Scalar's default light theme greys some text below WCAG AA's 4.5:1 (the sidebar's search hint,
 * method badges, secondary text). Its colours are CSS variables, darkened here.
 */
const DOCS_CSS = `.light-mode {
  --scalar-color-2: #4d4d4d;
  --scalar-color-3: #5c5c5c;
  --scalar-color-green: #1a7f37;
  --scalar-color-blue: #0b5cad;
  --scalar-color-orange: #9a4a00;
  --scalar-color-red: #b3261e;
  --scalar-color-purple: #6e40c9;
  --scalar-color-yellow: #7a5d00;
}
.home {
  display: flex;
  gap: 1.5rem;
  padding: 0.5rem 1rem;
  font: 14px/1.5 system-ui, sans-serif;
  border-bottom: 1px solid #d0d0d0;
}
.home a {
  color: #0b5cad;
}
`;

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>inbox-sync API reference</title>
    <link rel="stylesheet" href="/api/docs/docs.css" />
  </head>
  <body>
    <nav class="home" aria-label="inbox-sync">
      <a href="/">&larr; Back to the inbox-sync app</a>
      <a href="/settings">Create an API token</a>
    </nav>
    <div id="app"></div>
    <script src="/api/docs/init.js"></script>
  </body>
</html>
`;

/** The OpenAPI document and its reference page: public, like the API's shape itself. */
export function docsRoutes(config: Pick<Config, "env" | "publicUrl">): Router {
  const router = Router();
  const noCache = { "Cache-Control": "no-cache" };

  router.get("/api/openapi.json", (_req: Request, res: Response) => {
    res.set(noCache).json(openApiDocument(config.publicUrl));
  });

  router.get("/api/docs", docsContentSecurityPolicy(config), (_req: Request, res: Response) => {
    res.set(noCache).type("html").send(PAGE);
  });

  router.get("/api/docs/init.js", (_req: Request, res: Response) => {
    res.set(noCache).type("text/javascript").send(INIT_SCRIPT);
  });

  router.get("/api/docs/docs.css", (_req: Request, res: Response) => {
    res.set(noCache).type("text/css").send(DOCS_CSS);
  });

  router.get("/api/docs/scalar.js", (_req: Request, res: Response) => {
    res.sendFile(SCALAR_SCRIPT, {
      maxAge: "1h",
      headers: { "Content-Type": "text/javascript; charset=utf-8" },
    });
  });

  return router;
}
