import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import type { StackInfo } from "./stackInfo";

/**
 * A worker of web node C's, started by a spec (C has no standing one) and ready once it beats.
 * `env` defaults to `stack.workerEnvC`; a spec that needs other settings passes its own copy.
 * With `log`, its output goes to that file in the stack's log folder.
 */
export async function startWorkerC(
  stack: StackInfo,
  env: Record<string, string> = stack.workerEnvC,
  log?: string,
): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "worker/main.ts"], {
    env,
    stdio: ["ignore", log ? "pipe" : "ignore", log ? "pipe" : "ignore"],
  });
  if (log) {
    const file = createWriteStream(path.join(stack.logDir, log), { flags: "w" });
    child.stdout?.pipe(file);
    child.stderr?.pipe(file);
  }
  const redis = new Redis(env.REDIS_URL!, { maxRetriesPerRequest: 1 });
  try {
    for (let i = 0; i < 300; i++) {
      if (child.exitCode !== null) throw new Error(`the worker exited with ${child.exitCode}`);
      const beats = await redis.zrangebyscore(
        `${stack.queuePrefixC}:workers:heartbeat`,
        Date.now() - 2_000,
        "+inf",
      );
      if (beats.length > 0) return child;
      await sleep(100);
    }
    throw new Error("the worker never beat");
  } finally {
    redis.disconnect();
  }
}

/** Sends `signal` and waits for the exit; answers when it came. SIGTERM is given 5 s, then SIGKILL. */
export async function stopWorker(
  child: ChildProcess,
  signal: "SIGTERM" | "SIGKILL" = "SIGKILL",
): Promise<number> {
  if (child.exitCode !== null || child.signalCode !== null) return Date.now();
  const exited = once(child, "exit");
  child.kill(signal);
  const force = signal === "SIGTERM" ? setTimeout(() => child.kill("SIGKILL"), 5_000) : undefined;
  await exited;
  clearTimeout(force);
  return Date.now();
}
