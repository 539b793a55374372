import { stopStack } from "./globalSetup";

/**
 * Stops what globalSetup started: SIGTERM to every process (SIGKILL after 5 s), then drops the
 * run's database, deletes its Redis keys and stops the embedded PostgreSQL. Idempotent: the
 * teardown function globalSetup returns does the same and whichever runs second does nothing.
 */
export default async function globalTeardown(): Promise<void> {
  await stopStack(globalThis.__inboxSyncE2E);
}
