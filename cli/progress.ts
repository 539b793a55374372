import type { TaskSnapshot } from "../core/contract";
import { etaWords, isLongWork, LIMITER_SHORT, pausedWords } from "../core/progress/paceWords";
import { localTimeZone } from "../core/progress/timeWords";
import type { Output } from "./output";

const WAIT_WORDS: Record<NonNullable<TaskSnapshot["waiting"]>, string> = {
  worker: "waiting for a worker",
  no_workers: "no worker alive: streaming",
  retry: "retrying",
  quota: "waiting for Gmail's quota",
  daily_budget: "waiting for the project's daily Gmail budget",
};

const count = new Intl.NumberFormat("en-US");

/** "20 msg/s", "4.5 msg/s", "24 msg/min" below one a second. */
export function rateShort(perSecond: number): string {
  if (perSecond >= 1)
    return `${count.format(perSecond >= 10 ? Math.round(perSecond) : Math.round(perSecond * 10) / 10)} msg/s`;
  return `${count.format(Math.round(perSecond * 60))} msg/min`;
}

/** The pace and what sets it: "20 msg/s (Gmail's per-user quota)"; empty when the snapshot has none. */
function paceShort(s: TaskSnapshot): string {
  if (s.state !== "active" || s.rate === undefined) return "";
  const why = s.rateLimitedBy ? LIMITER_SHORT[s.rateLimitedBy] : "";
  if (s.waiting || s.rate === 0) return why ? `paced by ${why}` : "";
  return why ? `${rateShort(s.rate)} (${why})` : rateShort(s.rate);
}

/**
 * One snapshot as a progress bar with its state, phase, messages here / total, the pace and what
 * sets it, the estimate (clock times with their zone: a terminal may be on a server), and any
 * reason to wait; a pause for the daily budget in one sentence.
 */
export function bar(s: TaskSnapshot, now = Date.now(), timeZone = localTimeZone()): string {
  const width = 30;
  const filled = Math.round((s.progress.percent / 100) * width);
  const { processed, total } = s.progress;
  const counts = `${count.format(processed)}/${count.format(total)}`;
  const head = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(s.progress.percent).padStart(3)}%  ${s.state.padEnd(9)} ${s.progress.phase.padEnd(8)} ${counts}`;
  const paused = pausedWords(s, now, timeZone);
  if (paused) return `${head}  ${paused}`;
  const until = s.retryAt ? ` until ${new Date(s.retryAt).toISOString().slice(11, 19)}` : "";
  const wait = s.waiting ? `(${WAIT_WORDS[s.waiting] ?? s.waiting}${until})` : "";
  const eta = etaWords(s, now, timeZone, true) ?? "";
  return [head, paceShort(s), eta, wait].filter(Boolean).join("  ");
}

/** How far apart, in percent, two progress lines are when stderr is not a terminal. */
export const PIPED_STEP = 10;

/** Said once when a followed sync turns out long: it runs in the worker, not in this command. */
export const BACKGROUND_NOTE =
  "this sync runs in the background: Ctrl-C stops only this view; `inbox-sync status {taskId}` looks in again";

/**
 * Shows a task's snapshots as they come. With `--json` each new snapshot is a line of NDJSON on
 * stdout. Otherwise progress goes to stderr: on a terminal one bar redrawn in place (cut to the
 * terminal's width, so a long line never wraps and breaks the redraw); piped (a log file, CI) one
 * line per step, that is a new state, phase or reason to wait, or another PIPED_STEP percent, so
 * a log shows the sync moving without a line per message. A long sync followed by polling (the
 * worker runs it) says once that it needs no watching.
 */
export function progressPrinter(out: Output, json: boolean) {
  let lastSeq = "";
  let lastStep = "";
  let drawn = false;
  let noted = false;
  return {
    /** `via`: how the snapshot came; a streamed sync runs inside this command and needs it. */
    print(s: TaskSnapshot, via: "poll" | "stream" = "poll") {
      const seen = `${s.seq}:${s.waiting ?? ""}`;
      if (seen === lastSeq) return;
      lastSeq = seen;
      if (json) return out.json(s);
      if (!noted && via === "poll" && isLongWork(s, Date.now())) {
        noted = true;
        if (drawn) out.progress("\n");
        drawn = false;
        out.note(BACKGROUND_NOTE.replace("{taskId}", s.taskId));
      }
      if (out.live) {
        const line = bar(s);
        const fit = out.columns && line.length >= out.columns ? `${line.slice(0, out.columns - 2)}…` : line;
        // Clear to the end of the line: a shorter line must not leave the longer one's tail.
        out.progress(`\r${fit}\x1b[K`);
        drawn = true;
        return;
      }
      const step = `${s.state}:${s.progress.phase}:${s.waiting ?? ""}:${Math.floor(s.progress.percent / PIPED_STEP)}`;
      if (step === lastStep) return;
      lastStep = step;
      out.progress(`${bar(s)}\n`);
    },
    /** Ends the bar's line, so what follows starts on its own. */
    end() {
      if (drawn) out.progress("\n");
      drawn = false;
    },
  };
}

export type ProgressPrinter = ReturnType<typeof progressPrinter>;
