import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import type { Emitter } from "@socket.io/redis-emitter";
import type { Socket } from "socket.io-client";
import { percentile } from "../../test/pushLatency";

const run = promisify(execFile);

/** Resident memory of a whole process, in MB. */
export const rssMb = (pid: number): number => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return Number(line?.match(/(\d+)/)?.[1] ?? Number.NaN) / 1024;
};

/**
 * The Node flags both P10 servers start with: `gc()` exposed, and the inspector on `port`, through
 * which the bench calls it (neither server has a route for it).
 */
export const gcFlags = (port: number) => `--expose-gc --inspect=127.0.0.1:${port}`;

/**
 * A full collection in the process whose inspector listens on `port`, twice (the first frees what
 * the second can then compact), before a memory reading. Through a child Node with its WebSocket
 * client (bench/forceGc.mjs), as the bench's own Node has none built in.
 */
export async function forceGc(port: number): Promise<void> {
  const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{
    webSocketDebuggerUrl: string;
  }>;
  const target = list[0]?.webSocketDebuggerUrl;
  if (!target) throw new Error(`no inspector target on port ${port}`);
  await run(process.execPath, [
    "--experimental-websocket",
    "--no-warnings",
    path.join(import.meta.dirname, "..", "forceGc.mjs"),
    target,
  ]);
}

export interface Fleet {
  sockets: Socket[];
  samples: number[];
}

/** Connects `count` sockets in waves; `join` runs once each is connected. */
export async function connectFleet(
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

/** Closes every socket and waits until the server has let them all go. */
export async function closeFleet(fleet: Fleet, connected: () => Promise<number>): Promise<void> {
  for (const s of fleet.sockets) s.close();
  const deadline = Date.now() + 30_000;
  while ((await connected()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}

/** One event to every room, all published at once; answers the p99 once every socket has heard. */
export async function fanOut(emitter: Emitter, rooms: string[], fleet: Fleet): Promise<number> {
  fleet.samples.length = 0;
  const t = Date.now();
  for (const room of rooms) emitter.to(room).emit("sync:progress", { taskId: room, at: t });
  const deadline = Date.now() + 60_000;
  while (fleet.samples.length < fleet.sockets.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  if (fleet.samples.length < fleet.sockets.length)
    throw new Error(`P10: ${fleet.samples.length}/${fleet.sockets.length} sockets heard their event`);
  return percentile(fleet.samples, 99);
}
