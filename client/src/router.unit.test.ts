import { describe, expect, it } from "vitest";
import { parseRoute, type Route, routePath } from "./router";

describe("routes: every view has an address", () => {
  const routes: Array<[Route, string]> = [
    [{ view: "mail" }, "/mail"],
    [{ view: "message", id: "18c2f0a1b" }, "/mail/18c2f0a1b"],
    [{ view: "message", id: "18c2f0a1b", q: "budget report" }, "/mail/18c2f0a1b?q=budget%20report"],
    [{ view: "label", id: "Label_1" }, "/label/Label_1"],
    [{ view: "search", q: "budget report" }, "/search?q=budget%20report"],
    [{ view: "search", q: '"exact" -word', label: "INBOX" }, "/search?q=%22exact%22%20-word&label=INBOX"],
    [{ view: "settings" }, "/settings"],
  ];

  it.each(routes)("writes %j as %s and reads it back", (route, path) => {
    expect(routePath(route)).toBe(path);
    const url = new URL(path, "http://app.test");
    expect(parseRoute(url.pathname, url.search)).toEqual(route);
  });

  it("reads / and unknown paths as all mail", () => {
    for (const path of ["/", "/nope", "/mail/a/b", "/label/", "/settings/x"])
      expect(parseRoute(path)).toEqual({ view: "mail" });
  });

  it("refuses ids the API would refuse, and an empty search is the list it narrows", () => {
    expect(parseRoute("/mail/a%20b")).toEqual({ view: "mail" });
    expect(parseRoute("/mail/%E0%A4%A")).toEqual({ view: "mail" });
    expect(parseRoute("/search", "?q=%20")).toEqual({ view: "mail" });
    expect(parseRoute("/mail/18c2f0a1b", "?q=%20")).toEqual({ view: "message", id: "18c2f0a1b" });
    expect(parseRoute("/search", "?q=&label=Label_2")).toEqual({ view: "label", id: "Label_2" });
  });
});
