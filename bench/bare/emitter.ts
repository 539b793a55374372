/**
 * The floor's publisher for push latency (bench row P2): in a process of its own, as a worker is,
 * it publishes a stamped event to one room every INTERVAL_MS through the Redis emitter, until
 * killed. Env: REDIS_URL, SOCKET_KEY, ROOM, INTERVAL_MS.
 */
import { Emitter } from "@socket.io/redis-emitter";
import { Redis } from "ioredis";

const redis = new Redis(process.env.REDIS_URL!);
const emitter = new Emitter(redis, { key: process.env.SOCKET_KEY! });
const timer = setInterval(
  () => emitter.to(process.env.ROOM!).emit("sync:progress", { at: Date.now() }),
  Number(process.env.INTERVAL_MS ?? 20),
);
process.on("SIGTERM", () => {
  clearInterval(timer);
  redis.disconnect();
  process.exit(0);
});
