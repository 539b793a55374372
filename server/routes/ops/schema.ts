import { z } from "zod";
import { error, route } from "../api/route";

/** Answers of routes served outside /api: probes, metrics and the queue dashboard. */
export const healthz = route({
  method: "get",
  path: "/healthz",
  tag: "operations",
  auth: "none",
  summary: "Liveness: the process answers",
  responses: { 200: { description: "Alive", schema: z.object({ status: z.literal("ok") }) } },
});

const Readiness = z
  .object({
    status: z.enum(["ok", "unavailable"]),
    checks: z.object({ postgres: z.enum(["ok", "failed"]), redis: z.enum(["ok", "failed"]) }),
    failed: z.array(z.enum(["postgres", "redis"])),
  })
  .meta({ id: "Readiness" });

export const readyz = route({
  method: "get",
  path: "/readyz",
  tag: "operations",
  auth: "none",
  summary: "Readiness: PostgreSQL and Redis answer (names a failed one, never its error)",
  responses: {
    200: { description: "Ready", schema: Readiness },
    503: { description: "A dependency failed", schema: Readiness },
  },
});

export const metrics = route({
  method: "get",
  path: "/metrics",
  tag: "operations",
  auth: "none",
  summary: "Prometheus metrics; needs `Authorization: Bearer $METRICS_TOKEN`",
  responses: {
    200: { description: "Prometheus text exposition format", mediaType: "text/plain" },
    401: error("unauthorized: wrong or missing METRICS_TOKEN"),
    404: error("not_found: METRICS_TOKEN is not configured"),
  },
});

export const adminQueues = route({
  method: "get",
  path: "/admin/queues",
  tag: "operations",
  auth: "session",
  summary:
    "Bull Board, the queue dashboard (an HTML app with its own API), for the admins of ADMIN_SUBS and ADMIN_EMAILS, in a browser session only",
  responses: {
    200: { description: "The dashboard page", mediaType: "text/html" },
    401: error("unauthorized or token_expired"),
    403: error("not_admin, cross_origin, or session_required (an API token, however good, never reaches it)"),
    503: error("queue_unavailable: streaming-fallback mode"),
  },
});

export const browserApp = route({
  method: "get",
  path: "/",
  tag: "operations",
  auth: "none",
  summary: "The browser app",
  responses: { 200: { description: "The app's page", mediaType: "text/html" } },
});
