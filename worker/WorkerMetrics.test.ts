import type { Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { WorkerMetrics } from "./WorkerMetrics";

const TOKEN = "w0rker-metrics-8d1f3a6c92e04b7d5a1c8e3f6b20d947";

describe("a worker's /metrics port", () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });
  async function serve(token: string | undefined) {
    const { server, url } = await new WorkerMetrics().serve(0, "127.0.0.1", token);
    servers.push(server);
    return url;
  }

  it("answers 401 with a bearer challenge without METRICS_TOKEN's bearer, 200 and the metrics with it", async () => {
    const url = await serve(TOKEN);
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
    expect(await none.json()).toEqual({
      error: { code: "unauthorized", message: "Metrics need 'Authorization: Bearer <METRICS_TOKEN>'." },
    });
    const wrong = await fetch(url, { headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}x` } });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain("inbox_sync_");
    const right = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(right.status).toBe(200);
    expect(await right.text()).toMatch(/^inbox_sync_worker_syncs_running 0$/m);
  });

  it("serves nothing (404) when METRICS_TOKEN is unset, whatever bearer is sent", async () => {
    const url = await serve(undefined);
    for (const headers of [{}, { authorization: "Bearer x" }] as Record<string, string>[]) {
      const res = await fetch(url, { headers });
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain("inbox_sync_");
    }
  });
});
