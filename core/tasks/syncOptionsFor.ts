import type { Config } from "../config";
import { gmailBatches } from "../gmail/GmailBatch";
import type { SyncOptions } from "../sync/syncMailbox";

/** The sync settings a runner adds per run (its stop signal, the user's quota, who hears waits). */
export type RunnerSyncOptions = Omit<SyncOptions, "signal" | "quota" | "onWait">;

/**
 * How this deployment syncs a mailbox, whoever runs it (a worker's job or the streaming
 * endpoint): Gmail's batch endpoint at GMAIL_BATCH_SIZE messages a request, and lanes opened up
 * to what the per-user quota pays for at the `messages.get` cost in force (the quota table).
 */
export function syncOptionsFor(
  config: Pick<Config, "gmailQuotaTable" | "gmailBatchSize">,
): Pick<SyncOptions, "userMessagesPerSecond" | "messages"> {
  const { userUnitsPerSecond, costs } = config.gmailQuotaTable;
  return {
    userMessagesPerSecond: userUnitsPerSecond > 0 ? userUnitsPerSecond / costs["messages.get"] : undefined,
    messages: gmailBatches(config.gmailBatchSize),
  };
}
