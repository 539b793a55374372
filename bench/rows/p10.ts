import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import path from "node:path";
import { Emitter } from "@socket.io/redis-emitter";
import { Redis } from "ioredis";
import { io, type Socket } from "socket.io-client";
import { socketKey } from "../../core/events";
import { freePort } from "../../scripts/lib/devServices";
import type { ApiClient } from "../../test/ApiClient";
import { percentile } from "../../test/pushLatency";
import type { BenchRow } from "../table";
import { type BenchContext, finished, stamp } from "./context";

/**
 * P10: one web process holding many signed-in sockets, each subscribed to its user's task; then
 * one event to each task room, published through Redis as a worker does. The floor is a bare
 * Socket.IO server with the same Redis adapter and the same clients (joining the same number of
 * rooms, with no authentication). Compared: the resident memory the sockets add to each server
 * (the app's idle footprint, mostly googleapis, is not the sockets' doing), and the fan-out
 * latency from publish to each socket. And a web node this full must still answer HTTP: 200 of
 * its users at once ask `GET /api/me`, then press Fetch (P1's burst), while the sockets are held.
 */

const rssMb = (pid: number): number => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return Number(line?.match(/(\d+)/)?.[1] ?? Number.NaN) / 1024;
};

interface Fleet {
  sockets: Socket[];
  samples: number[];
}

/** Connects `count` sockets in waves; `join` runs once each is connected. */
async function connectFleet(
  count: number,
  open: (i: number) => Socket,
  join: (socket: Socket, i: number) => Promise<void>,
): Promise<Fleet> {
  const fleet: Fleet = { sockets: [], samples: [] };
  for (let i = 0; i < count; i += 200) {
    const wave = Array.from({ length: Math.min(200, count - i) }, async (_, k) => {
      const socket = open(i + k);
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", () => resolve());
        socket.once("connect_error", reject);
      });
      socket.on("sync:progress", (s: { at: number }) => fleet.samples.push(Date.now() - s.at));
      await join(socket, i + k);
      fleet.sockets.push(socket);
    });
    await Promise.all(wave);
  }
  return fleet;
}

/** One event to every room, all published at once; waits until every socket has heard its own. */
async function fanOut(emitter: Emitter, rooms: string[], fleet: Fleet): Promise<number[]> {
  fleet.samples.length = 0;
  const t = Date.now();
  for (const room of rooms) emitter.to(room).emit("sync:progress", { taskId: room, at: t });
  const deadline = Date.now() + 60_000;
  while (fleet.samples.length < fleet.sockets.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  if (fleet.samples.length < fleet.sockets.length)
    throw new Error(`P10: ${fleet.samples.length}/${fleet.sockets.length} sockets heard their event`);
  return [...fleet.samples];
}

/**
 * Fan-out in rounds, samples pooled: one round's p99 is a handful of sockets, and on a shared
 * machine one scheduler hiccup moves it by half; both servers get the same rounds.
 */
async function fanOutRounds(rounds: number, ...args: Parameters<typeof fanOut>): Promise<number[]> {
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) samples.push(...(await fanOut(...args)));
  return samples;
}

const closeFleet = (fleet: Fleet) => {
  for (const s of fleet.sockets) s.close();
};

export async function p10(ctx: BenchContext): Promise<BenchRow[]> {
  const webPid = ctx.webAPid;
  const roomsCount = ctx.quick ? 50 : 1_000;
  const perRoom = ctx.quick ? 4 : 10;
  const total = roomsCount * perRoom;
  const rounds = ctx.quick ? 1 : 3;
  const publisher = new Redis(ctx.redisUrl);
  try {
    // Our web node: users with a finished task each; every socket subscribes to its user's task.
    const users = await ctx.users("p10", roomsCount, 1, ctx.webA);
    const tasks: string[] = [];
    for (let i = 0; i < users.length; i += 50) {
      const wave = users.slice(i, i + 50).map(async (u: ApiClient) => {
        const { body } = await u.json("POST", "/api/emails/sync");
        await finished(u, body.taskId);
        return body.taskId as string;
      });
      tasks.push(...(await Promise.all(wave)));
    }
    const idleRss = rssMb(webPid);
    ctx.log(`P10: connecting ${total} sockets to one web node…`);
    const connectStart = stamp();
    const ours = await connectFleet(
      total,
      (i) =>
        io(ctx.webA, {
          transports: ["websocket"],
          reconnection: false,
          extraHeaders: { cookie: users[i % roomsCount]!.cookieHeader },
        }),
      async (socket, i) => {
        const ack = await socket.emitWithAck("task:subscribe", { taskId: tasks[i % roomsCount] });
        if (!ack?.ok) throw new Error(`P10: task:subscribe answered ${JSON.stringify(ack)}`);
      },
    );
    const connectMs = (stamp() - connectStart) / total;
    const heldRss = rssMb(webPid);
    const ourFan = await fanOutRounds(
      rounds,
      new Emitter(publisher, { key: socketKey(ctx.queuePrefix) }),
      tasks.map((t) => `task:${t}`),
      ours,
    );

    // The P1 burst while the sockets are held: the node must still answer HTTP.
    const crowd = users.slice(0, ctx.quick ? 20 : 200);
    const timed = async (fn: () => Promise<unknown>) => {
      const t = stamp();
      await fn();
      return stamp() - t;
    };
    const health = await Promise.all(
      crowd.map(() => timed(() => fetch(`${ctx.webA}/healthz`).then((r) => r.text()))),
    );
    const me = await Promise.all(crowd.map((u) => timed(() => u.json("GET", "/api/me"))));
    // P1's burst itself (the issue's row): the same users press Fetch at once, beside a healthz
    // burst just before it. Each starts an incremental sync whose progress reaches its user's ten
    // sockets, as it would for real.
    const healthBeforePost = await Promise.all(
      crowd.map(() => timed(() => fetch(`${ctx.webA}/healthz`).then((r) => r.text()))),
    );
    const started: Array<{ status: number; taskId?: string }> = [];
    const post = await Promise.all(
      crowd.map((u, i) =>
        timed(async () => {
          const res = await u.json("POST", "/api/emails/sync");
          started[i] = { status: res.status, taskId: res.body?.taskId };
        }),
      ),
    );
    const accepted = started.filter((s) => s.status === 202).length;
    for (const [i, u] of crowd.entries()) if (started[i]?.taskId) await finished(u, started[i]!.taskId!);
    closeFleet(ours);

    // The floor: a bare server, the same clients and rooms.
    const port = await freePort();
    const key = `${ctx.queuePrefix}-bare10:socket.io`;
    const bare = spawn(
      process.execPath,
      ["--import", "tsx", path.join(import.meta.dirname, "../bare/socketServer.ts")],
      {
        env: { ...process.env, PORT: String(port), REDIS_URL: ctx.redisUrl, SOCKET_KEY: key },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    try {
      await once(bare.stdout!, "data");
      const bareIdle = rssMb(bare.pid!);
      const floor = await connectFleet(
        total,
        () => io(`http://127.0.0.1:${port}`, { transports: ["websocket"], reconnection: false }),
        async (socket, i) => {
          await socket.emitWithAck("join", `task:${tasks[i % roomsCount]}`);
        },
      );
      const bareHeld = rssMb(bare.pid!);
      const floorFan = await fanOutRounds(
        rounds,
        new Emitter(publisher, { key }),
        tasks.map((t) => `task:${t}`),
        floor,
      );
      closeFleet(floor);

      const judged = !ctx.quick;
      const oursPerSocket = ((heldRss - idleRss) * 1024) / total;
      const barePerSocket = ((bareHeld - bareIdle) * 1024) / total;
      const fanRatio = percentile(ourFan, 99) / percentile(floorFan, 99);
      return [
        {
          id: "P10",
          what: `memory the web process adds to hold ${total.toLocaleString("en-US")} signed-in, subscribed sockets`,
          figure: heldRss - idleRss,
          baseline: bareHeld - bareIdle,
          baselineWhat: "what a bare Socket.IO server adds for the same clients",
          unit: "MB",
          goal: "≤ 1.5× baseline",
          met: judged ? heldRss - idleRss <= 1.5 * (bareHeld - bareIdle) : null,
          note: `${oursPerSocket.toFixed(1)} kB vs ${barePerSocket.toFixed(1)} kB per socket; whole process ${heldRss.toFixed(0)} MB vs ${bareHeld.toFixed(0)} MB; connect, sign-in and subscribe ${connectMs.toFixed(2)} ms per socket`,
        },
        {
          id: "P10",
          what: `one event to each of ${roomsCount.toLocaleString("en-US")} task rooms: p99 of ${rounds} rounds`,
          figure: percentile(ourFan, 99),
          baseline: percentile(floorFan, 99),
          baselineWhat: "bare Socket.IO server, same rooms",
          unit: "ms",
          goal: "≤ 1.5× baseline",
          met: judged ? fanRatio <= 1.5 : null,
        },
        {
          id: "P10",
          what: `GET /api/me, ${crowd.length} users at once while the sockets are held: p99`,
          figure: percentile(me, 99),
          baseline: percentile(health, 99),
          baselineWhat: "GET /healthz, same burst",
          unit: "ms",
          goal: "≤ 3× baseline",
          met: judged ? percentile(me, 99) <= 3 * percentile(health, 99) : null,
        },
        {
          id: "P10",
          what: `POST /api/emails/sync, ${crowd.length} users at once while the sockets are held: p99`,
          figure: percentile(post, 99),
          baseline: percentile(healthBeforePost, 99),
          baselineWhat: "GET /healthz, a burst of the same users just before",
          unit: "ms",
          goal: "≤ 3× baseline",
          // A quick run judges no speed, but every answer must still be a 202.
          met:
            accepted !== crowd.length
              ? false
              : judged
                ? percentile(post, 99) <= 3 * percentile(healthBeforePost, 99)
                : null,
          note: `${accepted}/${crowd.length} answered 202; each then synced to the end`,
        },
      ];
    } finally {
      bare.kill("SIGTERM");
    }
  } finally {
    publisher.disconnect();
  }
}
