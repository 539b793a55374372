import type { Page } from "@playwright/test";
import { expect, expectSyncCompleted, listedIds, screenshot, signIn, test } from "./fixtures";

/**
 * Every view has an address: a deep link survives sign-in, Back and Forward walk the views the
 * person saw, and a reload shows the same view, named in the heading and the title with totals.
 */

const DEEP = "e2e-routes-deep@example.com";
const WALK = "e2e-routes-walk@example.com";
const COUNT = 120;

const path = (page: Page) => {
  const url = new URL(page.url());
  return `${url.pathname}${url.search}`;
};

async function syncAll(page: Page, base: string, email: string) {
  await signIn(page, base, email);
  await page.getByTestId("fetch-button").click();
  await expectSyncCompleted(page, COUNT);
}

test("a message's link opened signed out goes through sign-in and lands on that message", async ({
  page,
  stack,
  sim,
}) => {
  await sim.resetAccount(DEEP, COUNT);
  await syncAll(page, stack.webA, DEEP);
  const id = (await listedIds(page))[7]!;
  const { subject } = await sim.message(DEEP, id);
  await page.getByTestId("account-button").click();
  await page.getByTestId("signout").click();
  await expect(page.getByTestId("signed-out")).toBeVisible();

  await page.goto(`${stack.webA}/mail/${id}`);
  await expect(page.getByTestId("signed-out")).toBeVisible();
  await expect(page.getByTestId("signin")).toHaveAttribute(
    "href",
    `/auth/google?returnTo=${encodeURIComponent(`/mail/${id}`)}`,
  );
  await page.getByTestId("signin").click();
  await page.locator(`a.account[data-email="${DEEP}"]`).click();
  await page.waitForURL(`${stack.webA}/mail/${id}`);
  await expect(page.getByTestId("detail-subject")).toHaveText(subject);
  await expect(page).toHaveTitle(`${subject} – inbox-sync`);
});

test("Back and Forward walk list, message, search, label and account page; a reload keeps each", async ({
  page,
  stack,
  sim,
}) => {
  await sim.resetAccount(WALK, COUNT);
  const inbox = (await sim.messages(WALK)).filter((m) => m.labelIds.includes("INBOX")).length;
  await syncAll(page, stack.webA, WALK);
  const heading = page.locator("#list-title");

  await page.goto(`${stack.webA}/mail`);
  await expect(heading).toHaveText("All mail");
  await expect(page).toHaveTitle(`All mail (${COUNT}) – inbox-sync`);

  // A message.
  const first = page.getByTestId("email-item").first();
  const id = (await first.getAttribute("data-id"))!;
  const { subject } = await sim.message(WALK, id);
  await first.click();
  await expect(page).toHaveURL(`${stack.webA}/mail/${id}`);
  await expect(page.getByTestId("detail-subject")).toHaveText(subject);
  await page.reload();
  await expect(page.getByTestId("detail-subject")).toHaveText(subject);
  await expect(page).toHaveTitle(`${subject} – inbox-sync`);
  await page.goBack();
  await expect(page).toHaveURL(`${stack.webA}/mail`);
  await expect(page.getByTestId("email-detail")).toBeHidden();
  await expect(heading).toHaveText("All mail");
  await page.goForward();
  await expect(page.getByTestId("detail-subject")).toHaveText(subject);
  // The page's own Back is the browser's Back: no extra entry.
  await page.getByTestId("back").click();
  await expect(page).toHaveURL(`${stack.webA}/mail`);
  await expect(page.locator(`button[data-id="${id}"]`)).toBeFocused();

  // A search.
  const word = subject
    .split(/\s+/)
    .find((w) => /^[A-Za-z]{4,}$/.test(w))!
    .toLowerCase();
  await page.getByTestId("search").fill(word);
  await page.getByTestId("search").press("Enter");
  await expect(page).toHaveURL(`${stack.webA}/search?q=${word}`);
  await expect(heading).toHaveText(`Search: “${word}”`);
  await expect(page.locator(`button[data-id="${id}"]`)).toBeVisible();
  await page.reload();
  await expect(heading).toHaveText(`Search: “${word}”`);
  await expect(page.getByTestId("search")).toHaveValue(word);
  await expect(page.locator(`button[data-id="${id}"]`)).toBeVisible();

  // A label, with its total.
  await page.getByTestId("search").fill("");
  await page.getByTestId("search").press("Enter");
  await expect(page).toHaveURL(`${stack.webA}/mail`);
  await page.getByTestId("label-filter").selectOption("INBOX");
  await expect(page).toHaveURL(`${stack.webA}/label/INBOX`);
  await expect(heading).toHaveText("Inbox");
  await expect(page).toHaveTitle(`Inbox (${inbox}) – inbox-sync`);
  await expect(page.getByTestId("list-count")).toContainText(`of ${inbox} labelled Inbox`);
  await page.reload();
  await expect(page).toHaveTitle(`Inbox (${inbox}) – inbox-sync`);
  await expect(page.getByTestId("label-filter")).toHaveValue("INBOX");

  // The account page.
  await page.getByTestId("account-button").click();
  await page.getByTestId("account-settings").click();
  await expect(page).toHaveURL(`${stack.webA}/settings`);
  await page.reload();
  await expect(page.getByTestId("settings-view")).toBeVisible();
  await expect(page).toHaveTitle("Your account – inbox-sync");

  // All the way back, then forward again (the search replaced the message's forward entry).
  for (const expected of ["/label/INBOX", "/mail", `/search?q=${word}`, "/mail"]) {
    await page.goBack();
    await expect.poll(() => path(page)).toBe(expected);
  }
  await expect(heading).toHaveText("All mail");
  await expect(page.getByTestId("search")).toHaveValue("");
  await page.goForward();
  await expect(heading).toHaveText(`Search: “${word}”`);
  await expect(page.getByTestId("search")).toHaveValue(word);
  await page.goForward();
  await expect(heading).toHaveText("All mail");
  await page.goForward();
  await expect(heading).toHaveText("Inbox");
  await page.goForward();
  await expect(page.getByTestId("settings-view")).toBeVisible();
  await expect(page.getByTestId("email-list")).toBeHidden();
  await screenshot(page, "routes-settings");
});
