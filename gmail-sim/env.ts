/** Reads the simulator's environment (SIM_PORT, SIM_HOST, SIM_ACCOUNTS, SIM_SEED, SIM_BASE_TIME, SIM_TOKEN_TTL, SIM_ISSUER, SIM_PUSH_URL, SIM_PUSH_AUDIENCE, SIM_LOG). */

import type { SimulatorAccountSpec } from "./server";
import { isEmail, MAX_MESSAGES_PER_ACCOUNT } from "./state";

export const DEFAULT_PORT = 4010;
export const DEFAULT_ACCOUNTS = "alice@example.com:1200,bob@example.com:300";

export interface SimulatorEnv {
  port: number;
  host?: string;
  accounts: SimulatorAccountSpec[];
  seed?: string;
  accessTokenLifetimeSeconds?: number;
  baseTime?: number;
  issuer?: string;
  pushEndpoint?: string;
  pushAudience?: string;
  log: boolean;
}

/** A configuration problem, with a message that names the variable. */
export class EnvError extends Error {}

/** Parses `address:count,address:count`. */
export function parseAccounts(spec: string, variable = "SIM_ACCOUNTS"): SimulatorAccountSpec[] {
  const accounts: SimulatorAccountSpec[] = [];
  const seen = new Set<string>();
  for (const raw of spec.split(",")) {
    const entry = raw.trim();
    if (!entry) continue;
    const colon = entry.lastIndexOf(":");
    const email = (colon < 0 ? entry : entry.slice(0, colon)).trim().toLowerCase();
    const countText = colon < 0 ? "" : entry.slice(colon + 1).trim();
    if (!isEmail(email)) {
      throw new EnvError(`${variable}: "${entry}" is not address:count (e.g. alice@example.com:1200).`);
    }
    if (!/^\d+$/.test(countText) || Number(countText) > MAX_MESSAGES_PER_ACCOUNT) {
      throw new EnvError(
        `${variable}: the message count of "${entry}" must be a whole number from 0 to ${MAX_MESSAGES_PER_ACCOUNT}.`,
      );
    }
    if (seen.has(email)) throw new EnvError(`${variable}: ${email} is listed twice.`);
    seen.add(email);
    accounts.push({ email, count: Number(countText) });
  }
  return accounts;
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): SimulatorEnv {
  const portText = env.SIM_PORT?.trim() || String(DEFAULT_PORT);
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) {
    throw new EnvError(`SIM_PORT must be a port number from 0 to 65535, not "${env.SIM_PORT}".`);
  }
  const result: SimulatorEnv = {
    port: Number(portText),
    accounts: parseAccounts(env.SIM_ACCOUNTS ?? DEFAULT_ACCOUNTS),
    log: env.SIM_LOG === "1" || env.SIM_LOG === "true",
  };
  if (env.SIM_HOST?.trim()) result.host = env.SIM_HOST.trim();
  if (env.SIM_SEED !== undefined && env.SIM_SEED !== "") result.seed = env.SIM_SEED;
  const base = env.SIM_BASE_TIME?.trim();
  if (base) {
    const at = base === "now" ? Math.floor(Date.now() / 1000) * 1000 : Date.parse(base);
    if (!Number.isFinite(at)) {
      throw new EnvError(`SIM_BASE_TIME must be "now" or an ISO-8601 date-time, not "${base}".`);
    }
    result.baseTime = Math.floor(at / 1000) * 1000;
  }
  const ttl = env.SIM_TOKEN_TTL?.trim();
  if (ttl) {
    if (!/^\d+$/.test(ttl) || Number(ttl) < 1) {
      throw new EnvError(`SIM_TOKEN_TTL must be a whole number of seconds (at least 1), not "${ttl}".`);
    }
    result.accessTokenLifetimeSeconds = Number(ttl);
  }
  const issuer = env.SIM_ISSUER?.trim();
  if (issuer) {
    if (!URL.canParse(issuer)) throw new EnvError(`SIM_ISSUER must be a URL, not "${issuer}".`);
    result.issuer = issuer;
  }
  const pushUrl = env.SIM_PUSH_URL?.trim();
  if (pushUrl) {
    if (!/^https?:\/\//.test(pushUrl) || !URL.canParse(pushUrl)) {
      throw new EnvError(`SIM_PUSH_URL must be an http(s) URL, not "${pushUrl}".`);
    }
    result.pushEndpoint = pushUrl;
  }
  const audience = env.SIM_PUSH_AUDIENCE?.trim();
  if (audience) result.pushAudience = audience;
  return result;
}
