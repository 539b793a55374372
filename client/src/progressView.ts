import { isTerminal, type TaskSnapshot, type WaitReason } from "../../core/contract";
import {
  CLOSE_TAB_WORDS,
  etaWords,
  isLongWork,
  KEEP_TAB_WORDS,
  paceWords,
  pausedWords,
} from "../../core/progress/paceWords";
import { localTimeZone } from "../../core/progress/timeWords";
import { byId, show } from "./dom";
import { humanError } from "./errors";
import {
  formatCount,
  formatDuration,
  MODE_WORDS,
  PHASE_WORDS,
  STATE_WORDS,
  timeLeftWords,
  waitWords,
} from "./format";
import { overallPercent } from "./percent";
import { MODE_LABELS, type TransportMode } from "./syncTransport";

/** Waits during which the server's estimate still holds (it counts their end); others make it stale. */
const ESTIMATED_WAITS: ReadonlySet<WaitReason | undefined> = new Set([
  undefined,
  "quota",
  "retry",
  "daily_budget",
]);

/**
 * The sync card: a real progressbar (aria-valuenow = percent), messages here / total, phase in
 * words, the pace and what sets it, elapsed time and the server's estimate (in hours and minutes
 * for long work), a daily-budget pause in one sentence, whether the tab may be closed, the task
 * state, and the result or the failure at the end. Also the small mode indicator next to the
 * Fetch button. Screen readers hear only changes of situation (paused, resumed), never a tick.
 */
export class ProgressView {
  private readonly card = byId("progress");
  private readonly title = byId("progress-title");
  private readonly state = byId("progress-state");
  private readonly bar = byId("progress-bar");
  private readonly fill = byId("progress-fill");
  private readonly text = byId("progress-text");
  private readonly timing = byId("progress-timing");
  private readonly pace = byId("progress-pace");
  private readonly note = byId("progress-note");
  private readonly result = byId("sync-result");
  private readonly failure = byId("progress-failure");
  private readonly failureText = byId("progress-failure-text");
  private readonly reconnect = byId<HTMLAnchorElement>("progress-reconnect");
  private readonly mode = byId("mode");

  private taskId: string | null = null;
  private snapshot: TaskSnapshot | null = null;
  /** The highest percent shown for this task: the bar never moves backwards. */
  private shown = 0;
  private ticker: ReturnType<typeof setInterval> | undefined;
  /** When the last snapshot with news arrived: a long silence is said in words. */
  private newsAt = Date.now();
  private waiting: { waiting?: WaitReason; retryAt?: number; at: number } = { at: 0 };
  private transport: TransportMode | null = null;
  /** The reset a pause was announced for: each pause is said once, and so is its end. */
  private announcedPause: number | null = null;

  constructor(
    private readonly reconnectHref: () => string,
    /** The page's polite live region. */
    private readonly say: (text: string) => void = () => {},
    /** The reader's time zone (the browser's). */
    private readonly timeZone: string = localTimeZone(),
  ) {}

  /** Shows the card for a task; a different task than before starts from an empty bar. */
  begin(taskId: string): void {
    if (this.taskId !== taskId) {
      this.taskId = taskId;
      this.snapshot = null;
      this.shown = 0;
      this.newsAt = Date.now();
      this.waiting = { at: 0 };
      this.announcedPause = null;
      this.setPercent(0, "queued");
      this.title.textContent = "Starting sync…";
      this.state.textContent = STATE_WORDS.queued;
      this.state.dataset.state = "queued";
      this.text.textContent = "Waiting for the first progress report…";
      this.timing.textContent = "";
      this.pace.textContent = "";
      show(this.pace, false);
      show(this.note, false);
      show(this.result, false);
      show(this.failure, false);
      this.card.classList.remove("compact");
    }
    show(this.card);
    this.startTicking();
  }

  /** Forgets a task the server no longer knows. */
  abandon(taskId: string): void {
    if (this.taskId !== taskId) return;
    if (!this.snapshot) show(this.card, false);
    this.stopTicking();
  }

  setMode(mode: TransportMode): void {
    this.transport = mode;
    this.mode.textContent = MODE_LABELS[mode];
    this.mode.dataset.mode = mode;
    this.mode.title = `Progress arrives by ${MODE_LABELS[mode]}`;
    show(this.mode);
  }

  /**
   * Why the task waits, from any snapshot as fresh as the last (a status read that repeats an
   * older step still knows that the worker is gone).
   */
  setWaiting(taskId: string, w: { waiting?: WaitReason; retryAt?: number; at: number }): void {
    if (this.taskId !== taskId || w.at < this.waiting.at) return;
    this.waiting = { waiting: w.waiting, retryAt: w.retryAt, at: w.at };
    this.renderWords();
  }

  render(s: TaskSnapshot): void {
    if (this.taskId !== s.taskId) this.begin(s.taskId);
    this.snapshot = s;
    this.newsAt = Date.now();
    if (s.at >= this.waiting.at) this.waiting = { waiting: s.waiting, retryAt: s.retryAt, at: s.at };
    const percent = Math.max(this.shown, overallPercent(s));
    this.shown = percent;

    this.setPercent(percent, s.state);
    this.state.textContent = STATE_WORDS[s.state];
    this.state.dataset.state = s.state;
    this.title.textContent =
      s.state === "completed"
        ? "Sync complete"
        : s.state === "failed"
          ? "Sync failed"
          : s.state === "queued"
            ? "Sync queued"
            : "Syncing your mailbox";

    this.renderWords();
    this.renderTiming();

    if (s.state === "completed" && s.result) {
      const r = s.result;
      this.result.textContent = `Added ${formatCount(r.added)} · updated ${formatCount(r.updated)} · deleted ${formatCount(
        r.deleted,
      )} — ${MODE_WORDS[r.mode] ?? r.mode}`;
      show(this.result);
    } else show(this.result, false);
    // Done: the result as one line; the bar and its timing have nothing more to say.
    this.card.classList.toggle("compact", s.state === "completed");

    if (s.state === "failed") {
      this.failureText.textContent = humanError(s.error ?? { code: "internal" });
      const reauth = s.error?.code === "reauth_required";
      this.reconnect.href = this.reconnectHref();
      show(this.reconnect, reauth);
      show(this.failure);
    } else show(this.failure, false);

    if (isTerminal(s.state)) this.stopTicking();
    else this.startTicking();
  }

  /** The snapshot with the freshest word on why it waits (a status read may know better). */
  private facts(): TaskSnapshot | null {
    const s = this.snapshot;
    return s && { ...s, waiting: this.waiting.waiting, retryAt: this.waiting.retryAt };
  }

  /** Percent, counts and what is happening (or, when the bar is still, what it waits for). */
  private renderWords(): void {
    const s = this.facts();
    if (!s) return;
    const now = Date.now();
    const { phase, processed, total } = s.progress;
    const percent = this.shown;
    const counts =
      total > 0
        ? `${formatCount(processed)} / ${formatCount(total)}${phase === "listing" ? "" : " messages here"}`
        : "";
    const wait = waitWords(
      { state: s.state, ...this.waiting, rateLimitedBy: s.rateLimitedBy, quietMs: now - this.newsAt },
      now,
    );
    const words = wait ?? PHASE_WORDS[phase];
    const text = [`${percent}%`, counts, words].filter(Boolean).join(" · ");
    if (this.text.textContent !== text) this.text.textContent = text;
    this.text.dataset.waiting = this.waiting.waiting ?? (wait ? "quiet" : "");
    this.bar.setAttribute(
      "aria-valuetext",
      `${percent}%, ${words.toLowerCase()}${counts ? `, ${counts}` : ""}`,
    );
    this.renderPace(s, now);
  }

  /** Why the pace is what it is, a daily pause in one sentence, and whether the tab may go. */
  private renderPace(s: TaskSnapshot, now: number): void {
    const paused = pausedWords(s, now, this.timeZone);
    const pace = paused ?? paceWords(s);
    if (this.pace.textContent !== (pace ?? "")) this.pace.textContent = pace ?? "";
    this.pace.dataset.paused = String(paused !== null);
    this.pace.dataset.limitedBy = s.rateLimitedBy ?? "";
    show(this.pace, pace !== null);

    const note = isLongWork(s, now)
      ? this.transport === "streaming"
        ? KEEP_TAB_WORDS
        : CLOSE_TAB_WORDS
      : null;
    if (this.note.textContent !== (note ?? "")) this.note.textContent = note ?? "";
    show(this.note, note !== null);

    // A pause of hours is news worth saying once; so is its end. Nothing else here is announced:
    // the numbers move every second.
    if (paused && s.retryAt !== undefined && this.announcedPause !== s.retryAt) {
      this.announcedPause = s.retryAt;
      this.say(paused);
    } else if (!paused && this.announcedPause !== null) {
      // Resumed is said once the sync moves again; a finished one has its own announcement.
      if (isTerminal(s.state)) this.announcedPause = null;
      else if (s.state === "active" && !s.waiting) {
        this.announcedPause = null;
        this.say("The sync resumed.");
      }
    }
  }

  private setPercent(percent: number, state: string): void {
    this.bar.setAttribute("aria-valuenow", String(percent));
    this.bar.dataset.state = state;
    this.fill.style.width = `${percent}%`;
  }

  private renderTiming(): void {
    const s = this.facts();
    if (!s) return;
    const started = Date.parse(s.startedAt ?? s.createdAt);
    if (Number.isNaN(started) || s.state === "queued") {
      this.timing.textContent = "";
      return;
    }
    const now = Date.now();
    const end = s.finishedAt ? Date.parse(s.finishedAt) : now;
    const elapsed = Math.max(0, end - started);
    const parts = [`Elapsed ${formatDuration(elapsed)}`];
    const percent = this.shown;
    const quietMs = now - this.newsAt;
    // While the bar is still, a time left computed from the pace so far would be a guess.
    const still = waitWords({ state: s.state, ...this.waiting, quietMs }, now) !== null;
    // The server's estimate counts the quota, and the end of a wait it knows of; a lost worker
    // or a silence it does not know of makes it stale.
    const estimated = ESTIMATED_WAITS.has(this.waiting.waiting) && (this.waiting.waiting || !still);
    const eta = estimated ? etaWords(s, now, this.timeZone) : null;
    if (s.state === "active") parts.push(eta ?? timeLeftWords(elapsed, percent, still));
    const text = parts.join(" · ");
    if (this.timing.textContent !== text) this.timing.textContent = text;
  }

  private startTicking(): void {
    this.ticker ??= setInterval(() => {
      this.renderTiming();
      this.renderWords();
    }, 1_000);
  }

  private stopTicking(): void {
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
  }

  hide(): void {
    this.stopTicking();
    this.taskId = null;
    this.snapshot = null;
    this.shown = 0;
    show(this.card, false);
    show(this.mode, false);
  }
}
