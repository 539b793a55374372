import { describe, expect, it } from "vitest";
import { GOOGLE_METHOD_COSTS, parseMethodCosts } from "../../gmail/quotaProfile";
import {
  breakEven,
  type FetchCosts,
  fetchCostsOf,
  type Needed,
  planPage,
  threadUnits,
  unitsOf,
  wholeThreadPays,
} from "./threadPlan";

const TABLES: Array<[string, FetchCosts]> = [
  ["Google's table (get 5, thread 10)", fetchCostsOf(GOOGLE_METHOD_COSTS)],
  ["the 20/40 table", fetchCostsOf(parseMethodCosts("messages.get:20,threads.get:40"))],
];

/** `n` needed messages of thread `t`. */
const thread = (t: string, n: number): Needed[] =>
  Array.from({ length: n }, (_, i) => ({ id: `${t}-${i}`, threadId: t }));

describe("the thread/message plan", () => {
  it("reads the two prices from the cost table in force", () => {
    expect(TABLES.map(([, c]) => c)).toEqual([
      { messageGet: 5, threadGet: 10 },
      { messageGet: 20, threadGet: 40 },
    ]);
  });

  for (const [name, costs] of TABLES) {
    describe(name, () => {
      it("fetches a thread whole from three needed messages on: two gets cost what one thread does", () => {
        expect(breakEven(costs)).toBe(3);
        expect(wholeThreadPays(2, costs)).toBe(false);
        expect(wholeThreadPays(3, costs)).toBe(true);
      });

      for (let n = 1; n <= 20; n++) {
        it(`a thread with ${n} needed message${n === 1 ? "" : "s"} on the page costs min(${n} gets, one thread)`, () => {
          const calls = planPage(thread("t", n), costs);
          const units = unitsOf(calls, costs);
          expect(units).toBe(Math.min(n * costs.messageGet, costs.threadGet));
          expect(units).toBe(threadUnits(n, costs));
          if (n < 3) {
            expect(calls.every((c) => c.method === "messages.get")).toBe(true);
            expect(calls).toHaveLength(n);
          } else {
            expect(calls).toEqual([
              { method: "threads.get", threadId: "t", ids: thread("t", n).map((m) => m.id) },
            ]);
          }
          // Every needed message is fetched by exactly one call.
          const ids = calls.flatMap((c) => (c.method === "threads.get" ? c.ids : [c.id]));
          expect(ids.sort()).toEqual(
            thread("t", n)
              .map((m) => m.id)
              .sort(),
          );
        });
      }

      it("counts only the page's needed messages, not the thread's size: a long thread with one message missing is one get", () => {
        // The rest of the thread is stored already or listed on later pages: fetching it whole
        // would still cost the whole thread's price for this one message.
        const calls = planPage([{ id: "late", threadId: "long" }], costs);
        expect(calls).toEqual([{ method: "messages.get", id: "late" }]);
        expect(unitsOf(calls, costs)).toBe(costs.messageGet);
      });

      it("mixes both calls on one page in listing order, each thread whole at its first message", () => {
        const page: Needed[] = [
          { id: "a1", threadId: "A" },
          { id: "b1", threadId: "B" },
          { id: "a2", threadId: "A" },
          { id: "c1", threadId: "C" },
          { id: "a3", threadId: "A" },
          { id: "b2", threadId: "B" },
        ];
        const calls = planPage(page, costs);
        expect(calls).toEqual([
          { method: "threads.get", threadId: "A", ids: ["a1", "a2", "a3"] },
          { method: "messages.get", id: "b1" },
          { method: "messages.get", id: "c1" },
          { method: "messages.get", id: "b2" },
        ]);
        expect(unitsOf(calls, costs)).toBe(costs.threadGet + 3 * costs.messageGet);
        // Cheaper than a get per message: 6 gets.
        expect(unitsOf(calls, costs)).toBeLessThan(6 * costs.messageGet);
      });

      it("fetches one by one when the transport cannot fetch threads, or the thread is unknown", () => {
        expect(planPage(thread("t", 5), costs, false).every((c) => c.method === "messages.get")).toBe(true);
        const unknown = planPage([{ id: "x" }, { id: "y" }, { id: "z" }], costs);
        expect(unknown.map((c) => c.method)).toEqual(["messages.get", "messages.get", "messages.get"]);
      });
    });
  }

  it("moves the break-even with the ratio of the prices, not their size", () => {
    expect(breakEven({ messageGet: 5, threadGet: 40 })).toBe(9);
    expect(breakEven({ messageGet: 20, threadGet: 10 })).toBe(1);
    expect(breakEven({ messageGet: 5, threadGet: 12 })).toBe(3);
    expect(
      planPage(thread("t", 8), { messageGet: 5, threadGet: 40 }).every((c) => c.method === "messages.get"),
    ).toBe(true);
    expect(planPage(thread("t", 9), { messageGet: 5, threadGet: 40 })).toHaveLength(1);
  });
});
