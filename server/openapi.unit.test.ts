import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../core/config";
import { createLogger } from "../core/logger";
import { createApp } from "./app";
import { openApiDocument, openApiPath } from "./openapi";
import type { WebContext } from "./WebContext";

/** The app with no database, Redis or Google behind it: only its routing table is read here. */
function routingOnlyApp() {
  const config = loadConfig({
    SESSION_SECRET: "s".repeat(40),
    TOKEN_ENCRYPTION_KEY: "ab".repeat(32),
    GMAIL_SIM_URL: "http://127.0.0.1:9",
  });
  const ctx = {
    config,
    logger: createLogger("test", "silent"),
    redis: null,
    queue: null,
  } as unknown as WebContext;
  return createApp(ctx, { clientDir: "/nonexistent" });
}

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  rawPath?: string | string[];
  handle: { stack?: Layer[] };
}

/** Every method and path Express routes, walking mounted routers (Express 5's router 2.x layers). */
function expressRoutes(stack: Layer[], prefix = ""): string[] {
  const found: string[] = [];
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const method of Object.keys(layer.route.methods).filter((m) => m !== "_all")) {
        for (const path of paths) found.push(`${method.toUpperCase()} ${prefix}${path}`);
      }
    } else if (layer.handle.stack) {
      const mount = typeof layer.rawPath === "string" && layer.rawPath !== "/" ? layer.rawPath : "";
      // Bull Board's own pages and API live under its mount; the document names the dashboard once.
      if (mount === "/admin/queues") continue;
      found.push(...expressRoutes(layer.handle.stack, prefix + mount));
    }
  }
  return [...new Set(found)].sort();
}

describe("the OpenAPI document", () => {
  const document = openApiDocument();

  it("names every route Express serves, with its method", () => {
    const app = routingOnlyApp() as unknown as { router: { stack: Layer[] } };
    const routes = expressRoutes(app.router.stack);
    // The walk itself works: it finds routes from the app, the /api router and the sign-in.
    expect(routes).toEqual(
      expect.arrayContaining([
        "GET /api/emails/:id",
        "POST /api/emails/sync/stream",
        "GET /auth/google/callback",
      ]),
    );
    const documented = new Set(
      Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
        Object.keys(item ?? {}).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );
    const missing = routes.filter((route) => {
      const [method, path] = route.split(" ");
      return !documented.has(`${method} ${openApiPath(path!)}`);
    });
    expect(missing).toEqual([]);
  });

  it("validates as OpenAPI 3.1", async () => {
    const validator = new Validator();
    const result = await validator.validate(document as unknown as Parameters<Validator["validate"]>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("declares bodies, parameters and every answer from the routes' schemas", () => {
    const list = document.paths?.["/api/emails"]?.get;
    expect(list?.parameters?.map((p) => ("name" in p ? p.name : ""))).toEqual([
      "limit",
      "cursor",
      "q",
      "label",
      "threadId",
    ]);
    expect(Object.keys(list?.responses ?? {}).sort()).toEqual(["200", "400", "401", "403"]);
    const create = document.paths?.["/api/tokens"]?.post;
    expect(create?.requestBody).toBeDefined();
    expect(Object.keys(create?.responses ?? {}).sort()).toEqual([
      "201",
      "400",
      "401",
      "403",
      "409",
      "413",
      "429",
    ]);
    expect(document.components?.schemas).toHaveProperty("TaskSnapshot");
    expect(document.components?.schemas).toHaveProperty("ApiError");
  });

  it("the task snapshot describes its pace: rate, rateLimitedBy, etaAt, unitsPerMessage, and the daily_budget wait, beside every older field", () => {
    const snapshot = document.components?.schemas?.TaskSnapshot as {
      properties: Record<string, { enum?: unknown[]; anyOf?: Array<{ enum?: unknown[] }> }>;
    };
    expect(Object.keys(snapshot.properties)).toEqual(
      expect.arrayContaining(["taskId", "state", "progress", "waiting", "retryAt", "seq", "at"]),
    );
    expect(snapshot.properties.waiting?.enum).toEqual(
      expect.arrayContaining(["worker", "no_workers", "retry", "quota", "daily_budget"]),
    );
    expect(snapshot.properties).toHaveProperty("rate");
    expect(snapshot.properties).toHaveProperty("etaAt");
    expect(snapshot.properties).toHaveProperty("unitsPerMessage");
    const limiter = JSON.stringify(snapshot.properties.rateLimitedBy);
    for (const name of ["user_quota", "project_quota", "daily_budget", "gmail", "null"])
      expect(limiter).toContain(name);
  });

  it("names the app's PUBLIC_URL as its server and its settings page as where tokens come from, and still validates", async () => {
    const served = openApiDocument("https://mail.example.com");
    expect(served.servers).toEqual([{ url: "https://mail.example.com", description: "This inbox-sync" }]);
    const bearer = served.components?.securitySchemes?.bearer as { description?: string } | undefined;
    expect(bearer?.description).toContain("https://mail.example.com/settings");
    expect(openApiDocument("https://other.example.com").servers?.[0]?.url).toBe("https://other.example.com");
    expect(document.servers).toBeUndefined();
    const result = await new Validator().validate(served as unknown as Parameters<Validator["validate"]>[0]);
    expect(result.errors ?? []).toEqual([]);
  });
});
