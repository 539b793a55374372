/**
 * Which Gmail call fetches each listed message: `messages.get` (one message) or `threads.get`
 * (the whole thread, every message in it). Pure arithmetic on the costs in force (the quota
 * table's, `GMAIL_METHOD_COSTS`) and on how many of a page's listed, not yet stored messages each
 * thread holds (`messages.list` names every id's `threadId`).
 *
 * A `threads.get` costs the thread's price whatever the thread holds: messages already stored,
 * or listed on a later page, come with it but are not counted as its gain. So a thread is
 * fetched whole only when the messages the page needs from it would cost more one by one:
 * `n × messages.get > threads.get`. On a tie the single gets win: the same units, fewer bytes.
 * With Google's table (5 and 10) and with the 20/40 table some guides list, that is from three
 * messages of one thread on one page.
 */
import type { QuotaMethod } from "../../gmail/quotaProfile";

/** The two fetch prices the plan weighs, in quota units a call. */
export interface FetchCosts {
  messageGet: number;
  threadGet: number;
}

/** The fetch prices of a cost table (the quota profile's `costs`). */
export function fetchCostsOf(costs: Readonly<Record<QuotaMethod, number>>): FetchCosts {
  return { messageGet: costs["messages.get"], threadGet: costs["threads.get"] };
}

/** Whether `n` needed messages of one thread cost less fetched whole than one by one. */
export function wholeThreadPays(n: number, costs: FetchCosts): boolean {
  return n * costs.messageGet > costs.threadGet;
}

/** The fewest needed messages of one thread from which `threads.get` is the cheaper call. */
export function breakEven(costs: FetchCosts): number {
  return Math.floor(costs.threadGet / costs.messageGet) + 1;
}

/** Units the cheaper call (or calls) costs for `n` needed messages of one thread. */
export function threadUnits(n: number, costs: FetchCosts): number {
  if (n <= 0) return 0;
  return wholeThreadPays(n, costs) ? costs.threadGet : n * costs.messageGet;
}

/** One listed message the sync still needs, with the thread Gmail says it belongs to. */
export interface Needed {
  id: string;
  /** Absent when unknown (a page read back from an earlier run): it is fetched alone. */
  threadId?: string;
}

/** One call of the plan: a message alone, or a thread whole for the needed `ids` it holds. */
export type PlannedCall =
  | { method: "messages.get"; id: string }
  | { method: "threads.get"; threadId: string; ids: string[] };

/**
 * The calls that fetch `needed` (one page's missing messages, in listing order) for the fewest
 * units: a thread holding enough of them is fetched whole, at the place of its first message; the
 * rest one by one. `threads` false (a transport that cannot fetch threads) plans single gets only.
 */
export function planPage(needed: readonly Needed[], costs: FetchCosts, threads = true): PlannedCall[] {
  const count = new Map<string, number>();
  if (threads)
    for (const m of needed) if (m.threadId) count.set(m.threadId, (count.get(m.threadId) ?? 0) + 1);
  const whole = new Map<string, { method: "threads.get"; threadId: string; ids: string[] }>();
  const calls: PlannedCall[] = [];
  for (const m of needed) {
    const n = m.threadId ? (count.get(m.threadId) ?? 0) : 0;
    if (!m.threadId || !wholeThreadPays(n, costs)) {
      calls.push({ method: "messages.get", id: m.id });
      continue;
    }
    const call = whole.get(m.threadId);
    if (call) call.ids.push(m.id);
    else {
      const first = { method: "threads.get" as const, threadId: m.threadId, ids: [m.id] };
      whole.set(m.threadId, first);
      calls.push(first);
    }
  }
  return calls;
}

/** What a plan's calls cost, in quota units. */
export function unitsOf(calls: readonly PlannedCall[], costs: FetchCosts): number {
  let units = 0;
  for (const call of calls) units += call.method === "threads.get" ? costs.threadGet : costs.messageGet;
  return units;
}
