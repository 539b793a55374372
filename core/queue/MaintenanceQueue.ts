import { randomBytes } from "node:crypto";
import type { JobType, Queue } from "bullmq";
import type { Cluster, Redis } from "ioredis";
import { SharedClientQueue } from "./SharedClientQueue";

/** A small queue of its own, so housekeeping never waits behind (or delays) mailbox syncs. */
export const MAINTENANCE_QUEUE = "maintenance";
export const PURGE_SCHEDULER = "purge-expired";
export const PURGE_EVERY_MS = 15 * 60_000;
/** Renews Gmail watches that lapse within a day (push on). */
export const WATCH_RENEW_SCHEDULER = "watch-renew";
export const WATCH_RENEW_EVERY_MS = 60 * 60_000;
/** Enqueues incremental syncs for recently active accounts (push off). */
export const SYNC_SCHEDULER = "sync-schedule";
/** Hourly: accounts whose last completeness check is older than COMPLETENESS_CHECK_DAYS get one. */
export const CHECK_SCHEDULER = "check-schedule";
export const CHECK_SCHEDULE_EVERY_MS = 60 * 60_000;
/** One user's debounced sync after Gmail pushes. */
export const PUSH_SYNC_JOB = "push-sync";
/** One user's sync from the schedule, started at its jittered time. */
export const SCHEDULED_SYNC_JOB = "scheduled-sync";

/** Data of a scheduler's runs (`watch-renew`, `sync-schedule`). */
export interface ScheduleJobData {
  everyMs: number;
}

/** Data of the per-user jobs (`push-sync`, `scheduled-sync`). */
export interface UserJobData {
  userId: string;
}

/**
 * How long an armed push debounce holds without its job running. Beyond it (workers away for
 * long, a job lost with Redis data) the next push arms a new one; extra jobs find nothing to do.
 */
const ARMED_GRACE_MS = 10 * 60_000;
/** A burst's sync starts at most this many debounce periods after its first push. */
const MAX_WAIT_DEBOUNCES = 5;
/** A user's unserved pushes are forgotten after a day: by then a schedule or a click has synced. */
const DIRTY_TTL_MS = 86_400_000;

/**
 * The housekeeping queue: its schedules (every worker upserts the same job schedulers, so there
 * is one schedule however many workers run; worker/maintenance.ts runs the jobs) and the push
 * debounce.
 *
 * The debounce keeps two keys per user: `dirty` (a push arrived that no sync has covered yet) and
 * `armed` (a `push-sync` job is pending, and when its burst began). A push sets `dirty`, and adds
 * a job delayed by the debounce only if it is the one that set `armed` (later pushes of the burst
 * move that job back instead), so a burst makes one job. The job clears
 * `armed` before it takes `dirty`: a push landing after that arms a job of its own, and one
 * landing before it is covered by the sync the job asks for. The job never joins a running sync
 * (it may have read Gmail's history before the change); it waits for it to end.
 */
export class MaintenanceQueue {
  private constructor(
    private readonly queue: Queue,
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
  ) {}

  static open(connection: Redis | Cluster, prefix: string): MaintenanceQueue {
    const queue = new SharedClientQueue(MAINTENANCE_QUEUE, { connection, prefix });
    queue.on("error", () => {});
    return new MaintenanceQueue(queue, connection, prefix);
  }

  /** `purge-expired` every `everyMs`: idempotent, the scheduler's id is its name. */
  async schedulePurge(everyMs: number): Promise<void> {
    await this.queue.upsertJobScheduler(
      PURGE_SCHEDULER,
      { every: everyMs },
      { name: PURGE_SCHEDULER, opts: { removeOnComplete: 50, removeOnFail: 50 } },
    );
  }

  /** A repeating job of ours every `everyMs`, or none (`null`): the setting may have changed since the last start. */
  async schedule(
    name: typeof WATCH_RENEW_SCHEDULER | typeof SYNC_SCHEDULER | typeof CHECK_SCHEDULER,
    everyMs: number | null,
  ) {
    if (everyMs === null) {
      await this.queue.removeJobScheduler(name);
      return;
    }
    // The period rides in each run's data: whichever worker takes the run (one started with
    // another setting among them) goes by the schedule's own period.
    await this.queue.upsertJobScheduler(
      name,
      { every: everyMs },
      { name, data: { everyMs } satisfies ScheduleJobData, opts: { removeOnComplete: 50, removeOnFail: 50 } },
    );
  }

  /** The schedulers registered, as `[id, every]` (tests and the curious). */
  async schedulers(): Promise<Array<[string, number | undefined]>> {
    const list = await this.queue.getJobSchedulers();
    return list.map((s) => [s.key, s.every ? Number(s.every) : undefined]);
  }

  private key(kind: "dirty" | "armed" | "schedule-due", userId: string): string {
    return `${this.prefix}:live:${kind}:${userId}`;
  }

  /**
   * A Gmail push for the user: one `push-sync` job per burst. The first push of a burst adds it,
   * delayed by `debounceMs`; each later push moves it back to `debounceMs` from now (a trailing
   * debounce), but never past `MAX_WAIT_DEBOUNCES` debounces after the burst's first push, so a
   * mailbox that changes without pause is still synced. Answers whether this push added the job.
   */
  async notePush(userId: string, debounceMs: number): Promise<boolean> {
    const now = Date.now();
    await this.redis.set(this.key("dirty", userId), String(now), "PX", DIRTY_TTL_MS);
    const jobId = `${PUSH_SYNC_JOB}-${userId}-${now}-${randomBytes(3).toString("hex")}`;
    const armedKey = this.key("armed", userId);
    const armed = await this.redis.set(armedKey, `${jobId}|${now}`, "PX", debounceMs + ARMED_GRACE_MS, "NX");
    if (armed !== "OK") {
      await this.postpone(armedKey, debounceMs, now);
      return false;
    }
    try {
      await this.queue.add(PUSH_SYNC_JOB, { userId } satisfies UserJobData, {
        jobId,
        delay: debounceMs,
        removeOnComplete: true,
        removeOnFail: 100,
      });
    } catch (err) {
      // No job will clear it: the next push must be able to arm one.
      await this.redis.del(armedKey).catch(() => {});
      throw err;
    }
    return true;
  }

  /**
   * Moves the armed job back while it still waits. A job that has started (or gone) is left
   * alone: the push's `dirty` mark, set first, is what it (or the next job) answers.
   */
  private async postpone(armedKey: string, debounceMs: number, now: number): Promise<void> {
    const held = await this.redis.get(armedKey);
    const [jobId, first] = (held ?? "").split("|");
    if (!jobId || !first) return;
    const delay = Math.min(debounceMs, Number(first) + MAX_WAIT_DEBOUNCES * debounceMs - now);
    if (!(delay > 0)) return;
    const job = await this.queue.getJob(jobId);
    await job?.changeDelay(delay).catch(() => {});
  }

  /** A `push-sync` job that waits for the user's running sync keeps its debounce armed meanwhile. */
  async keepArmed(userId: string, forMs: number): Promise<void> {
    await this.redis.pexpire(this.key("armed", userId), forMs + ARMED_GRACE_MS);
  }

  /**
   * The `push-sync` job's turn: disarms, then takes the user's unserved pushes. Answers whether
   * there were any (false: an earlier job's sync covered them).
   */
  async takePushes(userId: string): Promise<boolean> {
    await this.redis.del(this.key("armed", userId));
    return (await this.redis.getdel(this.key("dirty", userId))) !== null;
  }

  /** Puts taken pushes back (the sync they were meant for could not be asked for) and re-arms. */
  async returnPushes(userId: string, debounceMs: number): Promise<void> {
    await this.notePush(userId, debounceMs);
  }

  /**
   * Whether this run of the schedule is due. BullMQ runs an `every` scheduler at once whenever a
   * worker (re)starts and upserts it, so the schedule keeps its own clock: the first run ever (or
   * after all workers were away for three periods) only sets when the next is due, one period
   * on; a run before that is skipped. Two runs racing for one period: the first to move the
   * clock wins (SET … XX GET answers the value it replaced).
   */
  async claimScheduleRun(everyMs: number): Promise<boolean> {
    const key = this.key("schedule-due", "all");
    const now = Date.now();
    const ttl = String(everyMs * 3);
    // "<due ms>/<period ms>": a new period starts a new clock.
    const next = `${now + everyMs}/${everyMs}`;
    const held = await this.redis.get(key);
    const [due, period] = (held ?? "").split("/").map(Number);
    if (held === null || period !== everyMs) {
      await this.redis.set(key, next, "PX", ttl);
      return false;
    }
    // BullMQ may fire a little early; a tenth of the period is not worth a skipped run.
    if (due! > now + everyMs / 10) return false;
    const replaced = await this.redis.call("SET", key, next, "PX", ttl, "XX", "GET");
    return replaced === held;
  }

  /** The schedule's syncs for these users, each started after its own delay (jitter). */
  async scheduleSyncs(users: Array<{ userId: string; delayMs: number }>, runId: string): Promise<void> {
    if (users.length === 0) return;
    await this.queue.addBulk(
      users.map(({ userId, delayMs }) => ({
        name: SCHEDULED_SYNC_JOB,
        data: { userId } satisfies UserJobData,
        opts: {
          // One per user and run, whoever adds it (BullMQ ids may not hold ":").
          jobId: `${SCHEDULED_SYNC_JOB}-${userId}-${runId}`,
          delay: delayMs,
          removeOnComplete: true,
          removeOnFail: 100,
        },
      })),
    );
  }

  /** A user's `push-sync` jobs not yet finished, and whether pushes wait unserved (tests and the curious). */
  async pushState(userId: string): Promise<{ pendingJobs: number; armed: boolean; dirty: boolean }> {
    const jobs = await this.queue.getJobs(["delayed", "waiting", "active", "prioritized"]);
    const [armed, dirty] = await Promise.all([
      this.redis.exists(this.key("armed", userId)),
      this.redis.exists(this.key("dirty", userId)),
    ]);
    return {
      pendingJobs: jobs.filter((j) => j?.name === PUSH_SYNC_JOB && j.data?.userId === userId).length,
      armed: armed === 1,
      dirty: dirty === 1,
    };
  }

  /** Housekeeping jobs in these states (finished runs, for tests and the curious). */
  getJobCountByTypes(...types: JobType[]): Promise<number> {
    return this.queue.getJobCountByTypes(...types);
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
