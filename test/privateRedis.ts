import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, redisAnswers } from "../scripts/lib/devServices";
import { waitUntil } from "./stack";

/** A redis-server of one test's own, for faults the shared Redis must not see. */
export interface PrivateRedis {
  url: string;
  /** The running server (replaced by each `start`). */
  process: ChildProcess;
  /** Starts it again after a stop, on the same port and folder; resolves once it answers. */
  start(): Promise<void>;
  /** Stops it with `signal` and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Kills it and removes its folder; safe to call more than once. */
  close(): Promise<void>;
}

/**
 * Starts `redis-server` on a free loopback port and resolves once it answers PING. With
 * `appendOnly`, as production Redis for BullMQ should run, a restart keeps the queue.
 */
export async function privateRedis(options: { appendOnly?: boolean } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "inbox-redis-"));
  const url = `redis://127.0.0.1:${port}`;
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir];
  args.push("--appendonly", options.appendOnly ? "yes" : "no");
  const running = () => server.process.exitCode === null && server.process.signalCode === null;
  const answering = () =>
    waitUntil(async () => (await redisAnswers(url)) || false, "the private redis-server");
  const server: PrivateRedis = {
    url,
    process: spawn("redis-server", args, { stdio: "ignore" }),
    async start() {
      if (running()) return;
      server.process = spawn("redis-server", args, { stdio: "ignore" });
      await answering();
    },
    async stop(signal = "SIGTERM") {
      if (!running()) return;
      const exited = once(server.process, "exit");
      server.process.kill(signal);
      await exited;
    },
    async close() {
      await server.stop("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await answering();
  return server;
}
