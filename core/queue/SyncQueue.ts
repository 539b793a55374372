import type { Job, JobType, Queue } from "bullmq";
import DataLoader from "dataloader";
import type { Cluster, Redis } from "ioredis";
import { SharedClientQueue } from "./SharedClientQueue";

/** The BullMQ queue every sync task travels through. */
export const SYNC_QUEUE = "email-sync";

/**
 * The job names its task; the worker reads the user from the task row it claims, never from here
 * (`userId` is kept for the dashboard and for jobs queued by older versions).
 */
export interface SyncJobData {
  taskId: string;
  userId: string;
}

/** Attempts per task: a Gmail outage that outlasts one attempt's retries gets two more chances. */
export const SYNC_JOB_ATTEMPTS = 3;

/** First retry delay after a failed attempt; doubles with each further failure. */
export const SYNC_BACKOFF_MS = 5_000;

/** BullMQ priorities: a lower number is taken first. */
export const PRIORITY = { incremental: 1, full: 10 } as const;

/**
 * An incremental sync is a few calls; a first sync may be a whole mailbox. Queued work is taken
 * in priority order, so quick syncs do not wait behind queued full ones.
 */
export function priorityOf(incremental: boolean): number {
  return incremental ? PRIORITY.incremental : PRIORITY.full;
}

/**
 * Whether a job in this state will still be run: waiting, prioritized, delayed or active. A job
 * that completed or failed keeps its id for a while (a husk), so a task whose only job is a husk,
 * or that has none (`undefined`), waits for something that will not come unless a job is added.
 */
export function willRun(state: string | undefined): boolean {
  return state !== undefined && state !== "completed" && state !== "failed" && state !== "unknown";
}

/** When BullMQ's exponential backoff runs a job again after its `attemptsMade`-th failure. */
export function retryDelayMs(attemptsMade: number): number {
  return SYNC_BACKOFF_MS * 2 ** Math.max(0, attemptsMade - 1);
}

/**
 * What of BullMQ's Queue the sync queue uses (tests hand in fakes of it). `addBulk`, when there,
 * takes the adds that arrive together in one round trip.
 */
export type SyncJobs = Pick<
  Queue<SyncJobData>,
  | "add"
  | "getJob"
  | "getJobState"
  | "getJobCounts"
  | "getJobCountByTypes"
  | "pause"
  | "resume"
  | "isPaused"
  | "close"
  | "on"
> &
  Partial<Pick<Queue<SyncJobData>, "addBulk">>;

interface Enqueue {
  data: SyncJobData;
  priority: number;
}

/**
 * The one home of the sync queue (immich's job repository): it alone creates the BullMQ queue and
 * adds, reads and removes its jobs. The job id is the task id, so a task has at most one job.
 * The worker's BullMQ `Worker` (worker/SyncWorker.ts) is the only other BullMQ user; a job's
 * `moveToDelayed` inside the processor stays there.
 *
 * The queue may be split into shards (SYNC_QUEUE_SHARDS): one BullMQ queue per shard, each under
 * a prefix of its own (hash-tagged on a Redis Cluster, so a shard's keys share one slot). `route`
 * maps a user to a shard, so all of a user's jobs travel through one shard. Lookups by task id
 * alone ask every shard; callers that know the user say so and ask one.
 */
export class SyncQueue {
  private readonly shards: SyncJobs[];

  /**
   * Adds that arrive in the same turn of the event loop (a burst of users pressing Fetch) leave
   * as one `addBulk` per shard: one round trip and one socket write for the lot instead of one
   * each. A lone add waits only for the end of the current turn (`setImmediate`).
   */
  private readonly adds = new DataLoader<Enqueue, true>((batch) => this.addBatch(batch), {
    cache: false,
    batchScheduleFn: (run) => setImmediate(run),
    maxBatchSize: 500,
  });

  constructor(
    jobs: SyncJobs | SyncJobs[],
    private readonly route: (userId: string) => number = () => 0,
    /** Each shard's BullMQ prefix, for the dashboard's names. */
    readonly prefixes: string[] = [],
  ) {
    this.shards = Array.isArray(jobs) ? jobs : [jobs];
  }

  /** One BullMQ queue per prefix; `route` picks a user's shard (by index into `prefixes`). */
  static open(
    connection: Redis | Cluster,
    prefixes: string | string[],
    route: (userId: string) => number = () => 0,
  ): SyncQueue {
    const list = Array.isArray(prefixes) ? prefixes : [prefixes];
    const queues = list.map((prefix) => {
      const queue = new SharedClientQueue<SyncJobData>(SYNC_QUEUE, {
        connection,
        prefix,
        defaultJobOptions: {
          attempts: SYNC_JOB_ATTEMPTS,
          backoff: { type: "exponential", delay: SYNC_BACKOFF_MS },
          // Finished jobs are kept a while for the dashboard; the task row is the durable record.
          removeOnComplete: { age: 3_600, count: 5_000 },
          removeOnFail: { age: 86_400, count: 5_000 },
        },
      });
      // Redis going away is reported by the callers that need it (503s, readiness); an unhandled
      // 'error' event would end the process.
      queue.on("error", () => {});
      return queue;
    });
    return new SyncQueue(queues, route, list);
  }

  /** How many shards the queue has. */
  get shardCount(): number {
    return this.shards.length;
  }

  /** The shard a user's jobs travel through. */
  shardOf(userId: string): number {
    return this.route(userId) % this.shards.length;
  }

  private of(userId: string): SyncJobs {
    return this.shards[this.shardOf(userId)]!;
  }

  /** The task's job on the user's shard, or on whichever shard has it when the user is unknown. */
  private async find(taskId: string, userId?: string): Promise<Job<SyncJobData> | undefined> {
    if (userId !== undefined || this.shards.length === 1) {
      return this.shards[userId === undefined ? 0 : this.shardOf(userId)]!.getJob(taskId);
    }
    const found = await Promise.all(this.shards.map((jobs) => jobs.getJob(taskId)));
    return found.find((job) => job !== undefined);
  }

  /** Queues a new task's job; an incremental sync's lower priority number goes first. */
  async enqueue(data: SyncJobData, priority: number): Promise<void> {
    await this.adds.load({ data, priority });
  }

  private async addBatch(batch: readonly Enqueue[]): Promise<Array<true | Error>> {
    const byShard = new Map<number, number[]>();
    batch.forEach(({ data }, i) => {
      const shard = this.shardOf(data.userId);
      byShard.set(shard, [...(byShard.get(shard) ?? []), i]);
    });
    const answers: Array<true | Error> = new Array(batch.length);
    await Promise.all(
      [...byShard].map(async ([shard, indexes]) => {
        const jobs = this.shards[shard]!;
        const one = (i: number) => ({
          name: "sync",
          data: batch[i]!.data,
          opts: { jobId: batch[i]!.data.taskId, priority: batch[i]!.priority },
        });
        try {
          if (indexes.length > 1 && jobs.addBulk) await jobs.addBulk(indexes.map(one));
          else await Promise.all(indexes.map((i) => jobs.add("sync", one(i).data, one(i).opts)));
          for (const i of indexes) answers[i] = true;
        } catch (err) {
          for (const i of indexes) answers[i] = err instanceof Error ? err : new Error(String(err));
        }
      }),
    );
    return answers;
  }

  /**
   * Makes sure an open task has a job a worker will take. Adding an existing waiting, delayed or
   * active job changes nothing. A finished job keeps its id for a while, so a plain add would then
   * be a no-op and the task would hang: that husk is removed first (it ended while the row could
   * not be told, or the task was handed back after it). With `runAt` (ms since the epoch) a new
   * job is due then, not now. Answers whether a job was added.
   */
  async ensureJob(data: SyncJobData, priority: number, runAt?: number): Promise<boolean> {
    const jobs = this.of(data.userId);
    const job = await jobs.getJob(data.taskId);
    if (job) {
      if (willRun(await job.getState())) return false;
      await job.remove();
    }
    if (runAt === undefined) await this.enqueue(data, priority);
    // A job due later waits in BullMQ's delayed set, holding no worker slot until then.
    else
      await jobs.add("sync", data, {
        jobId: data.taskId,
        priority,
        delay: Math.max(0, runAt - Date.now()),
      });
    return true;
  }

  /** The running job's last progress report (a task snapshot, newer than the row), if any. */
  async progressOf(taskId: string, userId?: string): Promise<unknown> {
    return (await this.find(taskId, userId))?.progress;
  }

  /** The task's job, for reading its state (the dashboard, tests); undefined when there is none. */
  getJob(taskId: string, userId?: string): Promise<Job<SyncJobData> | undefined> {
    return this.find(taskId, userId);
  }

  /**
   * Whether a worker will take the task: it has a job, and that job has not ended (`willRun`).
   * One script on the user's shard (BullMQ says `unknown` for no job), as status reads ask it.
   */
  async hasLiveJob(taskId: string, userId: string): Promise<boolean> {
    return willRun(await this.of(userId).getJobState(taskId));
  }

  /** The task's job's state, or undefined when it has none. */
  async jobState(taskId: string, userId?: string): Promise<string | undefined> {
    return (await this.find(taskId, userId))?.getState();
  }

  /**
   * Cancels the task's job; answers whether one was removed. An active job is locked by its
   * worker and cannot be removed: that throws, and the run ends by itself (its task row is gone).
   */
  async remove(taskId: string, userId?: string): Promise<boolean> {
    const job = await this.find(taskId, userId);
    if (!job) return false;
    await job.remove();
    return true;
  }

  /** Jobs by state over every shard, for metrics. */
  async getJobCounts(...types: JobType[]): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const shard of await this.shardJobCounts(...types)) {
      for (const [state, n] of Object.entries(shard)) counts[state] = (counts[state] ?? 0) + n;
    }
    return counts;
  }

  /** Jobs by state, shard by shard (index = shard number). */
  shardJobCounts(...types: JobType[]): Promise<Array<Record<string, number>>> {
    return Promise.all(this.shards.map((jobs) => jobs.getJobCounts(...types)));
  }

  /**
   * Whether other syncs wait for a worker slot (a long sync then yields its slot): on `shard`, the
   * one whose slot it holds, or on any shard.
   */
  async othersWaiting(shard?: number): Promise<boolean> {
    const asked = shard === undefined ? this.shards : [this.shards[shard]!];
    const waiting = await Promise.all(
      asked.map((jobs) => jobs.getJobCountByTypes("wait", "prioritized", "paused")),
    );
    return waiting.some((n) => n > 0);
  }

  async pause(): Promise<void> {
    await Promise.all(this.shards.map((jobs) => jobs.pause()));
  }

  async resume(): Promise<void> {
    await Promise.all(this.shards.map((jobs) => jobs.resume()));
  }

  /** True when every shard is paused. */
  async isPaused(): Promise<boolean> {
    return (await Promise.all(this.shards.map((jobs) => jobs.isPaused()))).every(Boolean);
  }

  /**
   * What Bull Board shows, one view per shard (server/routes/admin.ts makes the adapters, so only
   * a web process loads Bull Board; a worker never does). Bull Board tells queues apart by name:
   * shards are named `shard-<n>-email-sync`.
   */
  dashboardViews(): Array<{ queue: Queue<SyncJobData>; prefix?: string; displayName?: string }> {
    const sharded = this.shards.length > 1 || this.prefixes.some((p) => p.startsWith("{"));
    return this.shards.map((jobs, n) => ({
      queue: jobs as Queue<SyncJobData>,
      ...(sharded
        ? {
            prefix: `shard-${n}-`,
            displayName: `${SYNC_QUEUE} · shard ${n}${this.prefixes[n] ? ` (${this.prefixes[n]})` : ""}`,
          }
        : {}),
    }));
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((jobs) => jobs.close()));
  }
}
