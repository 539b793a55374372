import { api, type EmailPage, type EmailSummary, isAbort, type Label } from "./api";
import { byId, h, show } from "./dom";
import { attachmentsText, displayName, formatCount, formatListDate, visibleLabels } from "./format";
import { markedNodes } from "./highlight";
import { hasTerms, type SearchTerms, searchTerms } from "./searchTerms";

const PAGE_SIZE = 50;
const SEARCH_DEBOUNCE_MS = 300;
/** While a sync stores mail, the first page is read again at most this often. */
const LIVE_REFRESH_MS = 1_500;
/** The next page is read once "Load more" comes this close to the viewport. */
const INFINITE_SCROLL_MARGIN_PX = 200;

export interface EmailListOptions {
  onOpen(id: string, trigger: HTMLElement): void;
  onError(err: unknown): void;
  /** A label's name for its id (user labels are ids like Label_1). */
  labelName(id: string): string;
  /**
   * The person changed the search or the label (`typing`: a debounced keystroke, which updates
   * the address in place rather than adding a history entry per word).
   */
  onFilter?(filter: ListFilter, how: "typing" | "chosen"): void;
}

/** What the list shows: a search, a label, both, or all mail. */
export interface ListFilter {
  q: string;
  label: string;
}

/** One row: a message, or in conversation view the newest message of a thread and how many are shown. */
interface Row {
  email: EmailSummary;
  count: number;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * A row's paperclip: a shape, not a colour, and words for screen readers ("2 attachments") that
 * become part of the row's name; the same words show as a tooltip.
 */
function attachmentMarker(count: number): HTMLElement {
  const words = attachmentsText(count);
  const icon = document.createElementNS(SVG_NS, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  icon.setAttribute("focusable", "false");
  const clip = document.createElementNS(SVG_NS, "path");
  clip.setAttribute("d", "M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5");
  icon.append(clip);
  return h(
    "span",
    { className: "attachment-marker", attrs: { title: words }, dataset: { testid: "attachment-marker" } },
    icon,
    h("span", { className: "sr-only", text: `${words}, ` }),
  );
}

/** Newest first, as the API orders: date, then Gmail id, both descending. */
function newestFirst(a: EmailSummary, b: EmailSummary): number {
  if (a.date !== b.date) return a.date < b.date ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * The mailbox list: pages of 50 with "Load more" (and infinite scroll when the button comes into
 * view), a debounced search box, and live refreshes of the first page while a sync runs. DOM
 * nodes are keyed by Gmail id and never rebuilt for a refresh, so focus and scroll stay put.
 */
export class EmailList {
  private readonly list = byId<HTMLUListElement>("email-list");
  private readonly empty = byId("list-empty");
  private readonly count = byId("list-count");
  private readonly more = byId<HTMLButtonElement>("load-more");
  private readonly search = byId<HTMLInputElement>("search");
  private readonly form = byId<HTMLFormElement>("search-form");
  private readonly labelFilter = byId<HTMLSelectElement>("label-filter");
  private readonly threadToggle = byId<HTMLInputElement>("thread-toggle");

  private items: EmailSummary[] = [];
  private readonly nodes = new Map<string, HTMLLIElement>();
  private signatures = new Map<string, string>();
  private nextCursor: string | null = null;
  /** The cursor the last page was read with: re-read when the end grew during a sync. */
  private lastPageCursor: string | null = null;
  private pages = 0;
  private query = "";
  /** The Gmail label id the list is narrowed to; "" for all mail. */
  private label = "";
  /** Conversation view: one row per thread, its newest message, with a count. */
  private threads = false;
  private total: number | null = null;
  /** The chosen label's stored total (GET /api/labels/:id), when known. */
  private labelTotal: number | null = null;
  private loaded = false;
  private generation = 0;
  private inflight: AbortController | null = null;
  private debounce: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private lastRefreshAt = 0;
  private refreshing = false;
  private readonly observer: IntersectionObserver | null;
  private terms: { query: string; terms: SearchTerms } | null = null;

  constructor(private readonly options: EmailListOptions) {
    this.search.addEventListener("input", () => {
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => this.setQuery(this.search.value, false, "typing"), SEARCH_DEBOUNCE_MS);
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      clearTimeout(this.debounce);
      this.setQuery(this.search.value, true, "chosen");
    });
    this.more.addEventListener("click", () => void this.loadMore());
    this.labelFilter.addEventListener("change", () => {
      this.label = this.labelFilter.value;
      this.labelTotal = null;
      this.restart();
      this.options.onFilter?.(this.filter, "chosen");
    });
    this.threadToggle.addEventListener("change", () => {
      this.threads = this.threadToggle.checked;
      // Rows change meaning: build them again from what is loaded.
      this.nodes.clear();
      this.signatures.clear();
      this.list.replaceChildren();
      this.reconcile(this.items);
    });
    this.list.addEventListener("click", (event) => {
      const button = (event.target as Element).closest<HTMLButtonElement>("button.email-item");
      if (button?.dataset.id) this.options.onOpen(button.dataset.id, button);
    });
    this.observer =
      typeof IntersectionObserver === "function"
        ? new IntersectionObserver(
            (entries) => {
              // Entries are measured at the last frame and delivered as a later task: a page read
              // in between can have pushed the button far below. Only the button's place now
              // says whether the reader has reached the end.
              if (entries.at(-1)?.isIntersecting && this.moreInReach() && !this.inflight && this.nextCursor)
                void this.loadMore();
            },
            { rootMargin: `${INFINITE_SCROLL_MARGIN_PX}px` },
          )
        : null;
    this.observer?.observe(this.more);
  }

  /** Fills the label filter, keeping the chosen label when it still exists. */
  setLabels(labels: Label[]): void {
    const keep = this.label;
    this.labelFilter.replaceChildren(
      h("option", { text: "All mail", attrs: { value: "" } }),
      ...labels.map((l) => h("option", { text: this.options.labelName(l.id), attrs: { value: l.id } })),
    );
    this.labelFilter.value = labels.some((l) => l.id === keep) ? keep : "";
    if (this.labelFilter.value !== keep) {
      this.label = "";
      this.labelTotal = null;
      this.restart();
      this.options.onFilter?.(this.filter, "typing");
    }
  }

  get filter(): ListFilter {
    return { q: this.query, label: this.label };
  }

  /** Shows a search and label from the address; reads the list again only if they changed. */
  applyFilter(filter: ListFilter): void {
    if (this.search.value.trim() !== filter.q) this.search.value = filter.q;
    if (filter.q === this.query && filter.label === this.label) return;
    clearTimeout(this.debounce);
    if (filter.label !== this.label) this.labelTotal = null;
    this.query = filter.q;
    this.label = filter.label;
    this.labelFilter.value = filter.label;
    this.restart();
  }

  /** The chosen label's total, for "Showing x of y". */
  setLabelTotal(label: string, total: number): void {
    if (label !== this.label) return;
    this.labelTotal = total;
    this.renderChrome();
  }

  /** Total stored mail (from /api/me), for the "Showing x of y" line. */
  setTotal(total: number): void {
    this.total = total;
    this.renderChrome();
  }

  /** Whether a first page was ever asked for. */
  get started(): boolean {
    return this.generation > 0;
  }

  /** Reads the first page of the current query from scratch. */
  async reload(): Promise<void> {
    const generation = ++this.generation;
    this.inflight?.abort();
    const control = new AbortController();
    this.inflight = control;
    this.list.setAttribute("aria-busy", "true");
    try {
      const page = await this.fetchPage(null, control.signal);
      if (generation !== this.generation) return;
      this.pages = 1;
      this.lastPageCursor = null;
      this.nextCursor = page.nextCursor;
      this.loaded = true;
      this.reconcile(page.emails);
    } catch (err) {
      if (!isAbort(err) && generation === this.generation) this.options.onError(err);
    } finally {
      if (this.inflight === control) {
        this.inflight = null;
        this.list.setAttribute("aria-busy", "false");
      }
    }
  }

  async loadMore(): Promise<void> {
    if (this.inflight) return;
    const cursor = this.nextCursor ?? this.lastPageCursor;
    if (!this.nextCursor && !this.mayHaveMore()) return;
    const generation = this.generation;
    const control = new AbortController();
    this.inflight = control;
    this.more.disabled = true;
    this.more.textContent = "Loading…";
    this.list.setAttribute("aria-busy", "true");
    try {
      const page = await this.fetchPage(cursor, control.signal);
      if (generation !== this.generation) return;
      this.pages += 1;
      this.lastPageCursor = cursor;
      this.nextCursor = page.nextCursor;
      this.reconcile(this.merge(page.emails, null));
    } catch (err) {
      if (!isAbort(err) && generation === this.generation) this.options.onError(err);
    } finally {
      if (this.inflight === control) this.inflight = null;
      this.more.disabled = false;
      this.more.textContent = "Load more";
      this.list.setAttribute("aria-busy", "false");
      this.renderChrome();
    }
  }

  /** Asks for a refresh of the first page, at most every ~1.5 s (used while a sync is active). */
  scheduleRefresh(): void {
    if (this.refreshTimer !== undefined) return;
    const wait = Math.max(0, this.lastRefreshAt + LIVE_REFRESH_MS - Date.now());
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      void this.refreshFirstPage();
    }, wait);
  }

  /** Reads the first page again and folds it into what is shown, keeping loaded pages. */
  async refreshFirstPage(): Promise<void> {
    if (this.refreshing) return;
    if (this.inflight) {
      this.scheduleRefresh();
      return;
    }
    this.refreshing = true;
    this.lastRefreshAt = Date.now();
    const generation = this.generation;
    try {
      const page = await this.fetchPage(null);
      if (generation !== this.generation || this.inflight) return;
      if (this.pages <= 1) {
        this.pages = 1;
        this.nextCursor = page.nextCursor;
        this.loaded = true;
        this.reconcile(page.emails);
      } else {
        this.reconcile(this.merge(page.emails, page.nextCursor ? (page.emails.at(-1) ?? null) : null));
      }
    } catch (err) {
      if (!isAbort(err)) this.options.onError(err);
    } finally {
      this.refreshing = false;
    }
  }

  clear(): void {
    this.generation += 1;
    this.inflight?.abort();
    this.inflight = null;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    this.items = [];
    this.nodes.clear();
    this.signatures.clear();
    this.list.replaceChildren();
    this.nextCursor = null;
    this.lastPageCursor = null;
    this.pages = 0;
    this.loaded = false;
    this.total = null;
    this.query = "";
    this.search.value = "";
    this.label = "";
    this.labelTotal = null;
    this.labelFilter.value = "";
    this.renderChrome();
  }

  /** Focuses the item of a Gmail id (or of its thread), if it is shown (back from the detail view). */
  focusItem(id: string, threadId?: string): boolean {
    // In conversation view the message may sit behind its thread's row.
    const button =
      this.nodes.get(id)?.querySelector<HTMLButtonElement>("button") ??
      (threadId
        ? [...this.list.querySelectorAll<HTMLButtonElement>("button.email-item")].find(
            (b) => b.dataset.threadId === threadId,
          )
        : undefined);
    button?.focus();
    return Boolean(button);
  }

  // ---- internals ----

  private setQuery(raw: string, force: boolean, how: "typing" | "chosen"): void {
    const q = raw.trim();
    if (q === this.query && !force) return;
    this.query = q;
    this.restart();
    this.options.onFilter?.(this.filter, how);
  }

  /** The query or the label changed: start again from the first page. */
  private restart(): void {
    this.items = [];
    this.nodes.clear();
    this.signatures.clear();
    this.list.replaceChildren();
    this.nextCursor = null;
    this.pages = 0;
    this.loaded = false;
    this.renderChrome();
    void this.reload();
  }

  private fetchPage(cursor: string | null, signal?: AbortSignal): Promise<EmailPage> {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (cursor) params.set("cursor", cursor);
    if (this.query) params.set("q", this.query);
    if (this.label) params.set("label", this.label);
    return api.get<EmailPage>(`/api/emails?${params}`, signal);
  }

  /** Whether the "Load more" button is shown within the observer's 200 px of the viewport. */
  private moreInReach(): boolean {
    if (this.more.hidden) return false;
    const box = this.more.getBoundingClientRect();
    return (
      box.top < window.innerHeight + INFINITE_SCROLL_MARGIN_PX && box.bottom > -INFINITE_SCROLL_MARGIN_PX
    );
  }

  private mayHaveMore(): boolean {
    if (this.query) return false;
    const total = this.label ? this.labelTotal : this.total;
    return total !== null && this.items.length < total;
  }

  /**
   * What is shown plus a fresh page. When `through` is given (the fresh page's last item), the
   * page is the whole truth down to it: shown items in that range that it lacks were deleted.
   */
  private merge(fresh: EmailSummary[], through: EmailSummary | null): EmailSummary[] {
    const byId = new Map(this.items.map((e) => [e.id, e]));
    if (through) {
      const freshIds = new Set(fresh.map((e) => e.id));
      for (const e of this.items) if (newestFirst(e, through) <= 0 && !freshIds.has(e.id)) byId.delete(e.id);
    }
    for (const e of fresh) byId.set(e.id, e);
    return [...byId.values()].sort(newestFirst);
  }

  /** The rows `emails` make: each message, or in conversation view each thread's newest message. */
  private rows(emails: EmailSummary[]): Row[] {
    if (!this.threads) return emails.map((email) => ({ email, count: 1 }));
    const byThread = new Map<string, Row>();
    for (const email of emails) {
      const row = byThread.get(email.threadId);
      if (row) row.count += 1;
      else byThread.set(email.threadId, { email, count: 1 });
    }
    return [...byThread.values()];
  }

  /** Makes the DOM list match `wanted`, reusing each item's node. */
  private reconcile(wanted: EmailSummary[]): void {
    const rows = this.rows(wanted);
    const keep = new Set(rows.map((r) => r.email.id));
    for (const [id, node] of this.nodes) {
      if (!keep.has(id)) {
        node.remove();
        this.nodes.delete(id);
        this.signatures.delete(id);
      }
    }
    rows.forEach(({ email, count }, index) => {
      let node = this.nodes.get(email.id);
      const signature = `${email.subject}\u0000${email.from}\u0000${email.snippet}\u0000${email.labels.join(",")}\u0000${email.date}\u0000${count}\u0000${email.attachmentCount}`;
      if (!node) {
        node = h("li", { dataset: { id: email.id } }, h("button", { className: "email-item" }));
        this.nodes.set(email.id, node);
      }
      if (this.signatures.get(email.id) !== signature) {
        this.fillItem(node.firstElementChild as HTMLButtonElement, email, count);
        this.signatures.set(email.id, signature);
      }
      const here = this.list.children[index] ?? null;
      if (here !== node) this.list.insertBefore(node, here);
    });
    this.items = wanted;
    this.renderChrome();
  }

  private fillItem(button: HTMLButtonElement, email: EmailSummary, count: number): void {
    button.type = "button";
    button.dataset.testid = "email-item";
    button.dataset.id = email.id;
    button.dataset.unread = String(email.labels.includes("UNREAD"));
    button.dataset.threadId = email.threadId;
    const from = displayName(email.from);
    const subject = email.subject || "(no subject)";
    // No aria-label: the name is the visible text (sender, date, subject, snippet), so speech
    // input users can say what they see (WCAG 2.5.3, Label in Name).
    const names = [
      ...visibleLabels(email.labels),
      ...email.labels.filter((l) => /^Label_\d+$/.test(l)).map((l) => this.options.labelName(l)),
    ];
    const chips = names.map((l) => h("span", { className: "label-chip", text: l }));
    // A search's words are marked where they show (the search itself also reads the body).
    const terms = this.termsOf(this.query);
    const text = (value: string): Node[] =>
      terms && hasTerms(terms) ? markedNodes(document, value, terms) : [document.createTextNode(value)];
    button.replaceChildren(
      h("span", { className: "email-from" }, ...text(from)),
      h(
        "span",
        { className: "email-date" },
        email.attachmentCount > 0 ? attachmentMarker(email.attachmentCount) : null,
        h("time", { attrs: { datetime: email.date }, text: formatListDate(email.date) }),
      ),
      h(
        "span",
        { className: "email-subject", dataset: { testid: "email-subject" } },
        ...chips,
        ...text(subject),
      ),
      h("span", { className: "email-snippet" }, ...text(email.snippet)),
    );
    if (count > 1)
      button.append(
        h("span", {
          className: "thread-count",
          text: `${count} messages`,
          dataset: { testid: "thread-count" },
        }),
      );
  }

  /** The query's terms, read once per query rather than once per row. */
  private termsOf(query: string): SearchTerms | null {
    if (!query) return null;
    if (this.terms?.query !== query) this.terms = { query, terms: searchTerms(query) };
    return this.terms.terms;
  }

  private renderChrome(): void {
    const shown = this.items.length;
    show(this.more, Boolean(this.nextCursor) || (this.loaded && this.mayHaveMore()));
    if (!this.loaded) {
      this.count.textContent = "";
      show(this.empty, false);
      return;
    }
    const labelName = this.label ? this.options.labelName(this.label) : "";
    if (shown === 0) {
      this.empty.textContent = this.query
        ? `No emails match “${this.query}”${labelName ? ` in ${labelName}` : ""}.`
        : labelName
          ? `No emails labelled ${labelName}.`
          : "No emails yet. Press “Fetch emails” to copy your Gmail here.";
      show(this.empty);
    } else show(this.empty, false);
    const conversations = this.threads ? this.nodes.size : 0;
    const inThreads = this.threads
      ? ` in ${formatCount(conversations)} ${conversations === 1 ? "conversation" : "conversations"}`
      : "";
    const inLabel = labelName ? ` labelled ${labelName}` : "";
    if (this.query) {
      this.count.textContent = `${formatCount(shown)}${this.nextCursor ? "+" : ""} ${shown === 1 ? "match" : "matches"} for “${this.query}”${inLabel}${inThreads}`;
    } else if (!labelName && this.total !== null && this.total >= shown) {
      this.count.textContent = `Showing ${formatCount(shown)} of ${formatCount(this.total)}${inThreads}`;
    } else if (labelName && this.labelTotal !== null && this.labelTotal >= shown) {
      this.count.textContent = `Showing ${formatCount(shown)} of ${formatCount(this.labelTotal)}${inLabel}${inThreads}`;
    } else {
      this.count.textContent = `Showing ${formatCount(shown)}${this.nextCursor ? "+" : ""}${inLabel}${inThreads}`;
    }
  }
}
