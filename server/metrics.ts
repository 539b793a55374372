import type { NextFunction, Request, Response } from "express";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { WATCH_FAILING_ALERT_MS } from "../core/health/accountHealth";
import { aliveWorkers } from "../core/workerHeartbeat";
import type { WebContext } from "./WebContext";

/**
 * Prometheus metrics of a web node. Queue depth, live workers and task states are read when
 * scraped, from Redis and PostgreSQL, so every node reports the same cluster-wide numbers.
 */
export function createMetrics(ctx: WebContext) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "inbox_sync_" });

  const httpDuration = new Histogram({
    name: "inbox_sync_http_request_duration_seconds",
    help: "HTTP request duration by route and status",
    labelNames: ["method", "route", "status"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const syncRequests = new Counter({
    name: "inbox_sync_sync_requests_total",
    help: "POST /api/emails/sync answers by outcome",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const gmailPushes = new Counter({
    name: "inbox_sync_gmail_pushes_total",
    help: "POST /webhooks/gmail answers by outcome: queued, unknown_address, replayed (a messageId seen already), or the status",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const batchFallbacks = new Counter({
    name: "inbox_sync_gmail_batch_fallbacks_total",
    help: "Batch requests of streamed syncs that Gmail's batch endpoint refused as absent (404, 405, 501), whose messages were fetched one messages.get each",
    labelNames: ["status"],
    registers: [registry],
  });
  /** Counts one refused batch request of a sync this node runs (the streaming fallback). */
  const countBatchFallback = (status: number): void => {
    batchFallbacks.inc({ status: String(status) });
  };
  new Gauge({
    name: "inbox_sync_queue_jobs",
    help: "Jobs in the email-sync queue by state",
    labelNames: ["state"],
    registers: [registry],
    async collect() {
      if (!ctx.queue || ctx.queueRedis?.status !== "ready") return;
      const counts = await ctx.queue.getJobCounts(
        "waiting",
        "active",
        "delayed",
        "failed",
        "completed",
        "prioritized",
      );
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: "inbox_sync_workers_alive",
    help: "Worker processes with a fresh heartbeat",
    registers: [registry],
    async collect() {
      const redis = ctx.redis;
      if (redis?.status !== "ready") return this.set(0);
      this.set(await aliveWorkers(redis, ctx.config.queuePrefix, ctx.config.workerHeartbeatTtlSeconds));
    },
  });
  new Gauge({
    name: "inbox_sync_gmail_accounts",
    help:
      "Gmail accounts by health: connected, reauth_required, watch_lapsed (connected, push watch ended), " +
      "watch_failing (connected, renewals failing for a day); the last two need a person (docs/health.md)",
    labelNames: ["health"],
    registers: [registry],
    async collect() {
      const counts = await ctx.repos.health.counts(new Date(), WATCH_FAILING_ALERT_MS);
      this.set({ health: "connected" }, counts.connected);
      this.set({ health: "reauth_required" }, counts.reauthRequired);
      // Without push no watch exists: nothing has lapsed.
      const pushOn = ctx.config.gmailPush.topic !== null;
      this.set({ health: "watch_lapsed" }, pushOn ? counts.watchLapsed : 0);
      this.set({ health: "watch_failing" }, pushOn ? counts.watchFailing : 0);
    },
  });
  new Gauge({
    name: "inbox_sync_tasks",
    help: "Sync tasks by state (open ones, and those finished in the last hour)",
    labelNames: ["state"],
    registers: [registry],
    async collect() {
      const counts = await ctx.repos.tasks.countByRecentState();
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: "inbox_sync_sockets_connected",
    help: "Socket.IO connections on this node",
    registers: [registry],
    collect() {
      this.set(ctx.io?.engine.clientsCount ?? 0);
    },
  });

  /** Times every request, labelled by its route pattern (never the raw path: ids would explode it). */
  const timing = (req: Request, res: Response, next: NextFunction) => {
    const end = httpDuration.startTimer();
    res.on("finish", () => {
      const route = req.route?.path
        ? `${req.baseUrl}${req.route.path}`
        : res.statusCode === 404
          ? "unmatched"
          : req.baseUrl || "static";
      end({ method: req.method, route, status: String(res.statusCode) });
      if (route === "/api/emails/sync" && req.method === "POST") {
        syncRequests.inc({ outcome: res.statusCode === 202 ? "accepted" : String(res.statusCode) });
      }
      if (route === "/webhooks/gmail") {
        gmailPushes.inc({ outcome: res.locals.gmailPush ?? String(res.statusCode) });
      }
    });
    next();
  };

  const handler = async (_req: Request, res: Response) => {
    res.type(registry.contentType).send(await registry.metrics());
  };

  return { registry, timing, handler, countBatchFallback };
}
