import type { AccountSettings } from "./accountSettings";
import { api, type LabelCount } from "./api";
import { byId } from "./dom";
import type { EmailDetailView } from "./emailDetail";
import type { EmailList, ListFilter } from "./emailList";
import { formatCount } from "./format";
import { isListRoute, type Route, Router } from "./router";

export interface NavigationOptions {
  list: EmailList;
  detail: EmailDetailView;
  settings: AccountSettings;
  labelName(id: string): string;
  /** Stored mail in all (from /api/me), for the title of all mail. */
  total(): number | null;
  onError(err: unknown): void;
}

const APP = "inbox-sync";

/** The list route a filter makes. */
export function filterRoute(filter: ListFilter): Route {
  if (filter.q)
    return filter.label
      ? { view: "search", q: filter.q, label: filter.label }
      : { view: "search", q: filter.q };
  return filter.label ? { view: "label", id: filter.label } : { view: "mail" };
}

/**
 * Puts the view of the address on screen (list, message or account page) and names it in the
 * list's heading and the document's title, with totals. The views' own Back buttons and the
 * browser's Back both come through here, so they agree.
 */
export class Navigation {
  private readonly router: Router;
  private readonly heading = byId("list-title");
  /** The list the person was on: where a message's or the account page's Back returns. */
  private lastList: Route = { view: "mail" };
  private labelTotal: { id: string; messages: number } | null = null;
  private disposed = false;

  constructor(private readonly o: NavigationOptions) {
    this.router = new Router((route) => {
      if (!this.disposed) void this.render(route);
    });
  }

  start(): void {
    this.router.start();
  }

  dispose(): void {
    this.disposed = true;
  }

  /** Opens a message; one opened from a search keeps the search in its address, to mark its words. */
  openMessage(id: string): void {
    const here = this.router.current;
    this.router.go(here.view === "search" ? { view: "message", id, q: here.q } : { view: "message", id });
  }

  openSettings(): void {
    this.router.go({ view: "settings" });
  }

  /** The person searched or chose a label in the list. */
  filtered(filter: ListFilter, how: "typing" | "chosen"): void {
    const route = filterRoute(filter);
    const inPlace = how === "typing" && this.router.current.view === route.view;
    this.router.go(route, { replace: inPlace });
  }

  /** A message or the account page closed by its own button (or Escape): back to the list. */
  closed(view: "message" | "settings"): void {
    if (this.router.current.view === view) this.router.leave(this.lastList);
  }

  /** Labels arrived or the totals changed: name the view again. */
  refreshNames(): void {
    if (isListRoute(this.router.current)) this.nameList(this.router.current);
  }

  private async render(route: Route): Promise<void> {
    const { list, detail, settings } = this.o;
    if (route.view === "message") {
      if (settings.isOpen) settings.hide();
      document.title = `Message – ${APP}`;
      await detail.open(route.id, route.q);
      const subject = document.getElementById("detail-subject")?.textContent;
      if (subject && this.router.current === route) document.title = `${subject} – ${APP}`;
      return;
    }
    if (route.view === "settings") {
      if (detail.isOpen) detail.close();
      // Chosen again from the menu while shown (after a reload on /settings): focus its heading.
      if (settings.isOpen) byId("settings-title").focus();
      else settings.open();
      document.title = `Your account – ${APP}`;
      return;
    }
    this.lastList = route;
    if (detail.isOpen) detail.close();
    if (settings.isOpen) settings.close();
    const filter: ListFilter =
      route.view === "search"
        ? { q: route.q, label: route.label ?? "" }
        : { q: "", label: route.view === "label" ? route.id : "" };
    list.applyFilter(filter);
    this.nameList(route);
    if (filter.label && !filter.q) await this.countLabel(filter.label);
  }

  private nameList(route: Extract<Route, { view: "mail" | "label" | "search" }>): void {
    let name: string;
    let total: number | null = null;
    if (route.view === "mail") {
      name = "All mail";
      total = this.o.total();
    } else if (route.view === "label") {
      name = this.o.labelName(route.id);
      total = this.labelTotal?.id === route.id ? this.labelTotal.messages : null;
    } else {
      name = `Search: “${route.q}”${route.label ? ` in ${this.o.labelName(route.label)}` : ""}`;
    }
    this.heading.textContent = name;
    document.title = `${name}${total === null ? "" : ` (${formatCount(total)})`} – ${APP}`;
  }

  /** A label's total, counted by the server when asked (GET /api/labels/:id). */
  private async countLabel(id: string): Promise<void> {
    try {
      const label = await api.get<LabelCount>(`/api/labels/${encodeURIComponent(id)}`);
      if (this.disposed) return;
      this.labelTotal = { id, messages: label.messages };
      this.o.list.setLabelTotal(id, label.messages);
      this.refreshNames();
    } catch (err) {
      // A label the last sync did not see: the list says it is empty; nothing else to tell.
      if ((err as { status?: number }).status !== 404) this.o.onError(err);
    }
  }
}
