import type { SyncPhase, TaskSnapshot } from "../../core/contract";

/**
 * Each phase's share of the bar. A snapshot's own `percent` counts within its phase (listing
 * runs 0→99, then fetching starts again at 0), so the bar is built from phase and
 * processed/total instead: one number that only grows over a whole sync.
 */
const SPANS: Record<SyncPhase, [from: number, to: number]> = {
  listing: [0, 5],
  fetching: [5, 95],
  storing: [95, 99],
  done: [100, 100],
};

export function overallPercent(s: TaskSnapshot): number {
  if (s.state === "completed" || s.progress.phase === "done") return 100;
  if (s.state === "queued") return 0;
  const span = SPANS[s.progress.phase] ?? SPANS.fetching;
  const { processed, total } = s.progress;
  const share = total > 0 ? Math.min(1, Math.max(0, processed / total)) : 0;
  return Math.min(99, Math.floor(span[0] + (span[1] - span[0]) * share));
}
