import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { distinctServed } from "../gmail-sim/stats";
import { type Stack, startStack, storedCount, waitForTask, waitUntil } from "../test/stack";

/** 23:30 Pacific (PST) on 8 December 2026: half an hour before Google's daily reset. */
const EVENING = Date.parse("2026-12-09T07:30:00Z");
const MIDNIGHT = Date.parse("2026-12-09T08:00:00Z");
/** The project's day, as Google and the gate both count it: small enough for one mailbox to spend. */
const DAY_UNITS = 400;

describe("the project's daily budget", () => {
  let stack: Stack;
  /** The quota gate's clock runs this far ahead of real time, as Gmail's does (`PUT /sim/clock`). */
  let offset = 0;

  beforeAll(async () => {
    stack = await startStack({
      workers: 1,
      env: { GMAIL_QUOTA_PROFILE: "2026", GMAIL_PROJECT_UNITS_PER_DAY: String(DAY_UNITS) },
      worker: { quotaClock: () => Date.now() + offset },
    });
  });
  afterAll(async () => {
    await stack?.simControl("DELETE", "/sim/quota").catch(() => {});
    await stack?.simControl("DELETE", "/sim/clock").catch(() => {});
    await stack?.close();
  });

  const setClocks = async (at: number) => {
    offset = at - Date.now();
    await stack.simControl("PUT", "/sim/clock", { now: at });
  };

  it("parks a first sync at the day's reserve while an incremental sync still runs, and resumes it after midnight fetching no message twice", async () => {
    await setClocks(EVENING);
    await stack.simControl("PUT", "/sim/quota", { profile: "2026", projectUnitsPerDay: DAY_UNITS });
    await stack.simControl("POST", "/sim/accounts", { email: "small@daily.example.com", count: 2 });
    await stack.simControl("POST", "/sim/accounts", { email: "big@daily.example.com", count: 100 });
    const small = await stack.signIn("small@daily.example.com");
    const big = await stack.signIn("big@daily.example.com");

    const first = await small.json("POST", "/api/emails/sync");
    expect((await waitForTask(small, first.body.taskId)).final).toMatchObject({ state: "completed" });
    await stack.simControl("DELETE", "/sim/stats");

    // 100 messages cost over 500 units; first syncs may spend 95% of 400, this one what the small
    // mailbox's finished first sync left of that: it stops and waits, queued, for the reset.
    const started = await big.json("POST", "/api/emails/sync");
    const taskId: string = started.body.taskId;
    const parked = await waitUntil(async () => {
      const { body } = await big.json("GET", `/api/emails/sync/status/${taskId}`);
      return body.state === "queued" && body.retryAt ? body : false;
    }, "the first sync to be parked");
    expect(parked.retryAt).toBe(MIDNIGHT);
    expect(parked.waiting).toBe("daily_budget");
    const before = await storedCount(stack, "big@daily.example.com");
    expect(before.n).toBeGreaterThan(0);
    expect(before.n).toBeLessThan(100);
    const job = await stack.web.ctx.queue!.getJob(taskId);
    expect(await job!.getState()).toBe("delayed");

    // Meanwhile a mailbox already mirrored stays current: its incremental sync spends the reserve.
    await stack.simControl("POST", "/sim/accounts/small@daily.example.com/messages", { count: 1 });
    const again = await small.json("POST", "/api/emails/sync");
    const incremental = (await waitForTask(small, again.body.taskId)).final;
    expect(incremental).toMatchObject({ state: "completed", result: { mode: "incremental", added: 1 } });
    expect(await storedCount(stack, "big@daily.example.com")).toEqual(before);

    // Past midnight (Gmail's clock and the gate's), the parked job runs when its delay is due.
    await setClocks(MIDNIGHT + 60_000);
    await job!.promote();
    const { final } = await waitForTask(big, taskId);
    expect(final).toMatchObject({ state: "completed", result: { mode: "full", added: 100 - before.n } });
    expect(await storedCount(stack, "big@daily.example.com")).toEqual({ n: 100, d: 100 });
    const stats = await stack.simControl("GET", "/sim/stats");
    // Each of the big mailbox's messages fetched, plus the small one's new message, for no more
    // units than a get each (a thread fetched whole where that was cheaper): nothing paid twice.
    expect(distinctServed(stats.served)).toBe(101);
    expect(stats.units.spent["messages.get"] + (stats.units.spent["threads.get"] ?? 0)).toBeLessThanOrEqual(
      5 * 101,
    );
    expect(stats.rejected).toEqual({});
  });
});

/** The streaming fallback's lines, once the stream has ended. */
async function readStream(client: Awaited<ReturnType<Stack["signIn"]>>, path: string): Promise<any[]> {
  const res = await client.raw("POST", path);
  expect(res.status).toBe(200);
  return (await res.text())
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

describe.each([
  { workers: 0, resumedBy: "the client's stream again" },
  { workers: 1, resumedBy: "a worker, at the reset" },
])(
  "a first sync run by the streaming fallback that the daily budget parks ($workers workers)",
  ({ workers, resumedBy }) => {
    let stack: Stack;
    let offset = 0;
    const clock = () => Date.now() + offset;

    beforeAll(async () => {
      stack = await startStack({
        workers,
        env: { GMAIL_QUOTA_PROFILE: "2026", GMAIL_PROJECT_UNITS_PER_DAY: String(DAY_UNITS) },
        worker: { quotaClock: clock },
        web: { quotaClock: clock },
      });
    });
    afterAll(async () => {
      await stack?.simControl("DELETE", "/sim/quota").catch(() => {});
      await stack?.simControl("DELETE", "/sim/clock").catch(() => {});
      await stack?.close();
    });

    const setClocks = async (at: number) => {
      offset = at - Date.now();
      await stack.simControl("PUT", "/sim/clock", { now: at });
    };

    it(`ends the stream saying the task is paused until the reset, and is resumed by ${resumedBy} fetching no message twice`, async () => {
      const email = `stream-${workers}@daily.example.com`;
      await setClocks(EVENING);
      await stack.simControl("PUT", "/sim/quota", { profile: "2026", projectUnitsPerDay: DAY_UNITS });
      await stack.simControl("POST", "/sim/accounts", { email, count: 100 });
      const user = await stack.signIn(email);
      await stack.simControl("DELETE", "/sim/stats");

      // The stream runs the first sync until the budget parks it, then ends: its last line says so.
      const lines = await readStream(user, "/api/emails/sync/stream");
      const last = lines.at(-1);
      expect(last).toMatchObject({ state: "queued", waiting: "daily_budget", retryAt: MIDNIGHT });
      const taskId: string = last.taskId;
      const before = await storedCount(stack, email);
      expect(before.n).toBeGreaterThan(0);
      expect(before.n).toBeLessThan(100);

      // Until the reset the status says what the task waits for, even with no worker alive: a
      // client is not asked to take over a task nothing can move before then.
      const { body: paused } = await user.json("GET", `/api/emails/sync/status/${taskId}`);
      expect(paused).toMatchObject({ state: "queued", waiting: "daily_budget", retryAt: MIDNIGHT });

      const job = await stack.web.ctx.queue!.getJob(taskId);
      await setClocks(MIDNIGHT + 60_000);
      if (workers > 0) {
        // The stream handed the parked task to the queue, due at the reset.
        expect(await job!.getState()).toBe("delayed");
        expect(Math.abs(job!.timestamp + job!.delay - MIDNIGHT)).toBeLessThan(1_000);
        await job!.promote();
        const { final } = await waitForTask(user, taskId);
        expect(final).toMatchObject({ state: "completed", result: { mode: "full", added: 100 - before.n } });
      } else {
        // No worker: the client's stream takes the task over after the reset and finishes it.
        const resumed = await readStream(user, `/api/emails/sync/stream?taskId=${taskId}`);
        expect(resumed.at(-1)).toMatchObject({
          taskId,
          state: "completed",
          result: { mode: "full", added: 100 - before.n },
        });
      }
      expect(await storedCount(stack, email)).toEqual({ n: 100, d: 100 });
      const stats = await stack.simControl("GET", "/sim/stats");
      // Every message fetched, for no more units than a get each (a thread fetched whole where
      // that was cheaper): the park and the resume paid for nothing twice.
      expect(distinctServed(stats.served)).toBe(100);
      expect(stats.units.spent["messages.get"] + (stats.units.spent["threads.get"] ?? 0)).toBeLessThanOrEqual(
        5 * 100,
      );
      expect(stats.rejected).toEqual({});
    });
  },
);
