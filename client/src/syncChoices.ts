import type { Label, SyncOptions } from "./api";
import { byId, h, show } from "./dom";

const MAX_DAYS = 36500;

/**
 * "What to fetch", beside the Fetch button: everything (the default), or only the last N days,
 * and optionally only mail carrying every checked label. `options()` is the POST body.
 */
export class SyncChoices {
  private readonly recent = byId<HTMLInputElement>("sync-range-days");
  private readonly days = byId<HTMLInputElement>("sync-days");
  private readonly labelBox = byId("sync-labels");
  private readonly labelsEmpty = byId("sync-labels-empty");
  private readonly summary = byId("fetch-scope");
  private readonly error = byId("sync-choices-error");
  private readonly form = byId<HTMLFormElement>("sync-choices-form");

  constructor(private readonly labelName: (id: string) => string) {
    this.form.addEventListener("submit", (event) => event.preventDefault());
    this.form.addEventListener("change", () => this.renderSummary());
    // Typing a number of days means "only recent mail".
    this.days.addEventListener("input", () => {
      this.recent.checked = true;
      show(this.error, false);
      this.days.removeAttribute("aria-invalid");
      this.renderSummary();
    });
    this.renderSummary();
  }

  setLabels(labels: Label[]): void {
    const checked = new Set(this.checkedLabels());
    this.labelBox.replaceChildren(
      ...labels.map((label, i) => {
        const id = `sync-label-${i}`;
        const box = h("input", {
          attrs: { type: "checkbox", id, value: label.id },
          dataset: { testid: "sync-label", label: label.id },
        });
        box.checked = checked.has(label.id);
        return h(
          "div",
          { className: "choice" },
          box,
          h("label", { text: this.labelName(label.id), attrs: { for: id } }),
        );
      }),
    );
    show(this.labelsEmpty, labels.length === 0);
    this.renderSummary();
  }

  /** The POST body, or null (with the reason shown) when the number of days is not one. */
  options(): SyncOptions | null {
    const options: SyncOptions = {};
    if (this.recent.checked) {
      const n = Number(this.days.value);
      if (!Number.isInteger(n) || n < 1 || n > MAX_DAYS) {
        this.error.textContent = `Enter a whole number of days from 1 to ${MAX_DAYS}.`;
        show(this.error);
        byId<HTMLDetailsElement>("sync-choices").open = true;
        this.days.setAttribute("aria-invalid", "true");
        this.days.focus();
        return null;
      }
      options.newerThanDays = n;
    }
    const labels = this.checkedLabels();
    if (labels.length) options.labelIds = labels;
    show(this.error, false);
    this.days.removeAttribute("aria-invalid");
    return options;
  }

  setDisabled(disabled: boolean): void {
    for (const el of this.form.querySelectorAll<HTMLInputElement>("input")) el.disabled = disabled;
  }

  private checkedLabels(): string[] {
    return [...this.labelBox.querySelectorAll<HTMLInputElement>("input:checked")].map((b) => b.value);
  }

  private renderSummary(): void {
    const parts: string[] = [];
    if (this.recent.checked) {
      const n = Number(this.days.value);
      parts.push(Number.isInteger(n) && n >= 1 ? `the last ${n} ${n === 1 ? "day" : "days"}` : "recent mail");
    } else parts.push("everything");
    const labels = this.checkedLabels().map(this.labelName);
    if (labels.length) parts.push(`labelled ${labels.join(" and ")}`);
    this.summary.textContent = parts.join(", ");
  }
}
