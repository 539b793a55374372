import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack, waitForTask } from "../../test/stack";

const METRICS_TOKEN = "scrape-5c81e0f7a2b94d36e1c07f8a2d4b69e3";

describe("operations: queue dashboard and metrics", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { ADMIN_EMAILS: "boss@example.com", METRICS_TOKEN } });
    await stack.simControl("POST", "/sim/accounts", { email: "boss@example.com", count: 40 });
    await stack.simControl("POST", "/sim/accounts", { email: "staff@example.com", count: 5 });
  });
  afterAll(() => stack?.close());

  it("opens /admin/queues to admins only", async () => {
    const anonymous = await fetch(`${stack.web.url}/admin/queues`, { redirect: "manual" });
    expect(anonymous.status).toBe(401);
    const staff = await stack.signIn("staff@example.com");
    const refused = await staff.raw("GET", "/admin/queues");
    expect(refused.status).toBe(403);
    expect((await refused.json()).error.code).toBe("not_admin");

    const boss = await stack.signIn("boss@example.com");
    const page = await boss.raw("GET", "/admin/queues");
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    const { body } = await boss.json("POST", "/api/emails/sync");
    await waitForTask(boss, body.taskId);
    const queues = await boss.json(
      "GET",
      "/admin/queues/api/queues?activeQueue=email-sync&status=completed&page=1",
    );
    expect(queues.status).toBe(200);
    const names = queues.body.queues.map((q: any) => q.name);
    expect(names).toContain("email-sync");
  });

  it("exports Prometheus metrics for the queue, workers, tasks and requests", async () => {
    const user = await stack.signIn("staff@example.com");
    const { body } = await user.json("POST", "/api/emails/sync");
    await waitForTask(user, body.taskId);
    const res = await fetch(`${stack.web.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^inbox_sync_workers_alive 1$/m);
    expect(text).toMatch(/^inbox_sync_tasks\{state="completed"\} [1-9]/m);
    expect(text).toMatch(/^inbox_sync_queue_jobs\{state="completed"\} [1-9]/m);
    expect(text).toMatch(/^inbox_sync_sync_requests_total\{outcome="accepted"\} [1-9]/m);
    expect(text).toMatch(
      /inbox_sync_http_request_duration_seconds_count\{method="GET",route="\/api\/emails\/sync\/status\/:taskId",status="200"\} [1-9]/,
    );
  });

  it("a worker serves its own metrics to METRICS_TOKEN's bearer: syncs by outcome, durations and messages written", async () => {
    const withMetrics = await startStack({ workers: 1, env: { WORKER_METRICS_PORT: "0", METRICS_TOKEN } });
    const scrape = { headers: { authorization: `Bearer ${METRICS_TOKEN}` } };
    try {
      await withMetrics.simControl("POST", "/sim/accounts", { email: "counted@example.com", count: 35 });
      const user = await withMetrics.signIn("counted@example.com");
      await waitForTask(user, (await user.json("POST", "/api/emails/sync")).body.taskId);
      const url = withMetrics.workers[0]!.metricsUrl!;
      // The worker counts a run just after it writes the task's final row: read until it has.
      let text = "";
      for (let i = 0; i < 100 && !text.includes('outcome="completed"'); i++) {
        if (i) await new Promise((r) => setTimeout(r, 20));
        text = await (await fetch(url, scrape)).text();
      }
      expect(text).toMatch(/^inbox_sync_worker_syncs_total\{outcome="completed",mode="full"\} 1$/m);
      expect(text).toMatch(/^inbox_sync_worker_messages_total\{change="added"\} 35$/m);
      expect(text).toMatch(/^inbox_sync_worker_sync_duration_seconds_count\{outcome="completed"\} 1$/m);
      expect(text).toMatch(/^inbox_sync_worker_syncs_running 0$/m);
      expect((await fetch(url.replace("/metrics", "/other"))).status).toBe(404);
      expect((await fetch(url)).status).toBe(401);
    } finally {
      await withMetrics.close();
    }
  });
});
