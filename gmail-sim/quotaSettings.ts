/**
 * Gmail's usage limits as settings: the quota profiles Google has given projects (`legacy`: 250
 * units per user per second; `2026`: Cloud projects made from 1 May 2026 on), each value
 * overridable, and the quota units each method costs.
 */
import { GMAIL_METHODS, type GmailMethod } from "./stats";

/** Quota units per call, as Gmail's "Usage limits" table gives them. */
export const METHOD_COST: Readonly<Record<GmailMethod, number>> = {
  "users.getProfile": 1,
  "messages.list": 5,
  "messages.get": 5,
  "threads.get": 10,
  "history.list": 2,
  "labels.list": 1,
  "labels.get": 1,
  "messages.attachments.get": 5,
  "users.watch": 100,
  "users.stop": 50,
};

export type QuotaProfileName = "legacy" | "2026";

/** How Google answers a refused per-user or per-project rate: 403 (its error guide) or 429. */
export type RateLimitStatus = 403 | 429;

export interface QuotaSettings {
  /** The profile these values started from; null when set value by value. */
  profile: QuotaProfileName | null;
  /** Token bucket per account holding one second's units, refilled continuously; null = none. */
  userUnitsPerSecond: number | null;
  /** The same for the whole project. */
  projectUnitsPerSecond: number | null;
  /** Units one account may spend in any rolling minute; null = none. */
  userUnitsPerMinute: number | null;
  /** Units the whole project may spend in any rolling minute. */
  projectUnitsPerMinute: number | null;
  /** Units the whole project may spend in one Pacific-time day. */
  projectUnitsPerDay: number | null;
  /** Units each method costs. */
  costs: Record<GmailMethod, number>;
  rateLimitStatus: RateLimitStatus;
}

const NO_LIMITS: Omit<QuotaSettings, "costs"> = {
  profile: null,
  userUnitsPerSecond: null,
  projectUnitsPerSecond: null,
  userUnitsPerMinute: null,
  projectUnitsPerMinute: null,
  projectUnitsPerDay: null,
  rateLimitStatus: 429,
};

export const QUOTA_PROFILES: Readonly<Record<QuotaProfileName, Omit<QuotaSettings, "costs">>> = {
  legacy: {
    ...NO_LIMITS,
    profile: "legacy",
    userUnitsPerSecond: 250,
    projectUnitsPerSecond: 20_000,
    projectUnitsPerDay: 1_000_000_000,
  },
  "2026": {
    ...NO_LIMITS,
    profile: "2026",
    userUnitsPerMinute: 6_000,
    projectUnitsPerMinute: 1_200_000,
    projectUnitsPerDay: 80_000_000,
    rateLimitStatus: 403,
  },
};

export function unlimited(): QuotaSettings {
  return { ...NO_LIMITS, costs: { ...METHOD_COST } };
}

const LIMIT_KEYS = [
  "userUnitsPerSecond",
  "projectUnitsPerSecond",
  "userUnitsPerMinute",
  "projectUnitsPerMinute",
  "projectUnitsPerDay",
] as const;
const KEYS = new Set<string>(["profile", "costs", "rateLimitStatus", ...LIMIT_KEYS]);

function parseCosts(value: unknown, into: Record<GmailMethod, number>): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return 'costs must be an object of method → units, e.g. {"messages.get": 20}.';
  }
  for (const [method, units] of Object.entries(value)) {
    if (!GMAIL_METHODS.includes(method as GmailMethod)) {
      return `Unknown method "${method}" in costs; expected one of ${GMAIL_METHODS.join(", ")}.`;
    }
    if (typeof units !== "number" || !Number.isInteger(units) || units < 0) {
      return `costs["${method}"] must be a whole number of units (0 or more).`;
    }
    into[method as GmailMethod] = units;
  }
  return undefined;
}

/**
 * A `PUT /sim/quota` body: `profile` picks the starting values (none: no limits), every other
 * field overrides one (null lifts it). Answers the settings, or what is wrong with the body.
 */
export function parseQuotaSettings(body: Record<string, unknown>): QuotaSettings | string {
  for (const key of Object.keys(body)) {
    if (!KEYS.has(key)) return `Unknown field "${key}"; expected ${[...KEYS].join(", ")}.`;
  }
  const profile = body.profile ?? null;
  if (profile !== null && profile !== "legacy" && profile !== "2026") {
    return 'profile must be "legacy" or "2026" (or null).';
  }
  const settings: QuotaSettings = {
    ...(profile === null ? NO_LIMITS : QUOTA_PROFILES[profile]),
    costs: { ...METHOD_COST },
  };
  for (const key of LIMIT_KEYS) {
    const value = body[key];
    if (value === undefined) continue;
    if (value === null) {
      settings[key] = null;
      continue;
    }
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      return `${key} must be a positive number (or null for no limit).`;
    }
    settings[key] = value;
  }
  if (body.rateLimitStatus !== undefined) {
    if (body.rateLimitStatus !== 403 && body.rateLimitStatus !== 429)
      return "rateLimitStatus must be 403 or 429.";
    settings.rateLimitStatus = body.rateLimitStatus;
  }
  if (body.costs !== undefined) {
    const problem = parseCosts(body.costs, settings.costs);
    if (problem) return problem;
  }
  return settings;
}
