import { api, type EmailDetail } from "./api";
import { byId, h, show } from "./dom";
import { humanError } from "./errors";
import { formatCount, formatDateLong } from "./format";

export interface EmailDetailOptions {
  /** Called after the detail view closed, with the id it showed. */
  onClose(id: string): void;
}

/** One email: subject, sender, recipients, date, labels, snippet and every stored header. */
export class EmailDetailView {
  private readonly view = byId("detail-view");
  private readonly listView = byId("list-view");
  private readonly body = byId("detail-body");
  private readonly back = byId<HTMLButtonElement>("detail-back");
  private openId: string | null = null;
  private control: AbortController | null = null;

  constructor(private readonly options: EmailDetailOptions) {
    this.back.addEventListener("click", () => this.close());
    this.view.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        this.close();
      }
    });
  }

  get isOpen(): boolean {
    return this.openId !== null;
  }

  async open(id: string): Promise<void> {
    this.control?.abort();
    const control = new AbortController();
    this.control = control;
    this.openId = id;
    show(this.listView, false);
    show(this.view);
    this.body.replaceChildren(h("p", { className: "empty", text: "Loading email…" }));
    this.back.focus();
    try {
      const email = await api.get<EmailDetail>(`/api/emails/${encodeURIComponent(id)}`, control.signal);
      if (this.control !== control) return;
      this.render(email);
      byId("detail-subject").focus();
    } catch (err) {
      if (this.control !== control || (err as Error).name === "AbortError") return;
      const retry = h("button", {
        className: "button button-secondary",
        text: "Try again",
        attrs: { type: "button" },
      });
      retry.addEventListener("click", () => void this.open(id));
      this.body.replaceChildren(
        h(
          "div",
          { className: "banner banner-error", attrs: { role: "alert" } },
          h("p", { text: humanError(err) }),
          retry,
        ),
      );
    }
  }

  close(): void {
    const id = this.openId;
    this.control?.abort();
    this.control = null;
    this.openId = null;
    show(this.view, false);
    show(this.listView);
    this.body.replaceChildren();
    if (id) this.options.onClose(id);
  }

  private render(email: EmailDetail): void {
    const meta = h("dl", { className: "detail-meta" });
    const row = (term: string, value: string) =>
      meta.append(h("dt", { text: term }), h("dd", { text: value }));
    row("From", email.from || "(unknown sender)");
    row("To", email.to || "—");
    row("Date", formatDateLong(email.date));
    if (email.labels.length) row("Labels", email.labels.join(", "));
    if (email.sizeEstimate)
      row("Size", `${formatCount(Math.max(1, Math.round(email.sizeEstimate / 1024)))} KB`);

    const headers = h("dl", { className: "detail-meta" });
    for (const [name, value] of Object.entries(email.headers ?? {})) {
      headers.append(h("dt", { text: name }), h("dd", { text: value }));
    }

    this.body.replaceChildren(
      h("h2", {
        className: "detail-subject",
        text: email.subject || "(no subject)",
        attrs: { id: "detail-subject", tabindex: -1 },
        dataset: { testid: "detail-subject" },
      }),
      meta,
      h("p", {
        className: "detail-snippet",
        text: email.snippet || "(no preview)",
        dataset: { testid: "detail-snippet" },
      }),
    );
    if (headers.childElementCount) {
      this.body.append(
        h("details", { className: "detail-headers" }, h("summary", { text: "All headers" }), headers),
      );
    }
  }
}
