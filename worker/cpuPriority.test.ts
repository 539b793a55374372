import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnWorker } from "../test/processes";
import { type Stack, startStack } from "../test/stack";

/** The niceness of every thread of a process (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNiceness(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    // The command name may hold spaces; the fields after its closing parenthesis do not.
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
  });
}

describe("worker CPU priority (WORKER_NICE)", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ webs: 0, workers: 0 });
  });
  afterAll(() => stack?.close());

  const worker = (env: Record<string, string>) =>
    spawnWorker({
      databaseUrl: stack.config.databaseUrl!,
      redisUrl: stack.config.redisUrl,
      queuePrefix: stack.config.queuePrefix,
      simUrl: stack.sim.url,
      env,
    });

  it("a worker process runs every thread at niceness 5 by default, and as started with WORKER_NICE=0", async () => {
    // What a child inherits: this test's own niceness (0, unless the whole run was started nicer).
    const inherited = os.getPriority();
    const nice = await worker({});
    const plain = await worker({ WORKER_NICE: "0" });
    try {
      const niced = threadNiceness(nice.child.pid!);
      expect(niced.length).toBeGreaterThan(1);
      expect(new Set(niced)).toEqual(new Set([Math.max(5, inherited)]));
      expect(new Set(threadNiceness(plain.child.pid!))).toEqual(new Set([inherited]));
    } finally {
      await nice.stop();
      await plain.stop();
    }
  });
});
