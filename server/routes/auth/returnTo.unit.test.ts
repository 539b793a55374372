import { describe, expect, it } from "vitest";
import { safeReturnTo } from "./returnTo";

describe("safeReturnTo: only a same-origin path of the app", () => {
  it("keeps the app's own paths with their query", () => {
    expect(safeReturnTo("/mail/18c2f0a1")).toBe("/mail/18c2f0a1");
    expect(safeReturnTo("/search?q=budget%20report")).toBe("/search?q=budget%20report");
    expect(safeReturnTo("/label/Label_1")).toBe("/label/Label_1");
    expect(safeReturnTo("/")).toBe("/");
  });

  it.each([
    "//evil.example/",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "evil.example",
    "/\tevil",
    "/\r\nSet-Cookie:x",
    "",
  ])("refuses %j", (value) => {
    expect(safeReturnTo(value)).toBeNull();
  });

  it("refuses the sign-in's own paths, non-strings and overlong paths", () => {
    expect(safeReturnTo("/auth/google")).toBeNull();
    expect(safeReturnTo("/auth/google/callback?code=x")).toBeNull();
    expect(safeReturnTo(["/mail"])).toBeNull();
    expect(safeReturnTo(undefined)).toBeNull();
    expect(safeReturnTo(`/${"a".repeat(3000)}`)).toBeNull();
  });

  it("normalises dot segments without leaving the origin", () => {
    expect(safeReturnTo("/mail/../settings")).toBe("/settings");
    expect(safeReturnTo("/..//evil.example")).toBeNull();
    expect(safeReturnTo("/mail/..//evil.example")).toBeNull();
  });
});
