import { randomBytes } from "node:crypto";
import { resolveQuotaTable } from "../../core/gmail/quotaProfile";
import { type FetchCosts, fetchCostsOf, threadUnits } from "../../core/sync/fetch/threadPlan";
import { ApiClient } from "../../test/ApiClient";
import type { BenchContext } from "./context";
import { type SoloStack, soloStack } from "./soloStack";

/** The two cost tables rows Q1 and Q2 are measured under. */
export const COST_TABLES = [
  { name: "get 5, thread 10", setting: "messages.get:5,threads.get:10" },
  { name: "get 20, thread 40", setting: "messages.get:20,threads.get:40" },
] as const;
export type CostTable = (typeof COST_TABLES)[number];

/** Every method's cost under `table` (Google's table with the fetch prices overridden). */
export function costsOf(table: CostTable): Record<string, number> {
  return { ...resolveQuotaTable({ GMAIL_METHOD_COSTS: table.setting }).costs };
}

/** Gmail methods a sync calls; units of any other method (a push watch) are not the sync's. */
export const SYNC_METHODS = [
  "users.getProfile",
  "labels.list",
  "messages.list",
  "messages.get",
  "threads.get",
  "history.list",
] as const;

/** Units the simulator charged for the sync's methods since its stats were reset. */
export function syncUnits(stats: { units: { spent: Record<string, number> } }): number {
  return SYNC_METHODS.reduce((sum, m) => sum + (stats.units.spent[m] ?? 0), 0);
}

/**
 * The cheapest plan for a first sync of `messages`, computed offline with every thread known
 * whole: each thread at the cheaper of a get per message and one threads.get, plus the calls no
 * plan avoids (labels.list, getProfile, one messages.list per page of 500).
 */
export function cheapestUnits(
  messages: ReadonlyArray<{ threadId: string }>,
  costs: Record<string, number>,
): number {
  const prices: FetchCosts = fetchCostsOf(costs as Parameters<typeof fetchCostsOf>[0]);
  const perThread = new Map<string, number>();
  for (const m of messages) perThread.set(m.threadId, (perThread.get(m.threadId) ?? 0) + 1);
  let units = costs["labels.list"]! + costs["users.getProfile"]!;
  units += Math.max(1, Math.ceil(messages.length / 500)) * costs["messages.list"]!;
  for (const n of perThread.values()) units += threadUnits(n, prices);
  return units;
}

/** A one-worker stack whose app and simulator both price calls by `table`. */
export async function threadedStack(
  ctx: BenchContext,
  table: CostTable,
  env: Record<string, string> = {},
): Promise<SoloStack> {
  return soloStack(ctx, { GMAIL_METHOD_COSTS: table.setting, ...env });
}

/**
 * A signed-in user on `stack` whose simulated mailbox has `count` messages in threads of 1-20
 * (the simulator's `mixed` threading: most of 1-3), and that mailbox's messages.
 */
export async function threadedUser(
  ctx: BenchContext,
  stack: SoloStack,
  prefix: string,
  count: number,
): Promise<{ client: ApiClient; messages: Array<{ id: string; threadId: string }> }> {
  const email = `${prefix}-${randomBytes(3).toString("hex")}@example.com`;
  await ctx.sim("POST", "/sim/accounts", { email, count, threading: "mixed" });
  const client = new ApiClient(stack.web);
  await client.signIn(email);
  const { messages } = await ctx.sim("GET", `/sim/accounts/${email}/messages?limit=${count}`);
  return { client, messages };
}
