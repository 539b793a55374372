import type { gmail_v1 } from "@googleapis/gmail";
import { incrementalSync } from "./history/incrementalSync";
import { fullSync } from "./listing/fullSync";
import type { MailStore } from "./MailStore";
import type { FullSyncReason, ProgressSink, SyncOptions, SyncOutcome } from "./SyncOptions";
import { type SyncRun, syncRunOf } from "./SyncRun";
import { normalizeScope, scopeCovers } from "./scope";
import { toMailLabel } from "./toMail";

export { lanesFor, MAX_LANES } from "./fetch/LaneControl";
export type { ProgressSink, SyncOptions, SyncProgressUpdate, SyncWait } from "./SyncOptions";
export { InvalidSyncScopeError, normalizeScope, scopeCovers } from "./scope";

/**
 * Mirrors one Gmail mailbox into a store. The first sync lists every message and fetches the
 * ones not yet stored; later syncs replay Gmail's history from the stored historyId, and fall
 * back to a full listing when Gmail no longer has that history (404).
 *
 * Every sync first replaces the stored labels (`labels.list`). Messages are fetched whole
 * (`format=full`). With a scope, the full listing is of that part of the mailbox only, and its
 * deletion pass touches nothing outside it; a scope wider than what the mirror covers, or stored
 * rows still lacking their bodies, make the sync list again even with a history cursor.
 *
 * Knows nothing of HTTP, queues or sockets: the worker job and the streaming endpoint both call it.
 */
export async function syncMailbox(
  gmail: gmail_v1.Gmail,
  store: MailStore,
  progress: ProgressSink,
  options: SyncOptions = {},
): Promise<SyncOutcome> {
  // A scope Gmail cannot be asked for fails before any call.
  const chosen = options.scope === "current" ? "current" : normalizeScope(options.scope);
  const run = syncRunOf(gmail, store, progress, options);
  await saveLabels(run);
  const coverage = await store.coverage();
  const cursor = options.forceFull ? null : coverage.cursor;
  const held = normalizeScope(coverage.scope);
  const asked = chosen === "current" ? held : chosen;
  // History replays what changed inside what the mirror covers; it cannot bring in what was never
  // listed (a wider scope) nor the bodies of rows stored without them (migration 0008).
  const covered = scopeCovers(held, asked);
  const cannotReplay = fullSyncReason(options.forceFull, coverage.cursor, covered, coverage.bodiesMissing);
  if (cannotReplay === null && cursor) {
    const incremental = await incrementalSync(run, cursor, held);
    if (incremental) return incremental;
  }
  run.calls.enterFullSync();
  // A full listing of what the mirror covers when that includes what is asked (history expired,
  // or bodies to back-fill), else of what is asked: knownIds skips whatever is stored.
  const outcome = await fullSync(run, cursor && covered ? held : asked);
  return { ...outcome, fullBecause: cannotReplay ?? "history_expired" };
}

/** Why this sync cannot replay history, or null when it can (and lists only if Gmail has lost it). */
export function fullSyncReason(
  forced: boolean | undefined,
  cursor: string | null,
  covered: boolean,
  bodiesMissing: boolean,
): FullSyncReason | null {
  if (!cursor) return "first_sync";
  if (forced) return "forced";
  if (!covered) return "scope_widened";
  if (bodiesMissing) return "bodies_missing";
  return null;
}

/** Gmail's labels into the store, once per sync (1 quota unit). */
async function saveLabels(run: SyncRun): Promise<void> {
  const data = await run.calls.call("labels.list", () => run.gmail.users.labels.list({ userId: "me" }));
  await run.store.saveLabels((data.labels ?? []).flatMap(toMailLabel));
}
