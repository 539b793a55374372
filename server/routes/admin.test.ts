import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack, waitForTask, waitUntil } from "../../test/stack";

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

  it("refuses API tokens, an admin's own included: 403 session_required on the page and its API", async () => {
    const boss = await stack.signIn("boss@example.com");
    const { body } = await boss.json("POST", "/api/tokens", { name: "dashboard?", scopes: ["read", "sync"] });
    for (const path of ["/admin/queues", "/admin/queues/api/queues?activeQueue=email-sync&page=1"]) {
      const res = await fetch(`${stack.web.url}${path}`, {
        headers: { authorization: `Bearer ${body.token}` },
      });
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
      expect((await res.json()).error.code).toBe("session_required");
    }
    // A token beside the admin's cookie is still a token: the bearer is what was presented.
    const both = await boss.raw("GET", "/admin/queues", {
      headers: { authorization: `Bearer ${body.token}` },
    });
    expect(both.status).toBe(403);
    // A retry through Bull Board's API with a token changes nothing either.
    const retry = await fetch(`${stack.web.url}/admin/queues/api/queues/email-sync/retry/failed`, {
      method: "PUT",
      headers: { authorization: `Bearer ${body.token}` },
    });
    expect(retry.status).toBe(403);
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

describe("queue dashboard: admins by Google account id, and bad tokens limited", () => {
  const ADMIN_SUB = "109876543210987654321";
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      workers: 0,
      env: { ADMIN_SUBS: ADMIN_SUB, ADMIN_EMAILS: "listed@example.com", RATE_LIMIT_BAD_TOKEN: "3/60" },
    });
    await stack.simControl("POST", "/sim/accounts", { email: "root@example.com", count: 1, sub: ADMIN_SUB });
    await stack.simControl("POST", "/sim/accounts", { email: "listed@example.com", count: 1 });
  });
  afterAll(() => stack?.close());

  it("ADMIN_SUBS names the admin; once set, an address (ADMIN_EMAILS, or an admin's address passed to someone new) is not enough", async () => {
    const root = await stack.signIn("root@example.com");
    expect((await root.raw("GET", "/admin/queues")).status).toBe(200);

    const listed = await stack.signIn("listed@example.com");
    const refused = await listed.raw("GET", "/admin/queues");
    expect(refused.status).toBe(403);
    expect((await refused.json()).error.code).toBe("not_admin");

    // Google gives root's address to a new account: a new user, not an admin.
    const newcomerSub = "109876543210987654322";
    await stack.simControl("POST", "/sim/accounts", {
      email: "root@example.com",
      count: 1,
      sub: newcomerSub,
    });
    const newcomer = await stack.signIn("root@example.com");
    const denied = await newcomer.raw("GET", "/admin/queues");
    expect(denied.status).toBe(403);
    const { error } = await denied.json();
    expect(error.code).toBe("not_admin");
    // It tells the person their own id, for the operator to add if they should be one.
    expect(error.message).toContain(newcomerSub);
    expect((await root.raw("GET", "/admin/queues")).status).toBe(200);
  });

  it("bad bearer tokens there spend the same per-address budget as on /api: 401, then 429 everywhere", async () => {
    const hit = (path: string, token: string) =>
      fetch(`${stack.web.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    await waitUntil(async () => stack.web.ctx.redis?.status === "ready" || false, "redis");
    for (let i = 0; i < 3; i++) {
      const res = await hit("/admin/queues", `isk_guess${i}`);
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe("unauthorized");
    }
    for (const path of ["/admin/queues", "/api/me"]) {
      const res = await hit(path, "isk_guess-again");
      expect({ path, status: res.status }).toEqual({ path, status: 429 });
      expect((await res.json()).error.code).toBe("rate_limited");
    }
  });
});
