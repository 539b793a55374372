import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { distinctServed } from "../../gmail-sim/stats";
import { checkedStack } from "../../test/declaredResponses";
import { type Stack, startStack, storedCount, waitForTask } from "../../test/stack";

/** Workers serve /metrics only to METRICS_TOKEN's bearer. */
const METRICS_TOKEN = "m".repeat(40);

/** The worker's counter of refused batch requests for `status`, as its /metrics says. */
async function fallbacksCounted(stack: Stack, status: number): Promise<number> {
  const answer = await fetch(stack.workers[0]!.metricsUrl!, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  expect(answer.status).toBe(200);
  const text = await answer.text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`inbox_sync_worker_gmail_batch_fallbacks_total{status="${status}"}`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

describe("a Gmail batch endpoint that is missing, through the queue and a worker", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = checkedStack(await startStack({ env: { WORKER_METRICS_PORT: "0", METRICS_TOKEN } }));
  });
  afterAll(() => stack?.close());

  it("batches answering 501: the sync completes one messages.get a message, each stored once, counted; the next sync skips the batch at once", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "nobatch@example.com", count: 300 });
    await stack.simControl("POST", "/sim/accounts", { email: "later@example.com", count: 120 });
    await stack.simControl("PUT", "/sim/batch", { status: 501 });
    try {
      const first = await stack.signIn("nobatch@example.com");
      const started = await first.json("POST", "/api/emails/sync");
      expect(started.status).toBe(202);
      const { final } = await waitForTask(first, started.body.taskId);
      expect(final).toMatchObject({ state: "completed", result: { added: 300, mode: "full" } });
      expect(await storedCount(stack, "nobatch@example.com")).toEqual({ n: 300, d: 300 });
      const refused = await fallbacksCounted(stack, 501);
      expect(refused).toBeGreaterThan(0);

      // The worker remembers the API root: a later sync sends no batch at all.
      await stack.simControl("DELETE", "/sim/stats");
      const later = await stack.signIn("later@example.com");
      const again = await later.json("POST", "/api/emails/sync");
      expect((await waitForTask(later, again.body.taskId)).final).toMatchObject({
        state: "completed",
        result: { added: 120, mode: "full" },
      });
      expect(await storedCount(stack, "later@example.com")).toEqual({ n: 120, d: 120 });
      const stats = await stack.simControl("GET", "/sim/stats");
      expect(stats.batches).toBe(0);
      // One plain call per message, or per thread where that was cheaper: each message answered once.
      expect(distinctServed(stats.served)).toBe(120);
      expect(stats.served.again).toBe(0);
      expect(stats.calls["messages.get"] + stats.calls["threads.get"]).toBeLessThanOrEqual(120);
      expect(await fallbacksCounted(stack, 501)).toBe(refused);
    } finally {
      await stack.simControl("DELETE", "/sim/batch");
    }
  });
});
