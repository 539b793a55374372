import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { METRICS_CHALLENGE, METRICS_UNAUTHORIZED_MESSAGE, metricsAccess } from "../core/metricsAccess";
import type { QuotaObserver } from "../core/sync/QuotaGate";
import type { DriveOutcome } from "../core/tasks/TaskDriver";

/**
 * What one worker process did, for Prometheus: syncs by outcome and mode, their durations, the
 * messages they wrote, and how many run right now. (Queue depth and task states are cluster-wide
 * and come from the web nodes' /metrics.)
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly syncs = new Counter({
    name: "inbox_sync_worker_syncs_total",
    help: "Sync runs by outcome (completed, failed, requeued, skipped, lost) and mode",
    labelNames: ["outcome", "mode"],
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: "inbox_sync_worker_sync_duration_seconds",
    help: "Duration of one sync run (a requeued run counts up to its hand-back)",
    labelNames: ["outcome"],
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800],
    registers: [this.registry],
  });
  private readonly messages = new Counter({
    name: "inbox_sync_worker_messages_total",
    help: "Messages written by completed syncs, by kind of change",
    labelNames: ["change"],
    registers: [this.registry],
  });
  private readonly batchFallbacks = new Counter({
    name: "inbox_sync_worker_gmail_batch_fallbacks_total",
    help: "Batch requests Gmail's batch endpoint refused as absent (404, 405, 501), whose messages were fetched one messages.get each",
    labelNames: ["status"],
    registers: [this.registry],
  });
  readonly running = new Gauge({
    name: "inbox_sync_worker_syncs_running",
    help: "Syncs running in this worker process now",
    registers: [this.registry],
  });

  private readonly quotaSpent = new Counter({
    name: "inbox_sync_worker_quota_units_spent_total",
    help: "Gmail quota units the gate let through, by method",
    labelNames: ["method"],
    registers: [this.registry],
  });
  private readonly quotaRefused = new Counter({
    name: "inbox_sync_worker_quota_units_refused_total",
    help: "Gmail quota units refused, by method, Google's reason and who refused (gate, gmail)",
    labelNames: ["method", "reason", "by"],
    registers: [this.registry],
  });
  /** Counts the quota gate's spending and refusals (GmailQuotaBudget.observer). */
  readonly quota: QuotaObserver = {
    spent: (method, units) => this.quotaSpent.inc({ method }, units),
    refused: (method, units, reason, by) => this.quotaRefused.inc({ method, reason, by }, units),
  };

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "inbox_sync_worker_" });
  }

  record(outcome: DriveOutcome, seconds: number): void {
    if (outcome.status === "held" || outcome.status === "gone" || outcome.status === "lost") {
      this.syncs.inc({ outcome: outcome.status === "lost" ? "lost" : "skipped", mode: "none" });
      return;
    }
    const label =
      outcome.status === "finished"
        ? outcome.snapshot.state
        : outcome.status === "parked"
          ? "parked"
          : "requeued";
    const result = outcome.status === "finished" ? outcome.snapshot.result : undefined;
    this.syncs.inc({ outcome: label, mode: result?.mode ?? "none" });
    this.duration.observe({ outcome: label }, seconds);
    if (result) {
      this.messages.inc({ change: "added" }, result.added);
      this.messages.inc({ change: "updated" }, result.updated);
      this.messages.inc({ change: "deleted" }, result.deleted);
    }
  }

  /** One batch request refused as absent (`status` 404, 405 or 501). */
  readonly countBatchFallback = (status: number): void => {
    this.batchFallbacks.inc({ status: String(status) });
  };

  /**
   * Serves GET /metrics on `port` (0 picks a free one) under the web's rule (core/metricsAccess.ts):
   * the bearer token `token` (METRICS_TOKEN) is required, and without one nothing is served (404).
   * Answers the server and its URL.
   */
  async serve(
    port: number,
    host: string,
    token: string | undefined,
  ): Promise<{ server: Server; url: string }> {
    const judge = metricsAccess(token);
    const server = createServer(async (req, res) => {
      const verdict =
        req.method === "GET" && req.url === "/metrics" ? judge(req.headers.authorization) : "not_served";
      if (verdict === "allowed") {
        res.writeHead(200, { "content-type": this.registry.contentType });
        res.end(await this.registry.metrics());
        return;
      }
      if (verdict === "unauthorized") {
        res.writeHead(401, { "content-type": "application/json", "www-authenticate": METRICS_CHALLENGE });
        res.end(JSON.stringify({ error: { code: "unauthorized", message: METRICS_UNAUTHORIZED_MESSAGE } }));
        return;
      }
      res.writeHead(404, { "content-type": "application/json" });
      const message = token
        ? "Only GET /metrics lives here."
        : "Metrics are not served: METRICS_TOKEN is unset.";
      res.end(JSON.stringify({ error: { code: "not_found", message } }));
    });
    await new Promise<void>((resolve) => server.listen(port, host, resolve));
    const address = server.address() as AddressInfo;
    return { server, url: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${address.port}/metrics` };
  }
}
