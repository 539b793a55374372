import type { Page } from "@playwright/test";
import { expectAccessible } from "./axe";
import { expect, expectSyncCompleted, signIn, test } from "./fixtures";
import { htmlMessage } from "./htmlMessage";

/**
 * Mail written to get past the cleaner: every case opens with no CSP violation and no console
 * error or warning on the app's page (nothing of the mail is ever live there), and with remote images off
 * no request leaves for another origin, whether or not the frame's CSP would have stopped it.
 */

const READER = "e2e-hostile@example.com";
const EVIL = "https://evil.example.net";
const PIXEL = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=",
  "base64",
);

const raw = (subject: string, html: string) =>
  htmlMessage("Mallory Sender <mallory@example.net>", READER, subject, html);

const MAILS = {
  handlers: [
    "<p>Handler mail body</p>",
    `<img src="x" alt="" onerror="document.title='pwned'; new Image().src='${EVIL}/onerror'">`,
    `<svg width="10" height="10" onload="document.title='pwned'"><circle r="4" cx="5" cy="5"/></svg>`,
    '<style>.bold { font-weight: 700 }</style><p class="bold" style="color: rgb(0, 128, 0)">Styled text</p>',
  ].join("\n"),
  injected: [
    `<p data-mail-style="background-image: url(${EVIL}/attr.png)" data-track="1">Injected attribute body</p>`,
    `<p data-mail-style-0011223344556677="background-image: url(${EVIL}/guess.png)">Guessed name</p>`,
  ].join("\n"),
  svgImages: [
    '<svg width="40" height="20" xmlns:xlink="http://www.w3.org/1999/xlink">',
    `<image href="${EVIL}/svg-image.png" width="10" height="10"/>`,
    `<image xlink:href="${EVIL}/svg-xlink.png" x="10" width="10" height="10"/>`,
    `<filter id="f"><feImage href="${EVIL}/feimage.png"/></filter>`,
    `<rect x="20" width="10" height="10" fill="url(${EVIL}/paint.svg#p)" filter="url(${EVIL}/filter.svg#f)"/>`,
    `<use href="${EVIL}/sprite.svg#icon"/>`,
    "</svg><p>SVG images body</p>",
  ].join(""),
  escapes: [
    `<style>@import url(${EVIL}/import.css);`,
    `.e1 { background-image: \\75 rl(${EVIL}/esc1.png) }`,
    `.e2 { background: u\\72 l("${EVIL}/esc2.png") }`,
    `.e3 { --x: \\75 rl(${EVIL}/esc3.png); background-image: var(--x) }`,
    `.e4 { background-image: var(--unset, \\75 rl(${EVIL}/esc4.png)) }`,
    `@font-face { font-family: Tracker; src: url(${EVIL}/font.woff) } .e5 { font-family: Tracker }`,
    `.e6 { list-style-image: image-set("${EVIL}/set.png" 1x) }</style>`,
    '<div class="e1">Escape one</div><div class="e2">Escape two</div><div class="e3">Escape three</div>',
    '<div class="e4">Escape four</div><div class="e5">Escapes body</div><ul><li class="e6">Set</li></ul>',
    `<div style="background-image: \\75 rl(${EVIL}/esc-inline.png)">Inline escape</div>`,
  ].join("\n"),
  // 1 MiB of an unclosed url(: the shape that froze the tab under the old pattern.
  hugeStyle: `<style>p { background: url(${"a".repeat(1 << 20)}</style><p>Large style body</p>`,
  links: [
    '<svg width="300" height="20">',
    '<a href="https://example.org/svg-link"><text y="15">SVG web link</text></a>',
    '<a href="/api/me"><text x="120" y="15">SVG relative link</text></a>',
    '<a href="data:text/html,&lt;b&gt;x&lt;/b&gt;"><text x="220" y="15">SVG data</text></a></svg>',
    `<p><img src="data:image/png;base64,${PIXEL.toString("base64")}" usemap="#m" alt="Map" width="20" height="20"></p>`,
    '<map name="m"><area href="https://example.org/area" shape="rect" coords="0,0,10,10" alt="Web area">',
    '<area href="/api/me" shape="rect" coords="10,10,20,20" alt="Relative area"></map>',
    "<p>Links body</p>",
  ].join("\n"),
};

/** CSP violations on the app's page (from its first script on) and its console errors and warnings. */
async function watchPage(page: Page) {
  await page.addInitScript(() => {
    const w = window as unknown as { __violations: string[] };
    w.__violations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      w.__violations.push(`${e.effectiveDirective} ${e.blockedURI} ${e.sample}`);
    });
  });
  const errors: string[] = [];
  page.on("console", (m) => {
    const type = m.type();
    if (type === "error" || type === "warning" || m.text().includes("Content Security Policy")) {
      errors.push(`${type}: ${m.text()}`);
    }
  });
  return {
    reset: async () => {
      errors.length = 0;
      await page.evaluate(() => {
        (window as unknown as { __violations: string[] }).__violations = [];
      });
    },
    seen: async () => ({
      violations: await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations),
      errors: [...errors],
    }),
  };
}

test("hostile mail opens with no CSP violation, console error or warning, and loads nothing remote while images are off", async ({
  page,
  stack,
  sim,
}) => {
  test.setTimeout(120_000);
  await sim.resetAccount(READER, 1);
  const ids: Record<string, string> = {};
  for (const [name, html] of Object.entries(MAILS)) {
    const { ids: added } = await sim.call("POST", `/sim/accounts/${encodeURIComponent(READER)}/messages`, {
      raw: raw(`Hostile ${name}`, html),
    });
    ids[name] = added[0];
  }
  const watch = await watchPage(page);
  await signIn(page, stack.webA, READER);
  await page.getByTestId("fetch-button").click();
  await expectSyncCompleted(page, 1 + Object.keys(MAILS).length);

  // From here on: every request the page or its frame makes to anything but the app.
  const app = new URL(stack.webA).origin;
  const outside: string[] = [];
  page.on("request", (req) => {
    if (new URL(req.url()).origin !== app) outside.push(req.url());
  });
  await page.route(/^https:\/\/evil\.example\.net\//, (route) =>
    route.fulfill({ status: 200, contentType: "image/png", body: PIXEL }),
  );
  const mail = page.frameLocator('[data-testid="mail-frame"]');

  /** Opens one mail from the list, waits for its body text in the frame, checks the page stayed clean. */
  const open = async (name: keyof typeof MAILS, bodyText: string) => {
    await watch.reset();
    await page.locator(`[data-testid="email-item"][data-id="${ids[name]}"]`).click();
    await expect(mail.getByText(bodyText)).toBeVisible();
    expect(await watch.seen(), `opening the ${name} mail`).toEqual({ violations: [], errors: [] });
  };
  const back = () => page.getByTestId("back").click();

  await test.step("handlers: none reaches any DOM; the mail's own CSS still applies", async () => {
    await open("handlers", "Handler mail body");
    await expect(mail.getByText("Styled text")).toHaveCSS("color", "rgb(0, 128, 0)");
    await expect(mail.getByText("Styled text")).toHaveCSS("font-weight", "700");
    expect(await page.title()).not.toBe("pwned");
    await expectAccessible(page, "detail view of a mail with handlers");
    await back();
  });

  await test.step("a sender's data-mail-style (and any data-*) is dropped", async () => {
    await open("injected", "Injected attribute body");
    for (const text of ["Injected attribute body", "Guessed name"]) {
      const p = mail.getByText(text);
      await expect(p).toHaveCSS("background-image", "none");
      expect(await p.evaluate((el) => el.getAttributeNames())).toEqual([]);
    }
    await back();
  });

  await test.step("SVG <image>, <feImage>, <use> and url() presentation attributes fetch nothing", async () => {
    await open("svgImages", "SVG images body");
    const svg = (await page.getByTestId("mail-frame").getAttribute("srcdoc")) ?? "";
    expect(svg).not.toContain("evil.example.net");
    await expect(page.getByTestId("remote-bar")).toContainText("Remote images are blocked");
    await back();
  });

  await test.step("CSS escapes, var() fallbacks, @import, @font-face and image-set() fetch nothing", async () => {
    await open("escapes", "Escapes body");
    for (const text of ["Escape one", "Escape two", "Escape three", "Escape four", "Inline escape"]) {
      await expect(mail.getByText(text)).toHaveCSS("background-image", "none");
    }
    await expect(mail.getByText("Set")).toHaveCSS("list-style-image", "none");
    await back();
  });

  await test.step("a 1 MiB style renders its body text within a second of the click", async () => {
    const item = page.locator(`[data-testid="email-item"][data-id="${ids.hugeStyle}"]`);
    await watch.reset();
    // Timed in the page: from the click's event to the first frame whose body shows the text.
    await page.evaluate(() => {
      const w = window as any;
      w.__opened = new Promise<number>((resolve) => {
        let start = 0;
        document.addEventListener("click", () => (start = performance.now()), { capture: true, once: true });
        const check = () => {
          const frame = document.querySelector<HTMLIFrameElement>('[data-testid="mail-frame"]');
          // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what is timed
          const text = frame?.contentDocument?.body?.innerText ?? "";
          if (start && text.includes("Large style body")) resolve(performance.now() - start);
          else requestAnimationFrame(check);
        };
        requestAnimationFrame(check);
      });
    });
    await item.click();
    const ms: number = await page.evaluate(() => (window as any).__opened);
    await expect(mail.getByText("Large style body")).toBeVisible();
    expect(await watch.seen()).toEqual({ violations: [], errors: [] });
    test
      .info()
      .annotations.push({ type: "1 MiB style: click to body text", description: `${Math.round(ms)} ms` });
    expect(ms).toBeLessThan(1000);
    await back();
  });

  await test.step("links in SVG <a> and <area> open outside, or lose a target that is not a web address", async () => {
    await open("links", "Links body");
    const svgWeb = mail.locator("svg a").filter({ hasText: "SVG web link" });
    await expect(svgWeb).toHaveAttribute("target", "_blank");
    await expect(svgWeb).toHaveAttribute("rel", "noopener noreferrer");
    for (const text of ["SVG relative link", "SVG data"]) {
      expect(await mail.locator("svg a").filter({ hasText: text }).getAttribute("href")).toBeNull();
    }
    await expect(mail.locator('area[alt="Web area"]')).toHaveAttribute("target", "_blank");
    await expect(mail.locator('area[alt="Web area"]')).toHaveAttribute("href", "https://example.org/area");
    expect(await mail.locator('area[alt="Relative area"]').getAttribute("href")).toBeNull();
    await expectAccessible(page, "detail view of a mail with SVG and area links");
    await back();
  });

  expect(outside, "requests to other origins with remote images off").toEqual([]);

  await test.step("once remote images are allowed, the SVG <image> loads over https (and only images)", async () => {
    await open("svgImages", "SVG images body");
    const image = page.waitForRequest(`${EVIL}/svg-image.png`);
    await page.getByTestId("show-remote-images").click();
    await image;
    await expect(page.getByTestId("remote-bar")).toContainText("Remote images are shown");
    expect(outside.filter((url) => /sprite|paint|filter/.test(url))).toEqual([]);
  });
});
