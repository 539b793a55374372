/**
 * Fault injection for Gmail API calls: added latency, and a fraction of calls answered 429, 500 or
 * 503, or cut off (socket destroyed without an answer). One random draw per call decides, so the
 * rates are shares of all calls (`rateReset`, then `rate429`, `rate500`, `rate503`; if they add up
 * to more than 1 the later ones get the remainder). Injected 429 and 503 answers can carry
 * `Retry-After`, as Google's sometimes do, in either form RFC 9110 §10.2.3 allows.
 */
import { mix } from "./seed";
import type { FaultKind } from "./stats";

export type RetryAfterFormat = "seconds" | "http-date";

export interface FaultSettings {
  latencyMs: number;
  rate429: number;
  rate500: number;
  rate503: number;
  rateReset: number;
  /** `Retry-After` on injected 429 and 503 answers; null = none. */
  retryAfterSeconds: number | null;
  /** delay-seconds (`120`) or an IMF-fixdate (`Wed, 21 Oct 2026 07:28:00 GMT`). */
  retryAfterFormat: RetryAfterFormat;
}

export const NO_FAULTS: FaultSettings = {
  latencyMs: 0,
  rate429: 0,
  rate500: 0,
  rate503: 0,
  rateReset: 0,
  retryAfterSeconds: null,
  retryAfterFormat: "seconds",
};

const RATE_KEYS = ["rate429", "rate500", "rate503", "rateReset"] as const;
const RETRY_AFTER_FORMATS: readonly RetryAfterFormat[] = ["seconds", "http-date"];
/** A day: RFC 9110 sets no bound, but a longer wait is no test of anything. */
const MAX_RETRY_AFTER_SECONDS = 86_400;

/** Validates a `PUT /sim/faults` body; missing fields are 0. Answers an error message when invalid. */
export function parseFaultSettings(body: Record<string, unknown>): FaultSettings | string {
  const settings: FaultSettings = { ...NO_FAULTS };
  for (const key of Object.keys(body)) {
    if (!(key in settings))
      return `Unknown field "${key}"; expected latencyMs, rate429, rate500, rate503, rateReset, retryAfterSeconds, retryAfterFormat.`;
  }
  const latency = body.latencyMs ?? 0;
  if (typeof latency !== "number" || !Number.isFinite(latency) || latency < 0 || latency > 120_000) {
    return "latencyMs must be a number of milliseconds between 0 and 120000.";
  }
  settings.latencyMs = latency;
  for (const key of RATE_KEYS) {
    const value = body[key] ?? 0;
    if (typeof value !== "number" || !(value >= 0 && value <= 1))
      return `${key} must be a number from 0 to 1.`;
    settings[key] = value;
  }
  const seconds = body.retryAfterSeconds ?? null;
  if (
    seconds !== null &&
    (typeof seconds !== "number" ||
      !Number.isInteger(seconds) ||
      seconds < 0 ||
      seconds > MAX_RETRY_AFTER_SECONDS)
  ) {
    // delay-seconds is 1*DIGIT: a whole number, never a fraction.
    return `retryAfterSeconds must be a whole number of seconds from 0 to ${MAX_RETRY_AFTER_SECONDS}, or null.`;
  }
  settings.retryAfterSeconds = seconds;
  if (body.retryAfterFormat !== undefined) {
    const format = body.retryAfterFormat;
    if (typeof format !== "string" || !RETRY_AFTER_FORMATS.includes(format as RetryAfterFormat))
      return 'retryAfterFormat must be "seconds" or "http-date".';
    if (seconds === null) return "retryAfterFormat needs retryAfterSeconds.";
    settings.retryAfterFormat = format as RetryAfterFormat;
  }
  return settings;
}

/**
 * The `Retry-After` value for a wait of `seconds` from `now`. An HTTP-date has one-second
 * resolution, so it is rounded up: a client that waits until the date never comes back early.
 */
export function retryAfterValue(seconds: number, format: RetryAfterFormat, now = Date.now()): string {
  if (format === "seconds") return String(seconds);
  return new Date(Math.ceil(now / 1000) * 1000 + seconds * 1000).toUTCString();
}

export class FaultInjector {
  private settings: FaultSettings = { ...NO_FAULTS };
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }

  get current(): FaultSettings {
    return { ...this.settings };
  }

  get latencyMs(): number {
    return this.settings.latencyMs;
  }

  set(settings: FaultSettings): void {
    this.settings = { ...settings };
  }

  clear(): void {
    this.settings = { ...NO_FAULTS };
  }

  private random(): number {
    this.state = mix(this.state, 0x5bd1e995);
    return this.state / 4294967296;
  }

  /** Headers for an injected 429 or 503 answer: `Retry-After` when one is configured. */
  retryAfterHeaders(now = Date.now()): Record<string, string> | undefined {
    const { retryAfterSeconds, retryAfterFormat } = this.settings;
    if (retryAfterSeconds === null) return undefined;
    return { "Retry-After": retryAfterValue(retryAfterSeconds, retryAfterFormat, now) };
  }

  /** The fault for this call, if any. */
  draw(): FaultKind | undefined {
    const s = this.settings;
    if (s.rateReset === 0 && s.rate429 === 0 && s.rate500 === 0 && s.rate503 === 0) return undefined;
    const r = this.random();
    let edge = s.rateReset;
    if (r < edge) return "reset";
    edge += s.rate429;
    if (r < edge) return "429";
    edge += s.rate500;
    if (r < edge) return "500";
    edge += s.rate503;
    if (r < edge) return "503";
    return undefined;
  }
}
