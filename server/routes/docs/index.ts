import { createRequire } from "node:module";
import path from "node:path";
import { type Request, type Response, Router } from "express";
import { openApiDocument } from "../../openapi";

/**
 * Scalar's prebuilt page script, served from our origin (no CDN: the policy allows scripts from
 * 'self' only, and the docs should not tell a third party who reads them).
 */
const SCALAR_SCRIPT = path.join(
  path.dirname(createRequire(import.meta.url).resolve("@scalar/api-reference")),
  "browser",
  "standalone.js",
);

/**
 * Scalar's configuration, as a script of our own rather than an inline one (which the CSP
 * refuses): no web fonts from Scalar's servers, requests sent straight to this origin.
 */
const INIT_SCRIPT = `Scalar.createApiReference("#app", ${JSON.stringify({
  url: "/api/openapi.json",
  withDefaultFonts: false,
  hideClientButton: false,
  telemetry: false,
  showDeveloperTools: "never",
  agent: { disabled: true },
})});\n`;

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>inbox-sync API reference</title>
  </head>
  <body>
    <div id="app"></div>
    <script src="/api/docs/scalar.js"></script>
    <script src="/api/docs/init.js"></script>
  </body>
</html>
`;

/** The OpenAPI document and its reference page: public, like the API's shape itself. */
export function docsRoutes(): Router {
  const router = Router();

  router.get("/api/openapi.json", (_req: Request, res: Response) => {
    res.set("Cache-Control", "no-cache").json(openApiDocument());
  });

  router.get("/api/docs", (_req: Request, res: Response) => {
    res.set("Cache-Control", "no-cache").type("html").send(PAGE);
  });

  router.get("/api/docs/init.js", (_req: Request, res: Response) => {
    res.set("Cache-Control", "no-cache").type("text/javascript").send(INIT_SCRIPT);
  });

  router.get("/api/docs/scalar.js", (_req: Request, res: Response) => {
    res.sendFile(SCALAR_SCRIPT, {
      maxAge: "1h",
      headers: { "Content-Type": "text/javascript; charset=utf-8" },
    });
  });

  return router;
}
