/**
 * Fault injection for Gmail API calls: added latency, and a fraction of calls answered 429, 500 or
 * 503, or cut off (socket destroyed without an answer). One random draw per call decides, so the
 * rates are shares of all calls (`rateReset`, then `rate429`, `rate500`, `rate503`; if they add up
 * to more than 1 the later ones get the remainder).
 */
import { mix } from "./seed";
import type { FaultKind } from "./stats";

export interface FaultSettings {
  latencyMs: number;
  rate429: number;
  rate500: number;
  rate503: number;
  rateReset: number;
}

export const NO_FAULTS: FaultSettings = { latencyMs: 0, rate429: 0, rate500: 0, rate503: 0, rateReset: 0 };

const RATE_KEYS = ["rate429", "rate500", "rate503", "rateReset"] as const;

/** Validates a `PUT /sim/faults` body; missing fields are 0. Answers an error message when invalid. */
export function parseFaultSettings(body: Record<string, unknown>): FaultSettings | string {
  const settings: FaultSettings = { ...NO_FAULTS };
  for (const key of Object.keys(body)) {
    if (!(key in settings))
      return `Unknown field "${key}"; expected latencyMs, rate429, rate500, rate503, rateReset.`;
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
  return settings;
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
