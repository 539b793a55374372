import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { io } from "socket.io-client";
import { freePort } from "../../scripts/lib/devServices";
import { measurePushLatency, percentile } from "../../test/pushLatency";
import type { BenchRow } from "../table";
import { type BenchContext, finished } from "./context";

/**
 * P2: a progress push from a worker process to a socket on another web node, during a load of
 * many syncs, against the floor of the same layout with nothing of ours in it: an emitter in one
 * process, a bare Socket.IO server with the Redis adapter in another, the client in a third.
 * Both are measured at the same time, under the same load.
 */
export async function p2(ctx: BenchContext): Promise<BenchRow[]> {
  const loadCount = ctx.quick ? 10 : 100;
  const loadSize = ctx.quick ? 50 : 300;
  const observed = ctx.quick ? 300 : 1200;

  const port = await freePort();
  const key = `${ctx.queuePrefix}-bare:socket.io`;
  const bare = spawn(
    process.execPath,
    ["--import", "tsx", path.join(import.meta.dirname, "../bare/socketServer.ts")],
    {
      env: { ...process.env, PORT: String(port), REDIS_URL: ctx.redisUrl, SOCKET_KEY: key },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  await once(bare.stdout!, "data");
  const client = io(`http://127.0.0.1:${port}`, { transports: ["websocket"], reconnection: false });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("connect_error", reject);
    });
    await client.emitWithAck("join", "p2");
    const floor: number[] = [];
    client.on("sync:progress", (s: { at: number }) => floor.push(Date.now() - s.at));

    const load = await ctx.users("p2-load", loadCount, loadSize, ctx.webA);
    const [watcher] = await ctx.users("p2-watch", 1, observed, ctx.webA);
    // The floor's publisher runs in a process of its own, as a worker does.
    const ticker = spawn(
      process.execPath,
      ["--import", "tsx", path.join(import.meta.dirname, "../bare/emitter.ts")],
      {
        env: { ...process.env, REDIS_URL: ctx.redisUrl, SOCKET_KEY: key, ROOM: "p2", INTERVAL_MS: "20" },
        stdio: "ignore",
      },
    );
    const started = await Promise.all(load.map((u) => u.json("POST", "/api/emails/sync")));
    const push = await measurePushLatency({
      url: ctx.webB,
      auth: { cookie: watcher!.cookieHeader },
      start: async () => (await watcher!.json("POST", "/api/emails/sync")).body.taskId,
    });
    ticker.kill("SIGTERM");
    await Promise.all(started.map((s, i) => finished(load[i]!, s.body.taskId)));

    const ours = percentile(push.samples, 99);
    const base = percentile(floor, 99);
    return [
      {
        id: "P2",
        what: `progress push worker → socket on the other node, ${loadCount} syncs running: p99`,
        figure: ours,
        baseline: base,
        baselineWhat: "bare emitter → adapter → client",
        unit: "ms",
        goal: "≤ 2× baseline",
        met: push.final.state !== "completed" ? false : ctx.quick ? null : ours <= 2 * base,
        note: `${push.samples.length} pushes, ${floor.length} floor samples`,
      },
    ];
  } finally {
    client.close();
    bare.kill("SIGTERM");
  }
}
