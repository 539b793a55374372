import { readdirSync } from "node:fs";
import os from "node:os";

/** What `lowerPriority` needs of the operating system (tests pass a fake). */
export interface Scheduler {
  /** Ids to set, one per thread where threads have their own niceness (Linux), else the process. */
  threads(): number[];
  get(id: number): number;
  set(id: number, niceness: number): void;
}

/**
 * Linux keeps a niceness per thread, and `setpriority` on the process id changes only the main
 * thread: V8's and libuv's threads already running (garbage collection, compilation, the
 * thread pool) would keep theirs. So every thread of /proc/self/task; elsewhere the process.
 */
export const osScheduler: Scheduler = {
  threads() {
    try {
      return readdirSync("/proc/self/task").map(Number);
    } catch {
      return [process.pid];
    }
  },
  get: (id) => os.getPriority(id),
  set: (id, niceness) => os.setPriority(id, niceness),
};

/**
 * Gives every thread at least `niceness` (never less than it has: an operator who started the
 * process nicer keeps that). Threads started later inherit it from the thread that starts them.
 * Answers the threads it changed and those it could not (a thread that ended meanwhile, a
 * platform that refuses); a failure is reported, never thrown: the worker runs either way.
 */
export function lowerPriority(
  niceness: number,
  scheduler: Scheduler = osScheduler,
): { changed: number; failed: number } {
  let changed = 0;
  let failed = 0;
  for (const id of scheduler.threads()) {
    try {
      if (scheduler.get(id) >= niceness) continue;
      scheduler.set(id, niceness);
      changed++;
    } catch {
      failed++;
    }
  }
  return { changed, failed };
}
