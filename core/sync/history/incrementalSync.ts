import type { gmail_v1 } from "@googleapis/gmail";
import { fromList } from "../fetch/FetchItem";
import { classifyGmailError } from "../gmailCall";
import type { SyncScope } from "../MailStore";
import type { SyncOutcome } from "../SyncOptions";
import type { SyncRun } from "../SyncRun";
import { inScopeLabels } from "../scope";
import { isHidden } from "../toMail";

/** A message's net change over the history replayed. */
export interface MessageChange {
  added?: boolean;
  deleted?: boolean;
  labels?: string[];
}

/** The changes by kind: removed (or hidden), arrived, relabelled. */
export interface SortedChanges {
  toRemove: string[];
  candidates: string[];
  relabel: Array<{ gmailId: string; labels: string[] }>;
}

/** Folds one history record into `changes`: the last record about a message wins. */
export function applyRecord(changes: Map<string, MessageChange>, h: gmail_v1.Schema$History): void {
  for (const a of h.messagesAdded ?? []) {
    const id = a.message?.id;
    if (id) changes.set(id, { added: true, labels: a.message?.labelIds ?? [] });
  }
  for (const d of h.messagesDeleted ?? []) {
    const id = d.message?.id;
    if (id) changes.set(id, { deleted: true });
  }
  for (const l of [...(h.labelsAdded ?? []), ...(h.labelsRemoved ?? [])]) {
    const id = l.message?.id;
    if (!id) continue;
    const prior = changes.get(id);
    if (prior?.deleted) continue;
    changes.set(id, { ...prior, labels: l.message?.labelIds ?? prior?.labels ?? [] });
  }
}

/** Gmail's history since `startHistoryId`, net per message; null when Gmail no longer has it. */
async function readHistory(
  run: SyncRun,
  startHistoryId: string,
): Promise<{ changes: Map<string, MessageChange>; latest: string } | null> {
  const changes = new Map<string, MessageChange>();
  let latest = startHistoryId;
  let pageToken: string | undefined;
  let records = 0;
  try {
    do {
      run.calls.checkAborted();
      const page = await run.calls.call("history.list", () =>
        run.gmail.users.history.list({
          userId: "me",
          startHistoryId,
          maxResults: 500,
          ...(pageToken ? { pageToken } : {}),
        }),
      );
      for (const h of page.history ?? []) {
        records++;
        applyRecord(changes, h);
      }
      if (page.historyId) latest = String(page.historyId);
      pageToken = page.nextPageToken ?? undefined;
      await run.progress({ phase: "listing", processed: records, total: records });
    } while (pageToken);
  } catch (err) {
    if (classifyGmailError(err) === "not_found") return null;
    throw err;
  }
  return { changes, latest };
}

/** Sorts the net changes by kind. */
export function sortChanges(changes: Map<string, MessageChange>): SortedChanges {
  const sorted: SortedChanges = { toRemove: [], candidates: [], relabel: [] };
  for (const [id, c] of changes) {
    if (c.deleted || (c.labels && isHidden(c.labels))) sorted.toRemove.push(id);
    else if (c.added) sorted.candidates.push(id);
    else if (c.labels) sorted.relabel.push({ gmailId: id, labels: c.labels });
  }
  return sorted;
}

/**
 * What to fetch and what to relabel, by what the store holds (`known`). A relabelled message we
 * do not hold (say, moved out of spam) is fetched like a new one. Of the messages not held, only
 * those inside the mirror's label scope are fetched: an arrival is always new enough for a day
 * scope. What is held is kept up to date whatever its labels.
 */
export function planFetch(
  { candidates, relabel }: SortedChanges,
  changes: Map<string, MessageChange>,
  known: Set<string>,
  scope: SyncScope | null,
): { toFetch: string[]; relabelKnown: Array<{ gmailId: string; labels: string[] }> } {
  const wanted = (id: string) => inScopeLabels(scope, changes.get(id)?.labels ?? []);
  const toFetch = [
    ...candidates.filter((id) => !known.has(id) && wanted(id)),
    ...relabel.filter((r) => !known.has(r.gmailId) && wanted(r.gmailId)).map((r) => r.gmailId),
  ];
  const relabelKnown = [
    ...relabel.filter((r) => known.has(r.gmailId)),
    ...candidates
      .filter((id) => known.has(id))
      .map((id) => ({ gmailId: id, labels: changes.get(id)!.labels ?? [] })),
  ];
  return { toFetch, relabelKnown };
}

/**
 * Replays history from `startHistoryId` inside `scope` (what the mirror covers); answers null
 * when Gmail no longer has that history and a full sync must run.
 */
export async function incrementalSync(
  run: SyncRun,
  startHistoryId: string,
  scope: SyncScope | null,
): Promise<SyncOutcome | null> {
  await run.progress({ phase: "listing", processed: 0, total: 0 });
  const history = await readHistory(run, startHistoryId);
  if (!history) return null;
  const { changes, latest } = history;
  const sorted = sortChanges(changes);
  const { toRemove, candidates, relabel } = sorted;
  const known = await run.store.knownIds([...candidates, ...relabel.map((r) => r.gmailId)]);
  const { toFetch, relabelKnown } = planFetch(sorted, changes, known, scope);

  const total = toFetch.length;
  const fetched = await run.fetch(fromList(toFetch), Math.min(run.concurrency, toFetch.length), {
    tally: { processed: 0 },
    total: () => total,
    say: run.progress,
  });
  await run.progress({ phase: "storing", processed: total, total });
  const deleted = toRemove.length ? await run.store.remove(toRemove) : 0;
  const relabelled = relabelKnown.length ? await run.store.setLabels(relabelKnown) : 0;
  await run.store.saveCursor(latest);
  await run.progress({ phase: "done", processed: total, total });
  return {
    mode: "incremental",
    added: fetched.added,
    updated: fetched.updated + relabelled,
    deleted,
    historyId: latest,
  };
}
