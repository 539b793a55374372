/**
 * The app's addresses (the server answers the page for each: APP_PATHS in server/app.ts) and the
 * History API around them: every view has a URL, so Back, Forward, reload, bookmarks and links
 * work. Hand-written: five fixed shapes do not need a routing library in a bundle of plain DOM.
 */

export type Route =
  | { view: "mail" }
  /** `q`: the search it was opened from, whose words the message marks. */
  | { view: "message"; id: string; q?: string }
  | { view: "label"; id: string }
  | { view: "search"; q: string; label?: string }
  | { view: "settings" };

/** A Gmail message id or label id as the API takes them. */
const ID = /^[A-Za-z0-9_-]{1,128}$/;

/** The route of a path and query; an unknown path is all mail. */
export function parseRoute(pathname: string, search = ""): Route {
  const parts = pathname.split("/").filter(Boolean).map(safeDecode);
  const [first, second] = parts;
  if (parts.length === 2 && first === "mail" && second && ID.test(second)) {
    const q = (new URLSearchParams(search).get("q") ?? "").trim();
    return q ? { view: "message", id: second, q } : { view: "message", id: second };
  }
  if (parts.length === 2 && first === "label" && second && ID.test(second))
    return { view: "label", id: second };
  if (parts.length === 1 && first === "settings") return { view: "settings" };
  if (parts.length === 1 && first === "search") {
    const params = new URLSearchParams(search);
    const q = (params.get("q") ?? "").trim();
    const label = params.get("label") ?? "";
    if (!q) return label && ID.test(label) ? { view: "label", id: label } : { view: "mail" };
    return label && ID.test(label) ? { view: "search", q, label } : { view: "search", q };
  }
  return { view: "mail" };
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return "";
  }
}

/** The URL of a route (what the address bar shows). */
export function routePath(route: Route): string {
  switch (route.view) {
    case "mail":
      return "/mail";
    case "message":
      return `/mail/${encodeURIComponent(route.id)}${route.q ? `?${query({ q: route.q })}` : ""}`;
    case "label":
      return `/label/${encodeURIComponent(route.id)}`;
    case "settings":
      return "/settings";
    case "search":
      return `/search?${query({ q: route.q, label: route.label })}`;
  }
}

/** A query string with spaces as %20, as people read addresses (not `+`). */
function query(values: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) if (value) params.set(name, value);
  return params.toString().replaceAll("+", "%20");
}

/** Whether a route shows the list (all mail, a label, a search). */
export function isListRoute(route: Route): route is Extract<Route, { view: "mail" | "label" | "search" }> {
  return route.view === "mail" || route.view === "label" || route.view === "search";
}

interface HistoryState {
  /** How many entries of this app lie before this one in the tab's history. */
  depth: number;
}

/** pushState/replaceState/popstate for the routes; `onRoute` renders whichever is current. */
export class Router {
  private route: Route;

  constructor(private readonly onRoute: (route: Route) => void) {
    this.route = parseRoute(window.location.pathname, window.location.search);
    if (!this.state()) window.history.replaceState({ depth: 0 } satisfies HistoryState, "");
    window.addEventListener("popstate", () => {
      this.route = parseRoute(window.location.pathname, window.location.search);
      this.onRoute(this.route);
    });
  }

  get current(): Route {
    return this.route;
  }

  /** Shows the current address's view (at start-up). */
  start(): void {
    this.onRoute(this.route);
  }

  /** Goes to a route as a new history entry (or in place of this one), then renders it. */
  go(route: Route, options: { replace?: boolean } = {}): void {
    const path = routePath(route);
    this.route = route;
    if (`${window.location.pathname}${window.location.search}` !== path) {
      const depth = this.state()?.depth ?? 0;
      if (options.replace) window.history.replaceState({ depth } satisfies HistoryState, "", path);
      else window.history.pushState({ depth: depth + 1 } satisfies HistoryState, "", path);
    }
    this.onRoute(route);
  }

  /**
   * Leaves a view for `fallback`: the browser's Back when the previous entry is this app's (so
   * Back and the page's own button agree), else `fallback` in place of this entry.
   */
  leave(fallback: Route): void {
    if ((this.state()?.depth ?? 0) > 0) window.history.back();
    else this.go(fallback, { replace: true });
  }

  private state(): HistoryState | null {
    const state = window.history.state as Partial<HistoryState> | null;
    return typeof state?.depth === "number" ? (state as HistoryState) : null;
  }
}
