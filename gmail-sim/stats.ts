/** Counters the control API reports at `GET /sim/stats`. */

/** Gmail methods the simulator serves, named as googleapis names them (`users.messages.get` → "messages.get"). */
export type GmailMethod =
  | "users.getProfile"
  | "messages.list"
  | "messages.get"
  | "threads.get"
  | "history.list"
  | "labels.list"
  | "labels.get"
  | "messages.attachments.get"
  | "users.watch"
  | "users.stop";

export const GMAIL_METHODS: readonly GmailMethod[] = [
  "users.getProfile",
  "messages.list",
  "messages.get",
  "threads.get",
  "history.list",
  "labels.list",
  "labels.get",
  "messages.attachments.get",
  "users.watch",
  "users.stop",
];

export type FaultKind = "429" | "500" | "503" | "reset";

/** One grant revoked through the revocation endpoint (what an app does when a user leaves). */
export interface Revocation {
  email: string;
  clientId: string;
  /** Which of the grant's tokens the app presented. */
  tokenType: "refresh_token" | "access_token";
  /** The token came in the form body (true) rather than the URL's query string. */
  inBody: boolean;
  at: string;
}

/** What `messages.get` and `threads.get` answered since the reset. */
export interface Served {
  /** Messages in successful answers of each method (every message of a thread counts). */
  "messages.get": number;
  "threads.get": number;
  /** Successful `threads.get` answers. */
  threads: number;
  /** Messages answered that had been answered before. */
  again: number;
}

/** How many different messages were answered, by either call. */
export const distinctServed = (served: Served): number =>
  served["messages.get"] + served["threads.get"] - served.again;

export interface StatsSnapshot {
  /** Every Gmail API request received, by method (faulted and rejected ones included), plus OAuth calls. */
  calls: Record<string, number>;
  /** Requests refused for quota, by method. */
  rejected: Record<string, number>;
  /**
   * Quota units by method: `spent` on admitted calls, `refused` on calls refused for quota, by
   * reason (`userRateLimitExceeded`, `rateLimitExceeded`, `dailyLimitExceeded`); `refusals` counts
   * those calls.
   */
  units: {
    spent: Record<string, number>;
    refused: Record<string, Record<string, number>>;
    refusals: Record<string, Record<string, number>>;
  };
  /** Injected faults by kind. */
  faults: Record<FaultKind, number>;
  /**
   * HTTP requests to the batch endpoint. Their parts are counted in `calls` by method, each as a
   * call of its own (as Google counts quota), so a batch of 50 gets adds 50 to `messages.get`.
   */
  batches: number;
  /**
   * Messages answered by `messages.get` and `threads.get` (every message of a thread counts),
   * and how many of them had been answered before since the reset: what shows that a sync
   * fetched each message once, whichever call brought it.
   */
  served: Served;
  /** Grants revoked through `/revoke`, oldest first. */
  revocations: Revocation[];
  since: string;
}

function bump(
  table: Record<string, Record<string, number>>,
  method: string,
  reason: string,
  n: number,
): void {
  const row = table[method] ?? {};
  row[reason] = (row[reason] ?? 0) + n;
  table[method] = row;
}

export class SimStats {
  private calls: Record<string, number> = {};
  private rejected: Record<string, number> = {};
  private spent: Record<string, number> = {};
  private refused: Record<string, Record<string, number>> = {};
  private refusals: Record<string, Record<string, number>> = {};
  private faults: Record<FaultKind, number> = { "429": 0, "500": 0, "503": 0, reset: 0 };
  private batches = 0;
  private served: Served = { "messages.get": 0, "threads.get": 0, threads: 0, again: 0 };
  private readonly servedIds = new Set<string>();
  private revocations: Revocation[] = [];
  private since = new Date();

  constructor() {
    this.reset();
  }

  reset(): void {
    this.calls = {};
    for (const method of GMAIL_METHODS) this.calls[method] = 0;
    this.calls["oauth.exchange"] = 0;
    this.calls["oauth.refresh"] = 0;
    this.calls["oauth.revoke"] = 0;
    this.rejected = {};
    this.spent = {};
    this.refused = {};
    this.refusals = {};
    this.faults = { "429": 0, "500": 0, "503": 0, reset: 0 };
    this.batches = 0;
    this.served = { "messages.get": 0, "threads.get": 0, threads: 0, again: 0 };
    this.servedIds.clear();
    this.revocations = [];
    this.since = new Date();
  }

  call(method: string): void {
    this.calls[method] = (this.calls[method] ?? 0) + 1;
  }

  /** A call admitted by the quota, and what it cost. */
  spend(method: string, units: number): void {
    this.spent[method] = (this.spent[method] ?? 0) + units;
  }

  /** A call refused for quota: its units and why. */
  reject(method: string, reason: string, units: number): void {
    this.rejected[method] = (this.rejected[method] ?? 0) + 1;
    bump(this.refused, method, reason, units);
    bump(this.refusals, method, reason, 1);
  }

  revoked(revocation: Omit<Revocation, "at">): void {
    // Bounded: a long benchmark run must not grow the simulator without end.
    if (this.revocations.length >= 10_000) this.revocations.shift();
    this.revocations.push({ ...revocation, at: new Date().toISOString() });
  }

  /** A successful answer of `method` carrying the messages `ids` (of `email`'s mailbox). */
  serve(method: "messages.get" | "threads.get", email: string, ids: readonly string[]): void {
    this.served[method] += ids.length;
    if (method === "threads.get") this.served.threads++;
    for (const id of ids) {
      const key = `${email}\u0000${id}`;
      if (this.servedIds.has(key)) this.served.again++;
      else this.servedIds.add(key);
    }
  }

  batch(): void {
    this.batches++;
  }

  fault(kind: FaultKind): void {
    this.faults[kind]++;
  }

  snapshot(): StatsSnapshot {
    return {
      calls: { ...this.calls },
      rejected: { ...this.rejected },
      units: {
        spent: { ...this.spent },
        refused: structuredClone(this.refused),
        refusals: structuredClone(this.refusals),
      },
      faults: { ...this.faults },
      batches: this.batches,
      served: { ...this.served },
      revocations: this.revocations.map((r) => ({ ...r })),
      since: this.since.toISOString(),
    };
  }
}
