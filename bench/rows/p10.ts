import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { Emitter } from "@socket.io/redis-emitter";
import { Redis } from "ioredis";
import { io, type Socket } from "socket.io-client";
import { socketKey } from "../../core/events";
import { freePort } from "../../scripts/lib/devServices";
import type { ApiClient } from "../../test/ApiClient";
import { spawnWeb } from "../../test/processes";
import { percentile } from "../../test/pushLatency";
import { type BenchRow, medianRun } from "../table";
import { type BenchContext, finished, stamp } from "./context";
import { closeFleet, connectFleet, type Fleet, fanOut, forceGc, gcFlags, rssMb } from "./fleet";

/**
 * P10: one web process holding many signed-in sockets, each subscribed to its user's task, against
 * a bare Socket.IO server with the same Redis adapter and the same clients (no authentication).
 * Both servers start fresh for this row with the same flags, get the same warm-up (the whole
 * fleet connected, one fan-out, all closed) and a forced full GC before every memory reading.
 * Judged, each the median of three readings or rounds: the memory the sockets add, one event to
 * each of many task rooms, and one event to a single room holding every socket. Beside them: the
 * whole process's memory, and HTTP answered while the sockets are held (P1's burst).
 */

const METRICS_TOKEN = "bench-p10-metrics-token-0123456789abcdef";

/** One server under test: how its clients connect and join, and how it is measured. */
interface Side {
  pid: number;
  inspectPort: number;
  emitter: Emitter;
  /** A socket for client `i`; `one`: the client of the single-room fleet. */
  open(i: number, one: boolean): Socket;
  join(socket: Socket, i: number, one: boolean): Promise<void>;
  connected(): Promise<number>;
}

interface SideResult {
  idleMb: number;
  heldMb: number[];
  manyP99: number[];
  oneP99: number[];
  connectMs: number;
}

/** Warm-up, then the readings and rounds; `whileHeld` runs with the many-room fleet connected. */
async function measure(
  side: Side,
  rooms: string[],
  total: number,
  rounds: number,
  whileHeld?: () => Promise<void>,
) {
  const many = (one: boolean) =>
    connectFleet(
      total,
      (i) => side.open(i, one),
      (s, i) => side.join(s, i, one),
    );
  const warm = await many(false);
  await fanOut(side.emitter, rooms, warm);
  await closeFleet(warm, side.connected);
  await forceGc(side.inspectPort);
  const idleMb = rssMb(side.pid);
  const t = stamp();
  const fleet = await many(false);
  const connectMs = (stamp() - t) / total;
  const result: SideResult = { idleMb, heldMb: [], manyP99: [], oneP99: [], connectMs };
  for (let r = 0; r < rounds; r++) {
    result.manyP99.push(await fanOut(side.emitter, rooms, fleet));
    await forceGc(side.inspectPort);
    result.heldMb.push(rssMb(side.pid));
  }
  await whileHeld?.();
  await closeFleet(fleet, side.connected);
  const single: Fleet = await many(true);
  for (let r = 0; r < rounds; r++) result.oneP99.push(await fanOut(side.emitter, [rooms[0]!], single));
  await closeFleet(single, side.connected);
  return result;
}

export async function p10(ctx: BenchContext): Promise<BenchRow[]> {
  const roomsCount = ctx.quick ? 50 : 1_000;
  const perRoom = ctx.quick ? 4 : 10;
  const total = roomsCount * perRoom;
  const rounds = ctx.quick ? 1 : 3;
  const publisher = new Redis(ctx.redisUrl);
  const inspectPort = await freePort();
  // A web node of its own, fresh, on the main stack's queue (its workers run the tasks below).
  const web = await spawnWeb({
    databaseUrl: ctx.databaseUrl,
    redisUrl: ctx.redisUrl,
    queuePrefix: ctx.queuePrefix,
    simUrl: ctx.simUrl,
    env: { NODE_OPTIONS: gcFlags(inspectPort), METRICS_TOKEN },
  });
  try {
    const users = await ctx.users("p10", roomsCount, 1, web.url);
    const tasks: string[] = [];
    for (let i = 0; i < users.length; i += 50) {
      const wave = users.slice(i, i + 50).map(async (u: ApiClient) => {
        const { body } = await u.json("POST", "/api/emails/sync");
        await finished(u, body.taskId);
        return body.taskId as string;
      });
      tasks.push(...(await Promise.all(wave)));
    }
    const rooms = tasks.map((t) => `task:${t}`);
    ctx.log(`P10: ${total} sockets to a fresh web node…`);
    let http: BenchRow[] = [];
    const ours = await measure(
      appSide(ctx, web.url, web.child.pid!, inspectPort, users, tasks, publisher),
      rooms,
      total,
      rounds,
      async () => {
        http = await httpWhileHeld(ctx, web.url, users);
      },
    );
    ctx.log("P10: the same to a bare Socket.IO server…");
    const floor = await withBareServer(ctx, publisher, rooms, (side) => measure(side, rooms, total, rounds));
    return [...p10Rows(ctx, ours, floor, total, roomsCount, rounds), ...http];
  } finally {
    await web.stop();
    publisher.disconnect();
  }
}

function appSide(
  ctx: BenchContext,
  url: string,
  pid: number,
  inspectPort: number,
  users: ApiClient[],
  tasks: string[],
  publisher: Redis,
): Side {
  const n = users.length;
  return {
    pid,
    inspectPort,
    emitter: new Emitter(publisher, { key: socketKey(ctx.queuePrefix) }),
    open: (i, one) =>
      io(url, {
        transports: ["websocket"],
        reconnection: false,
        forceNew: true,
        extraHeaders: { cookie: users[one ? 0 : i % n]!.cookieHeader },
      }),
    async join(socket, i, one) {
      const ack = await socket.emitWithAck("task:subscribe", { taskId: tasks[one ? 0 : i % n] });
      if (!ack?.ok) throw new Error(`P10: task:subscribe answered ${JSON.stringify(ack)}`);
    },
    async connected() {
      const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      const m = /^inbox_sync_sockets_connected\s+(\d+)/m.exec(await res.text());
      return Number(m?.[1] ?? 0);
    },
  };
}

/** A bare Socket.IO server started with the same flags, for the length of `use`. */
async function withBareServer<T>(
  ctx: BenchContext,
  publisher: Redis,
  taskRooms: string[],
  use: (side: Side) => Promise<T>,
): Promise<T> {
  const port = await freePort();
  const inspectPort = await freePort();
  const key = `${ctx.queuePrefix}-bare10:socket.io`;
  const bare = spawn(
    process.execPath,
    [
      ...gcFlags(inspectPort).split(" "),
      "--import",
      "tsx",
      path.join(import.meta.dirname, "../bare/socketServer.ts"),
    ],
    {
      env: { ...process.env, PORT: String(port), REDIS_URL: ctx.redisUrl, SOCKET_KEY: key },
      stdio: ["ignore", "pipe", "ignore"],
    },
  );
  try {
    await once(bare.stdout!, "data");
    const url = `http://127.0.0.1:${port}`;
    return await use({
      pid: bare.pid!,
      inspectPort,
      emitter: new Emitter(publisher, { key }),
      open: () => io(url, { transports: ["websocket"], reconnection: false, forceNew: true }),
      async join(socket, i, one) {
        // The rooms the app's sockets are in: client i in its user's task room, or all in the first.
        await socket.emitWithAck("join", taskRooms[one ? 0 : i % taskRooms.length]);
      },
      connected: async () => Number(await (await fetch(`${url}/connected`)).text()),
    });
  } finally {
    bare.kill("SIGTERM");
  }
}

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function p10Rows(
  ctx: BenchContext,
  ours: SideResult,
  floor: SideResult,
  total: number,
  roomsCount: number,
  rounds: number,
): BenchRow[] {
  const judged = !ctx.quick;
  const idx = [...ours.heldMb.keys()];
  const added = medianRun(idx, (i) => (ours.heldMb[i]! - ours.idleMb) / (floor.heldMb[i]! - floor.idleMb));
  const many = medianRun(idx, (i) => ours.manyP99[i]! / floor.manyP99[i]!);
  const one = medianRun(idx, (i) => ours.oneP99[i]! / floor.oneP99[i]!);
  const a = added.mid;
  const oursAdded = ours.heldMb[a]! - ours.idleMb;
  const floorAdded = floor.heldMb[a]! - floor.idleMb;
  const sockets = total.toLocaleString("en-US");
  const spread = (xs: number[]) => `rounds ${xs.map((x) => x.toFixed(0)).join(", ")} ms`;
  return [
    {
      id: "P10",
      what: `memory the web process adds to hold ${sockets} signed-in, subscribed sockets (after a forced GC)`,
      figure: oursAdded,
      baseline: floorAdded,
      baselineWhat: "what a bare Socket.IO server adds for the same clients, fresh, same warm-up",
      ratios: added.ratios,
      unit: "MB",
      goal: "≤ 1.5× floor (median)",
      met: judged ? oursAdded <= 1.5 * floorAdded : null,
      note: `${((oursAdded * 1024) / total).toFixed(1)} kB vs ${((floorAdded * 1024) / total).toFixed(1)} kB per socket; idle ${ours.idleMb.toFixed(0)} vs ${floor.idleMb.toFixed(0)} MB; connect, sign-in and subscribe ${ours.connectMs.toFixed(2)} ms per socket vs ${floor.connectMs.toFixed(2)} ms`,
    },
    {
      id: "P10",
      what: `whole web process holding ${sockets} sockets (after a forced GC)`,
      figure: med(ours.heldMb),
      baseline: med(floor.heldMb),
      baselineWhat: "the bare server's whole process",
      unit: "MB",
      goal: "none: the app's idle footprint (its libraries) is in it",
      met: null,
    },
    {
      id: "P10",
      what: `one event to each of ${roomsCount.toLocaleString("en-US")} task rooms: p99`,
      figure: ours.manyP99[many.mid]!,
      baseline: floor.manyP99[many.mid]!,
      baselineWhat: "bare Socket.IO server, same rooms",
      ratios: many.ratios,
      unit: "ms",
      goal: "≤ 1.5× floor (median of rounds)",
      met: judged ? ours.manyP99[many.mid]! <= 1.5 * floor.manyP99[many.mid]! : null,
      note: `ours ${spread(ours.manyP99)}; floor ${spread(floor.manyP99)}`,
    },
    {
      id: "P10",
      what: `one event to one room of ${sockets} sockets: p99`,
      figure: ours.oneP99[one.mid]!,
      baseline: floor.oneP99[one.mid]!,
      baselineWhat: "bare Socket.IO server, same room",
      ratios: one.ratios,
      unit: "ms",
      goal: "≤ 1.5× floor (median of rounds)",
      met: judged ? ours.oneP99[one.mid]! <= 1.5 * floor.oneP99[one.mid]! : null,
      note: `ours ${spread(ours.oneP99)}; floor ${spread(floor.oneP99)}; ${rounds} rounds each, the app's first`,
    },
  ];
}

/**
 * P1's burst while the sockets are held: 200 of the node's users at once ask `GET /api/me`, then
 * press Fetch, each beside a `GET /healthz` burst (a reference, not a floor).
 */
async function httpWhileHeld(ctx: BenchContext, url: string, users: ApiClient[]): Promise<BenchRow[]> {
  const crowd = users.slice(0, ctx.quick ? 20 : 200);
  const timed = async (fn: () => Promise<unknown>) => {
    const t = stamp();
    await fn();
    return stamp() - t;
  };
  const healthz = () =>
    Promise.all(crowd.map(() => timed(() => fetch(`${url}/healthz`).then((r) => r.text()))));
  const health = await healthz();
  const me = await Promise.all(crowd.map((u) => timed(() => u.json("GET", "/api/me"))));
  const healthBeforePost = await healthz();
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
  const judged = !ctx.quick;
  return [
    {
      id: "P10",
      what: `GET /api/me, ${crowd.length} users at once while the sockets are held: p99`,
      figure: percentile(me, 99),
      baseline: percentile(health, 99),
      baselineWhat: "GET /healthz, same burst",
      baselineKind: "reference",
      unit: "ms",
      goal: "≤ 3× reference",
      met: judged ? percentile(me, 99) <= 3 * percentile(health, 99) : null,
    },
    {
      id: "P10",
      what: `POST /api/emails/sync, ${crowd.length} users at once while the sockets are held: p99`,
      figure: percentile(post, 99),
      baseline: percentile(healthBeforePost, 99),
      baselineWhat: "GET /healthz, a burst of the same users just before",
      baselineKind: "reference",
      unit: "ms",
      goal: "≤ 3× reference",
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
}
