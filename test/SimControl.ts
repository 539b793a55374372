/**
 * The Gmail simulator's control API (/sim/...), for arranging mailboxes and faults: one client
 * for the Vitest stacks (test/stack.ts) and the Playwright specs (e2e/fixtures.ts). Plain
 * `fetch`, so it runs in either runner.
 */

export interface SimMessage {
  id: string;
  threadId: string;
  labelIds: string[];
  internalDate: string;
}

export class SimControl {
  constructor(readonly url: string) {}

  /** Any control call; a non-2xx answer throws with the simulator's own words. */
  async call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`sim ${method} ${path} → ${res.status} ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  }

  /** Creates the account afresh with `count` seeded messages. */
  resetAccount(email: string, count: number) {
    return this.call("POST", "/sim/accounts", { email, count });
  }

  /** Every Gmail call waits this long from now on: mid-sync states become observable. */
  setLatency(latencyMs: number) {
    return this.call("PUT", "/sim/faults", { latencyMs });
  }

  clearFaults() {
    return this.call("DELETE", "/sim/faults");
  }

  /** Gmail's usage limits (`PUT /sim/quota`): a profile and/or single values; counts start from zero. */
  setQuota(settings: Record<string, unknown>) {
    return this.call("PUT", "/sim/quota", settings);
  }

  /** Every usage limit lifted (the simulator's default). */
  clearQuota() {
    return this.call("DELETE", "/sim/quota");
  }

  revoke(email: string) {
    return this.call("POST", `/sim/accounts/${encodeURIComponent(email)}/revoke`);
  }

  /** The mailbox as the app should mirror it: newest first, without spam and trash. */
  async messages(email: string): Promise<SimMessage[]> {
    const { messages } = await this.call<{ messages: SimMessage[] }>(
      "GET",
      `/sim/accounts/${encodeURIComponent(email)}/messages`,
    );
    return messages.filter((m) => !m.labelIds.includes("SPAM") && !m.labelIds.includes("TRASH"));
  }

  message(email: string, id: string) {
    return this.call<SimMessage & { subject: string }>(
      "GET",
      `/sim/accounts/${encodeURIComponent(email)}/messages/${encodeURIComponent(id)}`,
    );
  }
}
