import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { io } from "socket.io-client";
import { freePort } from "../../scripts/lib/devServices";
import { measurePushLatency, percentile } from "../../test/pushLatency";
import { type BenchRow, medianRun, thinned } from "../table";
import { type BenchContext, finished } from "./context";

/**
 * P2: a progress push from a worker process to a socket on another web node, during a load of
 * many syncs, against the floor of the same layout with nothing of ours in it: an emitter in one
 * process, a bare Socket.IO server with the Redis adapter in another, the client in a third.
 * Both are measured at the same time, under the same load, and the same way: the floor's samples
 * are those that arrived while the watched sync ran, thinned evenly to as many as the sync
 * pushed (a slower ticker), and each side's p99 is taken over that same count. Three runs, each
 * with a load of its own; the median ratio.
 */
export async function p2(ctx: BenchContext): Promise<BenchRow[]> {
  const loadCount = ctx.quick ? 10 : 100;
  const loadSize = ctx.quick ? 50 : 300;
  const observed = ctx.quick ? 300 : 1200;
  const runs = ctx.quick ? 1 : 3;

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
    const results: Run[] = [];
    for (let i = 0; i < runs; i++) {
      results.push(await oneRun(ctx, { key, floor, loadCount, loadSize, observed }));
    }
    const { mid, ratios } = medianRun(results, (r) => r.ours / r.base);
    const completed = results.every((r) => r.completed);
    return [
      {
        id: "P2",
        what: `progress push worker → socket on the other node, ${loadCount} syncs running: p99`,
        figure: mid.ours,
        baseline: mid.base,
        baselineWhat: "bare emitter → adapter → client, same count of samples",
        ratios,
        unit: "ms",
        goal: "≤ 2× floor (median)",
        met: !completed ? false : ctx.quick ? null : mid.ours <= 2 * mid.base,
        note: `${mid.count} pushes a run on each side, p99 by nearest rank (of so few, the slowest); ${results.map((r) => `${r.count} of ${r.floorSeen}`).join(", ")} floor samples kept`,
      },
    ];
  } finally {
    client.close();
    bare.kill("SIGTERM");
  }
}

interface Run {
  ours: number;
  base: number;
  count: number;
  floorSeen: number;
  completed: boolean;
}

/** One run: a fresh load, the floor's ticker and the watched sync together. */
async function oneRun(
  ctx: BenchContext,
  o: { key: string; floor: number[]; loadCount: number; loadSize: number; observed: number },
): Promise<Run> {
  const load = await ctx.users("p2-load", o.loadCount, o.loadSize, ctx.webA);
  const [watcher] = await ctx.users("p2-watch", 1, o.observed, ctx.webA);
  // The floor's publisher runs in a process of its own, as a worker does.
  const ticker = spawn(
    process.execPath,
    ["--import", "tsx", path.join(import.meta.dirname, "../bare/emitter.ts")],
    {
      env: { ...process.env, REDIS_URL: ctx.redisUrl, SOCKET_KEY: o.key, ROOM: "p2", INTERVAL_MS: "20" },
      stdio: "ignore",
    },
  );
  try {
    const started = await Promise.all(load.map((u) => u.json("POST", "/api/emails/sync")));
    o.floor.length = 0;
    const push = await measurePushLatency({
      url: ctx.webB,
      auth: { cookie: watcher!.cookieHeader },
      start: async () => (await watcher!.json("POST", "/api/emails/sync")).body.taskId,
    });
    const window = [...o.floor];
    await Promise.all(started.map((s, i) => finished(load[i]!, s.body.taskId)));
    const kept = thinned(window, push.samples.length);
    return {
      ours: percentile(push.samples, 99),
      base: percentile(kept, 99),
      count: push.samples.length,
      floorSeen: window.length,
      completed: push.final.state === "completed",
    };
  } finally {
    ticker.kill("SIGTERM");
  }
}
