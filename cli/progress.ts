import type { TaskSnapshot } from "../core/contract";
import type { Output } from "./output";

const WAIT_WORDS: Record<NonNullable<TaskSnapshot["waiting"]>, string> = {
  worker: "waiting for a worker",
  no_workers: "no worker alive: streaming",
  retry: "retrying",
  quota: "waiting for Gmail's quota",
  daily_budget: "waiting for the project's daily Gmail budget",
};

/** One snapshot as a progress bar with its state, phase, counts and any reason to wait. */
export function bar(s: TaskSnapshot): string {
  const width = 30;
  const filled = Math.round((s.progress.percent / 100) * width);
  const until = s.retryAt ? ` until ${new Date(s.retryAt).toISOString().slice(11, 19)}` : "";
  const wait = s.waiting ? `  (${WAIT_WORDS[s.waiting] ?? s.waiting}${until})` : "";
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(s.progress.percent).padStart(3)}%  ${s.state.padEnd(9)} ${s.progress.phase.padEnd(8)} ${s.progress.processed}/${s.progress.total}${wait}`;
}

/** How far apart, in percent, two progress lines are when stderr is not a terminal. */
export const PIPED_STEP = 10;

/**
 * Shows a task's snapshots as they come. With `--json` each new snapshot is a line of NDJSON on
 * stdout. Otherwise progress goes to stderr: on a terminal one bar redrawn in place; piped (a log
 * file, CI) one line per step, that is a new state, phase or reason to wait, or another
 * PIPED_STEP percent, so a log shows the sync moving without a line per message.
 */
export function progressPrinter(out: Output, json: boolean) {
  let lastSeq = "";
  let lastStep = "";
  let drawn = false;
  return {
    print(s: TaskSnapshot) {
      const seen = `${s.seq}:${s.waiting ?? ""}`;
      if (seen === lastSeq) return;
      lastSeq = seen;
      if (json) return out.json(s);
      if (out.live) {
        out.progress(`\r${bar(s)}`);
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
