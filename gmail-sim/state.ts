/** Everything the simulator knows: accounts, OAuth grants, fault and quota settings, counters. */
import { FaultInjector } from "./faults";
import { DEFAULT_HISTORY_BASE, Mailbox } from "./Mailbox";
import { OAuthStore } from "./oauth";
import { QuotaLimiter } from "./quota";
import { DEFAULT_BASE_TIME, hashString } from "./seed";
import { SimStats } from "./stats";

export interface StateOptions {
  seed: string;
  accessTokenLifetimeSeconds: number;
  baseTime?: number;
  now?: () => number;
}

export const MAX_MESSAGES_PER_ACCOUNT = 1_000_000;

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function isEmail(value: unknown): value is string {
  return typeof value === "string" && /^[^\s@]+@[^\s@]+$/.test(value.trim()) && value.length <= 254;
}

export class SimulatorState {
  readonly seed: string;
  readonly accounts = new Map<string, Mailbox>();
  readonly oauth: OAuthStore;
  readonly faults: FaultInjector;
  readonly quota = new QuotaLimiter();
  readonly stats = new SimStats();
  readonly baseTime: number;
  readonly now: () => number;

  constructor(options: StateOptions) {
    this.seed = options.seed;
    this.now = options.now ?? Date.now;
    this.baseTime = options.baseTime ?? DEFAULT_BASE_TIME;
    this.oauth = new OAuthStore(options.accessTokenLifetimeSeconds, this.now);
    this.faults = new FaultInjector(hashString(`faults:${options.seed}`));
  }

  account(email: string): Mailbox | undefined {
    return this.accounts.get(normalizeEmail(email));
  }

  /**
   * Creates an account with `count` seeded messages, or resets an existing one: its grants are
   * revoked and its history ids continue above the old ones (old startHistoryIds answer 404).
   */
  createAccount(email: string, count: number): Mailbox {
    const address = normalizeEmail(email);
    const previous = this.accounts.get(address);
    if (previous) this.oauth.revokeAccount(address);
    const historyBase = previous
      ? Math.max(DEFAULT_HISTORY_BASE, Math.ceil((previous.historyId + 1000) / 1000) * 1000)
      : DEFAULT_HISTORY_BASE;
    const mailbox = new Mailbox(address, count, {
      seed: this.seed,
      baseTime: this.baseTime,
      historyBase,
      now: this.now,
    });
    this.accounts.set(address, mailbox);
    return mailbox;
  }

  deleteAccount(email: string): boolean {
    const address = normalizeEmail(email);
    if (!this.accounts.has(address)) return false;
    this.oauth.revokeAccount(address);
    this.accounts.delete(address);
    return true;
  }
}
