import { api, type EmailDetail, type EmailPage } from "./api";
import { byId, h, show } from "./dom";
import { humanError } from "./errors";
import { displayName, formatBytes, formatCount, formatDateLong, formatListDate } from "./format";
import { markedNodes } from "./highlight";
import { applyMailStyles, fitFrameToContent, type MailVariant, mailSrcdoc, sanitizeMail } from "./mailFrame";
import { announce } from "./notices";
import { hasTerms, type SearchTerms, searchTerms } from "./searchTerms";

export interface EmailDetailOptions {
  /** Called after the detail view closed, with the id it showed and its thread (once known). */
  onClose(id: string, threadId?: string): void;
  /** A label's name for its id (user labels are ids like Label_1); undefined keeps the id. */
  labelName?(id: string): string | undefined;
}

/** Where a message's attachments download: the path each attachment id is appended to. */
const attachmentsPath = (emailId: string) => `/api/emails/${encodeURIComponent(emailId)}/attachments/`;

/** One email: subject, sender, recipients, date, labels, its body, attachments, conversation and headers. */
export class EmailDetailView {
  private readonly view = byId("detail-view");
  private readonly listView = byId("list-view");
  private readonly body = byId("detail-body");
  private readonly back = byId<HTMLButtonElement>("detail-back");
  private openId: string | null = null;
  private openThreadId: string | undefined;
  private control: AbortController | null = null;
  /** The words of the search the message was opened from, marked in its subject and body. */
  private terms: SearchTerms | undefined;

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

  /** Shows a message; `q`, the search it was opened from, whose words it marks. */
  async open(id: string, q?: string): Promise<void> {
    this.control?.abort();
    const terms = q ? searchTerms(q) : undefined;
    this.terms = terms && hasTerms(terms) ? terms : undefined;
    const control = new AbortController();
    this.control = control;
    this.openId = id;
    this.openThreadId = undefined;
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
      retry.addEventListener("click", () => void this.open(id, q));
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
    if (id) this.options.onClose(id, this.openThreadId);
  }

  private render(email: EmailDetail): void {
    this.openThreadId = email.threadId;
    const meta = h("dl", { className: "detail-meta" });
    const row = (term: string, value: string) =>
      meta.append(h("dt", { text: term }), h("dd", { text: value }));
    row("From", email.from || "(unknown sender)");
    row("To", email.to || "—");
    row("Date", formatDateLong(email.date));
    const labels = email.labels.map((id) => this.options.labelName?.(id) ?? id).filter(Boolean);
    if (labels.length) row("Labels", labels.join(", "));
    if (email.sizeEstimate)
      row("Size", `${formatCount(Math.max(1, Math.round(email.sizeEstimate / 1024)))} KB`);

    const headers = h("dl", { className: "detail-meta" });
    for (const [name, value] of Object.entries(email.headers ?? {})) {
      headers.append(h("dt", { text: name }), h("dd", { text: value }));
    }

    const message = this.message(email);
    this.body.replaceChildren(
      h(
        "h2",
        {
          className: "detail-subject",
          attrs: { id: "detail-subject", tabindex: -1 },
          dataset: { testid: "detail-subject" },
        },
        ...this.marked(email.subject || "(no subject)"),
      ),
      meta,
      message.box,
    );
    // Inline images the body shows are not listed again, as in Gmail.
    const listed = email.attachments.filter((a) => !(a.contentId && message.inlineShown.has(a.contentId)));
    if (listed.length) this.body.append(this.attachments(email, listed));
    if (headers.childElementCount) {
      this.body.append(
        h("details", { className: "detail-headers" }, h("summary", { text: "All headers" }), headers),
      );
    }
    void this.thread(email);
  }

  /**
   * The body: the HTML part sanitised in a sandboxed frame (remote images blocked until asked
   * for), else the text part as text, else the snippet while the body is not fetched yet.
   */
  private message(email: EmailDetail): { box: HTMLElement; inlineShown: ReadonlySet<string> } {
    const box = h("section", { className: "detail-message", attrs: { "aria-label": "Message" } });
    let inlineShown: ReadonlySet<string> = new Set();
    if (email.html) {
      // Inline images (cid:) come from this message's own attachment downloads, absolute URLs of
      // this origin under one path, which is all the frame's CSP lets them load from.
      const inlineSource = `${location.origin}${attachmentsPath(email.id)}`;
      const inline = new Map(
        email.attachments.flatMap((a) =>
          a.contentId ? [[a.contentId, `${inlineSource}${encodeURIComponent(a.attachmentId)}`] as const] : [],
        ),
      );
      const clean = sanitizeMail(email.html, inline, this.terms);
      inlineShown = clean.inlineUsed;
      const source = clean.inlineUsed.size ? inlineSource : undefined;
      const frame = h("iframe", {
        className: "mail-frame",
        attrs: {
          title: `Message: ${email.subject || "(no subject)"}`,
          // No allow-scripts: nothing runs. allow-same-origin lets this page give the frame the
          // mail's CSS through the CSSOM (see mailFrame.ts); without scripts the frame cannot use it.
          sandbox: "allow-same-origin allow-popups allow-popups-to-escape-sandbox",
          referrerpolicy: "no-referrer",
        },
        dataset: { testid: "mail-frame" },
      });
      let shown: MailVariant = clean.blocked;
      frame.addEventListener("load", () => {
        if (!frame.contentDocument) return;
        applyMailStyles(frame.contentDocument, shown);
        fitFrameToContent(frame, frame.contentDocument);
      });
      frame.srcdoc = mailSrcdoc(shown.html, false, source);
      if (clean.remote) {
        const note = h("p", {
          className: "remote-note",
          text: "Remote images are blocked, so the sender can't tell you opened this email.",
          attrs: { id: "remote-note" },
        });
        const allow = h("button", {
          className: "button button-secondary",
          text: "Show remote images",
          attrs: { type: "button", "aria-describedby": "remote-note" },
          dataset: { testid: "show-remote-images" },
        });
        allow.addEventListener("click", () => {
          shown = clean.withImages;
          frame.srcdoc = mailSrcdoc(shown.html, true, source);
          note.textContent = "Remote images are shown for this email.";
          allow.remove();
          announce("Remote images shown.");
          note.setAttribute("tabindex", "-1");
          note.focus();
        });
        box.append(h("div", { className: "remote-bar", dataset: { testid: "remote-bar" } }, note, allow));
      }
      box.append(frame);
    } else if (email.text) {
      box.append(
        h("pre", { className: "mail-text", dataset: { testid: "mail-text" } }, ...this.marked(email.text)),
      );
    } else {
      box.append(
        h(
          "p",
          { className: "detail-snippet", dataset: { testid: "detail-snippet" } },
          ...this.marked(email.snippet || "(no preview)"),
        ),
        h("p", {
          className: "hint",
          text: "The full message is copied at the next sync.",
        }),
      );
    }
    return { box, inlineShown };
  }

  /** A text as nodes, the search's words in `<mark>`s when the message was opened from a search. */
  private marked(text: string): Node[] {
    return this.terms ? markedNodes(document, text, this.terms) : [document.createTextNode(text)];
  }

  private attachments(email: EmailDetail, listed: EmailDetail["attachments"]): HTMLElement {
    const list = h("ul", { className: "attachment-list", attrs: { "aria-labelledby": "attachments-title" } });
    for (const a of listed) {
      const href = `${attachmentsPath(email.id)}${encodeURIComponent(a.attachmentId)}`;
      list.append(
        h(
          "li",
          {},
          h(
            "a",
            {
              className: "attachment",
              attrs: { href, download: a.filename || "attachment" },
              dataset: { testid: "attachment" },
            },
            h("span", { className: "attachment-name", text: a.filename || "(unnamed)" }),
            h("span", { className: "attachment-meta", text: `${a.mimeType}, ${formatBytes(a.size)}` }),
          ),
        ),
      );
    }
    return h(
      "section",
      { className: "detail-attachments", attrs: { "aria-labelledby": "attachments-title" } },
      h("h3", {
        text: `${listed.length === 1 ? "Attachment" : "Attachments"} (${listed.length})`,
        attrs: { id: "attachments-title" },
      }),
      list,
    );
  }

  /** The other messages of the conversation, when there are any, each one a button to open it. */
  private async thread(email: EmailDetail): Promise<void> {
    const control = this.control;
    let page: EmailPage;
    try {
      const params = new URLSearchParams({ threadId: email.threadId, limit: "50" });
      page = await api.get<EmailPage>(`/api/emails?${params}`, control?.signal);
    } catch {
      return; // the message is shown; the conversation list is a bonus
    }
    if (this.control !== control || this.openId !== email.id || page.emails.length < 2) return;
    const list = h("ol", { className: "thread-list", attrs: { "aria-labelledby": "thread-title" } });
    for (const m of [...page.emails].reverse()) {
      const current = m.id === email.id;
      const label = `${displayName(m.from)}, ${formatListDate(m.date)}: ${m.subject || "(no subject)"}`;
      if (current) {
        list.append(h("li", { className: "thread-current", attrs: { "aria-current": "true" } }, label));
        continue;
      }
      const open = h("button", {
        className: "button button-ghost thread-item",
        text: label,
        attrs: { type: "button" },
        dataset: { testid: "thread-item", id: m.id },
      });
      open.addEventListener("click", () => void this.open(m.id, this.terms?.literal));
      list.append(h("li", {}, open));
    }
    this.body.append(
      h(
        "section",
        {
          className: "detail-thread",
          attrs: { "aria-labelledby": "thread-title" },
          dataset: { testid: "thread" },
        },
        h("h3", {
          attrs: { id: "thread-title" },
          text: `Conversation (${page.emails.length}${page.nextCursor ? "+" : ""} messages)`,
        }),
        list,
      ),
    );
  }
}
