import { describe, expect, it } from "vitest";
import { cleanCss } from "./mailFrame";

describe("a mail's CSS made inert (cleanCss)", () => {
  it("drops @import, so no stylesheet is ever fetched, and keeps the rules around it", () => {
    const { css } = cleanCss(
      '@import url("https://t.example/a.css"); @import "b.css"; p { color: red }',
      true,
    );
    expect(css).not.toMatch(/@import|a\.css|b\.css/);
    expect(css).toContain("p { color: red }");
  });

  it("blocks remote url()s until images are allowed, and says it saw one", () => {
    const blocked = cleanCss("div { background: url(https://t.example/pixel.png) no-repeat }", false);
    expect(blocked).toEqual({ css: "div { background: none no-repeat }", remote: true });
    const allowed = cleanCss("div { background: url('//t.example/pixel.png') }", true);
    expect(allowed).toEqual({ css: 'div { background: url("https://t.example/pixel.png") }', remote: true });
  });

  it("never lets plain http, relative or script-ish targets through, even with images allowed", () => {
    const { css } = cleanCss(
      "a { background: url(http://t.example/x.png) } b { background: url(/api/me) } i { width: expression(alert(1)) }",
      true,
    );
    expect(css).toBe("a { background: none } b { background: none } i { width: x-removed:alert(1)) }");
  });

  it("keeps inline data: images, which load nothing", () => {
    const pixel = "data:image/png;base64,iVBORw0KGgo=";
    expect(cleanCss(`p { background: url("${pixel}") }`, false)).toEqual({
      css: `p { background: url("${pixel}") }`,
      remote: false,
    });
  });
});
