import { isTerminal, type TaskSnapshot, type WaitReason } from "../../core/contract";
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

/**
 * The sync card: a real progressbar (aria-valuenow = percent), processed/total, phase in words,
 * elapsed time and ETA, the task state, and the result or the failure at the end. Also the small
 * mode indicator next to the Fetch button.
 */
export class ProgressView {
  private readonly card = byId("progress");
  private readonly title = byId("progress-title");
  private readonly state = byId("progress-state");
  private readonly bar = byId("progress-bar");
  private readonly fill = byId("progress-fill");
  private readonly text = byId("progress-text");
  private readonly timing = byId("progress-timing");
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

  constructor(private readonly reconnectHref: () => string) {}

  /** Shows the card for a task; a different task than before starts from an empty bar. */
  begin(taskId: string): void {
    if (this.taskId !== taskId) {
      this.taskId = taskId;
      this.snapshot = null;
      this.shown = 0;
      this.newsAt = Date.now();
      this.waiting = { at: 0 };
      this.setPercent(0, "queued");
      this.title.textContent = "Starting sync…";
      this.state.textContent = STATE_WORDS.queued;
      this.state.dataset.state = "queued";
      this.text.textContent = "Waiting for the first progress report…";
      this.timing.textContent = "";
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

  /** Percent, counts and what is happening (or, when the bar is still, what it waits for). */
  private renderWords(): void {
    const s = this.snapshot;
    if (!s) return;
    const { phase, processed, total } = s.progress;
    const percent = this.shown;
    const counts = total > 0 ? `${formatCount(processed)} / ${formatCount(total)}` : "";
    const wait = waitWords({ state: s.state, ...this.waiting, quietMs: Date.now() - this.newsAt });
    const words = wait ?? PHASE_WORDS[phase];
    const text = [`${percent}%`, counts, words].filter(Boolean).join(" · ");
    if (this.text.textContent !== text) this.text.textContent = text;
    this.text.dataset.waiting = this.waiting.waiting ?? (wait ? "quiet" : "");
    this.bar.setAttribute(
      "aria-valuetext",
      `${percent}%, ${words.toLowerCase()}${counts ? `, ${counts}` : ""}`,
    );
  }

  private setPercent(percent: number, state: string): void {
    this.bar.setAttribute("aria-valuenow", String(percent));
    this.bar.dataset.state = state;
    this.fill.style.width = `${percent}%`;
  }

  private renderTiming(): void {
    const s = this.snapshot;
    if (!s) return;
    const started = Date.parse(s.startedAt ?? s.createdAt);
    if (Number.isNaN(started) || s.state === "queued") {
      this.timing.textContent = "";
      return;
    }
    const end = s.finishedAt ? Date.parse(s.finishedAt) : Date.now();
    const elapsed = Math.max(0, end - started);
    const parts = [`Elapsed ${formatDuration(elapsed)}`];
    const percent = this.shown;
    // While the bar is still, a time left computed from the pace so far would be a guess.
    const still = waitWords({ state: s.state, ...this.waiting, quietMs: Date.now() - this.newsAt }) !== null;
    if (s.state === "active") parts.push(timeLeftWords(elapsed, percent, still));
    this.timing.textContent = parts.join(" · ");
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
