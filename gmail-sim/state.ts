/** Everything the simulator knows: accounts, OAuth grants, fault and quota settings, counters. */
import { FaultInjector } from "./faults";
import { Identities, IdTokenSigner } from "./identity";
import { DEFAULT_HISTORY_BASE, Mailbox, type Threading } from "./Mailbox";
import { OAuthStore } from "./oauth";
import { PushNotifier } from "./push";
import { QuotaLimiter } from "./quota";
import { DEFAULT_BASE_TIME, hashString } from "./seed";
import { SimStats } from "./stats";

export interface StateOptions {
  seed: string;
  accessTokenLifetimeSeconds: number;
  baseTime?: number;
  now?: () => number;
  /** The `iss` of ID tokens; default: the address each token request came to. */
  issuer?: string;
  /** Where mail-change pushes go, and their token's audience (default: the endpoint). */
  pushEndpoint?: string;
  pushAudience?: string;
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
  readonly quota: QuotaLimiter;
  readonly stats = new SimStats();
  readonly identities: Identities;
  readonly signer = new IdTokenSigner();
  readonly issuer: string | undefined;
  readonly baseTime: number;
  /**
   * Gmail's clock: arrival times, `newer_than:`/`older_than:`, watch expirations. It runs `clockOffsetMs`
   * ahead of the real one (control API), while OAuth tokens keep real time so a moved clock does
   * not expire the app's grants.
   */
  readonly now: () => number;
  clockOffsetMs = 0;
  /** When set, the batch endpoint answers this status (404, 405 or 501) instead of serving parts. */
  batchRefusal: 404 | 405 | 501 | null = null;
  readonly push: PushNotifier;

  constructor(options: StateOptions) {
    this.seed = options.seed;
    const realNow = options.now ?? Date.now;
    this.now = () => realNow() + this.clockOffsetMs;
    this.quota = new QuotaLimiter(this.now);
    this.baseTime = options.baseTime ?? DEFAULT_BASE_TIME;
    this.oauth = new OAuthStore(options.accessTokenLifetimeSeconds, realNow);
    this.push = new PushNotifier(this.signer, this.now, {
      ...(options.pushEndpoint ? { endpoint: options.pushEndpoint } : {}),
      ...(options.pushAudience ? { audience: options.pushAudience } : {}),
    });
    this.faults = new FaultInjector(hashString(`faults:${options.seed}`));
    this.identities = new Identities(options.seed);
    this.issuer = options.issuer;
  }

  account(email: string): Mailbox | undefined {
    return this.accounts.get(normalizeEmail(email));
  }

  /**
   * Creates an account with `count` seeded messages, or resets an existing one: its grants are
   * revoked and its history ids continue above the old ones (old startHistoryIds answer 404).
   * The account keeps its `sub` unless another is given (an address that passed to a new
   * Google account); the caller makes sure no other account holds that `sub`.
   */
  createAccount(email: string, count: number, sub?: string, threading?: Threading): Mailbox {
    const address = normalizeEmail(email);
    const previous = this.accounts.get(address);
    if (previous) {
      this.oauth.revokeAccount(address);
      this.push.stop(address);
    }
    this.identities.assign(address, sub);
    const historyBase = previous
      ? Math.max(DEFAULT_HISTORY_BASE, Math.ceil((previous.historyId + 1000) / 1000) * 1000)
      : DEFAULT_HISTORY_BASE;
    const mailbox = new Mailbox(address, count, {
      seed: this.seed,
      baseTime: this.baseTime,
      historyBase,
      now: this.now,
      ...(threading ? { threading } : {}),
    });
    this.accounts.set(address, mailbox);
    return mailbox;
  }

  deleteAccount(email: string): boolean {
    const address = normalizeEmail(email);
    if (!this.accounts.has(address)) return false;
    this.oauth.revokeAccount(address);
    this.accounts.delete(address);
    this.push.stop(address);
    this.identities.release(address);
    return true;
  }
}
