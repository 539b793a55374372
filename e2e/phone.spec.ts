import type { Page } from "@playwright/test";
import { expectAccessible } from "./axe";
import { expect, expectSyncCompleted, screenshot, signIn, test } from "./fixtures";

/**
 * At 390 px: a finished sync leaves the list in view, nothing wraps or is cut, keyboard focus is
 * never hidden under the sticky top bar, every state reads at 4.5:1 or better (the disabled
 * "Syncing…" button included), every route passes axe, and the page logs no error (favicon).
 * After "Disconnect Gmail" the page offers one thing to do: Connect Gmail.
 */

const PHONE = "e2e-routes-phone@example.com";
const PHONE_AXE = "e2e-routes-axe@example.com";
const COUNT = 120;

test.use({ viewport: { width: 390, height: 844 } });

/** Every console error of the page (a missing favicon is one). */
function consoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(msg.text());
  });
  return errors;
}

/** WCAG contrast of an element's text against its own background colour. */
function contrastOf(page: Page, selector: string): Promise<number> {
  return page.evaluate((sel) => {
    const el = document.querySelector(sel)!;
    const style = getComputedStyle(el);
    const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);
    const lum = (c: string) => {
      const [r, g, b] = rgb(c).map((v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
    };
    const [a, b] = [lum(style.color), lum(style.backgroundColor)].sort((x, y) => y - x);
    return (a! + 0.05) / (b! + 0.05);
  }, selector);
}

/** The focused element's top against the sticky top bar's bottom. */
function focusClearOfHeader(page: Page) {
  return page.evaluate(() => {
    const bar = document.querySelector(".topbar")!.getBoundingClientRect();
    const box = document.activeElement!.getBoundingClientRect();
    return { top: box.top, barBottom: bar.bottom, id: (document.activeElement as HTMLElement).dataset.id };
  });
}

test("at 390 px: a compact result, nothing wraps or is cut, focus clear of the header, readable disabled button", async ({
  page,
  stack,
  sim,
}) => {
  test.setTimeout(120_000);
  const errors = consoleErrors(page);
  await sim.resetAccount(PHONE, COUNT);
  await signIn(page, stack.webA, PHONE);

  // Nothing wraps or is cut in the top bar.
  const brand = await page.locator(".brand").boundingBox();
  expect(brand!.height).toBeLessThanOrEqual(40);
  const email = page.getByTestId("user-email");
  expect(await email.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);

  // The disabled "Syncing…" button reads at 4.5:1 or better.
  await sim.setLatency(150);
  await page.getByTestId("fetch-button").click();
  await expect(page.getByTestId("fetch-button")).toBeDisabled();
  await expect(page.getByTestId("fetch-button")).toHaveText("Syncing…");
  // Read once the button's colour transition has settled: the state a reader sees, not a frame of the fade.
  await expect.poll(() => contrastOf(page, "#fetch")).toBeGreaterThanOrEqual(4.5);
  await sim.clearFaults();
  await expectSyncCompleted(page, COUNT);

  // The result is one line, not a card: two whole messages and the next one's top show unscrolled.
  await expect(page.getByTestId("progress")).toBeHidden();
  const result = await page.getByTestId("sync-result").boundingBox();
  expect(result!.height).toBeLessThanOrEqual(48);
  const second = await page.getByTestId("email-item").nth(1).boundingBox();
  expect(second!.y + second!.height).toBeLessThanOrEqual(844);
  const third = await page.getByTestId("email-item").nth(2).boundingBox();
  expect(third!.y).toBeLessThan(844);
  await expect(page.getByTestId("fetch-hint")).toContainText("New mail arrives by itself within seconds.");
  await screenshot(page, "phone-after-sync-390px");

  // Shift+Tab up the list from its end: the focused row is never under the sticky header.
  await page.getByTestId("email-item").nth(40).focus();
  for (let i = 0; i < 25; i++) {
    await page.keyboard.press("Shift+Tab");
    const { top, barBottom, id } = await focusClearOfHeader(page);
    expect(top, `row ${id} under the header`).toBeGreaterThanOrEqual(barBottom);
  }

  // At 320 px too: the address is whole and nothing scrolls sideways.
  await page.setViewportSize({ width: 320, height: 700 });
  expect(await email.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
  expect(
    await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth),
  ).toBeLessThanOrEqual(0);
  await page.setViewportSize({ width: 390, height: 844 });

  expect(errors, "console errors").toEqual([]);
});

test("at 390 px: axe on every route, no console error, and only Connect Gmail after a disconnect", async ({
  page,
  stack,
  sim,
}) => {
  test.setTimeout(120_000);
  const errors = consoleErrors(page);
  await sim.resetAccount(PHONE_AXE, 30);
  await signIn(page, stack.webA, PHONE_AXE);
  await page.getByTestId("fetch-button").click();
  await expectSyncCompleted(page, 30);

  // Axe on every route at this width.
  const id = (await page.getByTestId("email-item").first().getAttribute("data-id"))!;
  const { subject } = await sim.message(PHONE_AXE, id);
  const word = subject
    .split(/\s+/)
    .find((w) => /^[A-Za-z]{4,}$/.test(w))!
    .toLowerCase();
  for (const route of ["/mail", `/mail/${id}`, `/search?q=${word}`, "/label/INBOX", "/settings"]) {
    await page.goto(`${stack.webA}${route}`);
    await expect(page.getByTestId("user-email")).toHaveText(PHONE_AXE);
    if (route.startsWith("/mail/")) await expect(page.getByTestId("detail-subject")).toBeVisible();
    else if (route === "/settings") await expect(page.getByTestId("settings-view")).toBeVisible();
    else await expect(page.getByTestId("email-item").first()).toBeVisible();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, route).toBeLessThanOrEqual(0);
    await expectAccessible(page, `${route} at 390 px`);
  }

  // Disconnected: one action, "Connect Gmail", and no Fetch.
  await page.getByTestId("disconnect-gmail").click();
  await page.getByTestId("confirm-ok").click();
  await expect(page.getByTestId("settings-gmail-status")).toContainText("Disconnected");
  const actions = page
    .getByRole("link", { name: /connect gmail/i })
    .or(page.getByRole("button", { name: /connect gmail/i }));
  await expect(actions).toHaveCount(1);
  await expect(actions).toHaveText("Connect Gmail");
  await page.goto(`${stack.webA}/mail`);
  await expect(page.getByTestId("reauth-banner")).toBeVisible();
  await expect(page.getByTestId("fetch-button")).toBeHidden();
  await expect(actions).toHaveCount(1);
  await expect(actions).toHaveText("Connect Gmail");
  await expectAccessible(page, "disconnected at 390 px");
  await screenshot(page, "phone-disconnected-390px");

  expect(errors, "console errors").toEqual([]);
});
