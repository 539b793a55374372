import { isTerminal, type TaskSnapshot, type WaitReason } from "../events";
import type { SyncQueue } from "../queue";
import type { SyncTask } from "../repositories/task.repository";
import { snapshotOf } from "../services/TaskService";
import { leaseLapsed } from "./TaskLease";

export interface WaitFacts {
  state: SyncTask["state"];
  leaseExpiresAt: number | null;
  retryAt: number | null;
  /** Live workers, or 0 when that cannot be known (Redis away: no worker can take work then). */
  workersAlive: number;
  /**
   * A queued task of the queue's that has waited `JOBLESS_AFTER_MS` with no job a worker would
   * take (its add failed after the answer, or Redis lost it): no worker will come for it either.
   */
  jobless?: boolean;
  /** What the running holder last said it waits for, if anything. */
  reported?: { waiting?: WaitReason; retryAt?: number };
  /** The code its last run was released with: `daily_budget` parks it until the budget's reset. */
  releasedFor?: string | null;
}

/**
 * Why an unfinished task is not moving, as a client should hear it. Nobody alive to run it is
 * said first, whatever else is true, because then only the client (the streaming fallback) can
 * move it on; except a task parked by the project's daily budget, which nobody can move before
 * the budget's reset.
 */
export function waitingOf(f: WaitFacts, now: number): Pick<TaskSnapshot, "waiting" | "retryAt"> {
  if (f.state === "completed" || f.state === "failed") return {};
  const unheld =
    f.state === "queued" ||
    leaseLapsed({ state: f.state, leaseOwner: null, leaseExpiresAt: f.leaseExpiresAt }, now);
  if (unheld) {
    const ahead = f.state === "queued" && f.retryAt !== null && f.retryAt > now;
    // Parked until the daily budget's reset, nobody can move it, a client's stream neither (its
    // run would park again at once): the reset is what it waits for. From the reset on, the rules
    // below say who resumes it.
    if (ahead && f.releasedFor === "daily_budget") return { waiting: "daily_budget", retryAt: f.retryAt! };
    if (f.workersAlive === 0 || (f.state === "queued" && f.jobless)) return { waiting: "no_workers" };
    if (ahead) return { waiting: "retry", retryAt: f.retryAt! };
    return { waiting: "worker" };
  }
  const r = f.reported;
  if (r?.waiting && (r.retryAt === undefined || r.retryAt > now)) {
    return r.retryAt === undefined ? { waiting: r.waiting } : { waiting: r.waiting, retryAt: r.retryAt };
  }
  return {};
}

/**
 * How long a queued task may be without a job before its status says so. The web node adds the
 * job right after answering (SyncDispatcher), a few milliseconds; a burst batches adds, still well
 * under a second. Until then a missing job only means the add is on its way.
 */
export const JOBLESS_AFTER_MS = 5_000;

export interface TaskStatusDeps {
  /** Null when the process runs without Redis (streaming-fallback mode). */
  queue: Pick<SyncQueue, "progressOf" | "hasLiveJob"> | null;
  /** Live workers that could run the user's task (its queue shard's); may throw when it cannot tell. */
  workersAlive: (userId?: string) => Promise<number>;
  /**
   * The clock a snapshot is made on: its `at`, the jobless grace, lapsed leases and retry times
   * (ms since the epoch; default `Date.now`). Tests pass a fixed one instead of waiting.
   */
  now?: () => number;
}

/**
 * The freshest snapshot of a task, the one home of "what is this task doing": the status route,
 * `task:subscribe` and a stream that follows another runner's task all read it here. While a
 * worker runs the task, its job's progress in Redis is newer than the row (written every step,
 * the row once a second); `waiting` says why a task is still.
 */
export class TaskStatus {
  private readonly now: () => number;

  constructor(private readonly deps: TaskStatusDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** See `WaitFacts.jobless`; a read that fails says no, as the row alone cannot tell. */
  private async joblessFor(task: SyncTask, now: number): Promise<boolean> {
    const queue = this.deps.queue;
    if (!queue || task.runner !== "queue" || now - task.updatedAt.getTime() < JOBLESS_AFTER_MS) return false;
    return !(await queue.hasLiveJob(task.id, task.userId).catch(() => true));
  }

  async snapshot(task: SyncTask): Promise<TaskSnapshot> {
    const stored = snapshotOf(task);
    if (isTerminal(task.state)) return stored;
    let current = stored;
    if (task.state === "active" && task.runner === "queue" && this.deps.queue) {
      try {
        const live = (await this.deps.queue.progressOf(task.id, task.userId)) as TaskSnapshot | undefined;
        // The same seq is the same snapshot, and the job's has the pace the row does not keep.
        if (live && typeof live === "object" && live.taskId === task.id && live.seq >= stored.seq)
          current = live;
      } catch {
        // Redis went away mid-request: the row is a little older but true.
      }
    }
    const workersAlive = await this.deps.workersAlive(task.userId).catch(() => 0);
    const jobless =
      workersAlive > 0 && current.state === "queued" && (await this.joblessFor(task, this.now()));
    const { waiting: _w, retryAt: _r, ...rest } = current;
    return {
      ...rest,
      // Made now: its `waiting` is news even when its progress repeats a step already shown.
      at: this.now(),
      ...waitingOf(
        {
          state: current.state,
          leaseExpiresAt: task.leaseExpiresAt?.getTime() ?? null,
          retryAt: task.retryAt?.getTime() ?? null,
          workersAlive,
          jobless,
          reported: current,
          releasedFor: task.error?.code ?? null,
        },
        this.now(),
      ),
    };
  }
}
