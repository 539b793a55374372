import type { Config } from "../config";
import { gmailBatches } from "../gmail/GmailBatch";
import { messagesPerSecondOf } from "../sync/QuotaGate";
import type { SyncOptions } from "../sync/syncMailbox";

/** The sync settings a runner adds per run (its stop signal, the user's quota, who hears waits). */
export type RunnerSyncOptions = Omit<SyncOptions, "signal" | "quota" | "onWait">;

/**
 * How this deployment syncs a mailbox, whoever runs it (a worker's job or the streaming
 * endpoint): Gmail's batch endpoint at GMAIL_BATCH_SIZE messages a request, and lanes opened up
 * to what the per-user quota (GMAIL_USER_UNITS_PER_SECOND) pays for.
 */
export function syncOptionsFor(
  config: Pick<Config, "gmailQuota" | "gmailBatchSize">,
): Pick<SyncOptions, "userMessagesPerSecond" | "messages"> {
  return {
    userMessagesPerSecond: messagesPerSecondOf(config.gmailQuota.userUnitsPerSecond),
    messages: gmailBatches(config.gmailBatchSize),
  };
}
