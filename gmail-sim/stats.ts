/** Counters the control API reports at `GET /sim/stats`. */

/** Gmail methods the simulator serves, named as googleapis names them (`users.messages.get` → "messages.get"). */
export type GmailMethod =
  | "users.getProfile"
  | "messages.list"
  | "messages.get"
  | "history.list"
  | "labels.list"
  | "labels.get";

export const GMAIL_METHODS: readonly GmailMethod[] = [
  "users.getProfile",
  "messages.list",
  "messages.get",
  "history.list",
  "labels.list",
  "labels.get",
];

export type FaultKind = "429" | "500" | "503" | "reset";

export interface StatsSnapshot {
  /** Every Gmail API request received, by method (faulted and rejected ones included), plus OAuth calls. */
  calls: Record<string, number>;
  /** Requests refused for quota, by method. */
  rejected: Record<string, number>;
  /** Injected faults by kind. */
  faults: Record<FaultKind, number>;
  since: string;
}

export class SimStats {
  private calls: Record<string, number> = {};
  private rejected: Record<string, number> = {};
  private faults: Record<FaultKind, number> = { "429": 0, "500": 0, "503": 0, reset: 0 };
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
    this.faults = { "429": 0, "500": 0, "503": 0, reset: 0 };
    this.since = new Date();
  }

  call(method: string): void {
    this.calls[method] = (this.calls[method] ?? 0) + 1;
  }

  reject(method: string): void {
    this.rejected[method] = (this.rejected[method] ?? 0) + 1;
  }

  fault(kind: FaultKind): void {
    this.faults[kind]++;
  }

  snapshot(): StatsSnapshot {
    return {
      calls: { ...this.calls },
      rejected: { ...this.rejected },
      faults: { ...this.faults },
      since: this.since.toISOString(),
    };
  }
}
