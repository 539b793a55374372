import type { Config } from "../config";
import { type BatchRefusals, processBatchRefusals } from "../gmail/batchFallback";
import { gmailBatches } from "../gmail/GmailBatch";
import type { Logger } from "../logger";
import type { SyncOptions } from "../sync/syncMailbox";

/** The sync settings a runner adds per run (its stop signal, the user's quota, who hears waits). */
export type RunnerSyncOptions = Omit<SyncOptions, "signal" | "quota" | "onWait">;

/** Who hears that Gmail's batch endpoint is absent, so operators see the slower path. */
export interface BatchFallbackWatch {
  /** Warned once per API root and process. */
  logger?: Pick<Logger, "warn">;
  /** Counts each batch request refused (a Prometheus counter of the runner's registry). */
  count?: (status: number) => void;
  /** Default the process's own memory of refusing roots. */
  refusals?: BatchRefusals;
}

/**
 * How this deployment syncs a mailbox, whoever runs it (a worker's job or the streaming
 * endpoint): Gmail's batch endpoint at GMAIL_BATCH_SIZE messages a request (one `messages.get`
 * each where that endpoint answers 404, 405 or 501), and lanes opened up to what the per-user
 * quota pays for at the `messages.get` cost in force (the quota table), whose costs also drive the
 * choice between `messages.get` and `threads.get` (core/sync/fetch/threadPlan.ts).
 */
export function syncOptionsFor(
  config: Pick<Config, "gmailQuotaTable" | "gmailBatchSize">,
  watch: BatchFallbackWatch = {},
): Pick<SyncOptions, "userMessagesPerSecond" | "messages" | "methodCosts"> {
  const { userUnitsPerSecond, costs } = config.gmailQuotaTable;
  return {
    methodCosts: costs,
    userMessagesPerSecond: userUnitsPerSecond > 0 ? userUnitsPerSecond / costs["messages.get"] : undefined,
    messages: gmailBatches(config.gmailBatchSize, {
      refusals: watch.refusals ?? processBatchRefusals,
      onRefused: ({ apiRoot, status, first }) => {
        watch.count?.(status);
        if (first) {
          watch.logger?.warn(
            { apiRoot, status },
            "Gmail's batch endpoint is absent; fetching one messages.get per message for this API root until restart",
          );
        }
      },
    }),
  };
}
