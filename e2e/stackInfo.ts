import { readFileSync } from "node:fs";
import path from "node:path";

/**
 * What globalSetup started, for the specs: written to .data/e2e/stack.json (and its path to
 * E2E_STACK_FILE) once every process answers.
 */
export interface StackInfo {
  /** The Gmail simulator (Gmail API, OAuth pages and the /sim control API). */
  simUrl: string;
  /** Web node A: served by the worker (push and polling paths). */
  webA: string;
  /** Web node B: its queue prefix has no worker, so syncs there take the streaming fallback. */
  webB: string;
  /**
   * Web node C: its queue prefix has no standing worker; the worker-death specs start their own
   * worker on it (`workerEnvC`) and kill it. Lease, heartbeat and liveness run at the product's
   * defaults there, so those specs show the times a user would see.
   */
  webC: string;
  queuePrefix: string;
  queuePrefixB: string;
  queuePrefixC: string;
  /** The environment that starts a worker for web node C (test-only secrets included). */
  workerEnvC: Record<string, string>;
  databaseName: string;
  logDir: string;
}

export const E2E_DIR = path.resolve(".data/e2e");
export const STACK_FILE = path.join(E2E_DIR, "stack.json");

/** The accounts the simulator starts with; each spec owns some and resets them before use. */
export const ACCOUNTS = {
  push: "e2e-alice@example.com",
  polling: "e2e-bob@example.com",
  streaming: "e2e-carol@example.com",
  twoA: "e2e-dave@example.com",
  twoB: "e2e-erin@example.com",
  reload: "e2e-frank@example.com",
  revoked: "e2e-grace@example.com",
  search: "e2e-heidi@example.com",
  socketDrop: "e2e-ivan@example.com",
  workerDiesMidSync: "e2e-judy@example.com",
  workerDiesQueued: "e2e-ken@example.com",
  longSync: "e2e-liam@example.com",
  longSyncPaused: "e2e-mia@example.com",
} as const;

export const SIM_ACCOUNTS = Object.values(ACCOUNTS)
  .map((email) => `${email}:10`)
  .join(",");

export function readStackInfo(): StackInfo {
  const file = process.env.E2E_STACK_FILE ?? STACK_FILE;
  return JSON.parse(readFileSync(file, "utf8")) as StackInfo;
}
