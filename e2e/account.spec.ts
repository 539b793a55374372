import type { Locator, Page } from "@playwright/test";
import { expectAccessible } from "./axe";
import { expect, expectSyncCompleted, screenshot, signIn, test } from "./fixtures";

const TOKENS = "e2e-tokens@example.com";
const LEAVES = "e2e-leaves@example.com";
const DELETES = "e2e-deletes@example.com";

/** Presses Tab until `target` has focus, as a keyboard user would get there. */
async function tabTo(page: Page, target: Locator, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (await target.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`Tab never reached ${target}`);
}

/** One fact (Created, Last used, Expires) of a token in the list. */
const fact = (item: Locator, term: string) =>
  item
    .locator("dl > div")
    .filter({ has: item.page().getByRole("term").filter({ hasText: term }) })
    .locator("dd");

async function openAccountPage(page: Page) {
  await page.getByTestId("account-button").click();
  await page.getByTestId("account-settings").click();
  await expect(page.getByTestId("settings-view")).toBeVisible();
  await expect(page.getByRole("heading", { name: "Your account" })).toBeFocused();
}

async function noSidewaysScroll(page: Page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
}

test("API tokens: created with scopes and an expiry and shown once, listed without the secret, revoked after a confirmation", async ({
  page,
  stack,
  sim,
}) => {
  await sim.resetAccount(TOKENS, 5);
  await signIn(page, stack.webA, TOKENS);

  await page.getByTestId("account-button").click();
  await expect(page.getByTestId("account-panel")).toBeVisible();
  await expectAccessible(page, "account menu open");
  await page.getByTestId("account-settings").click();
  await expect(page.getByRole("heading", { name: "Your account" })).toBeFocused();
  await expect(page.getByTestId("token-empty")).toBeVisible();
  await expectAccessible(page, "account page, no tokens");

  await page.getByLabel("Name").fill("nightly backup");
  await page.getByLabel("Expires").selectOption("30");
  // The defaults are ticked (read, sync); this script only reads. Checkboxes take the keyboard.
  const sync = page.getByRole("checkbox", { name: /^sync\b/ });
  await expect(page.getByRole("checkbox", { name: /^read\b/ })).toBeChecked();
  await expect(sync).toBeChecked();
  await sync.focus();
  await page.keyboard.press("Space");
  await expect(sync).not.toBeChecked();
  await page.getByTestId("token-create").click();
  const secret = page.getByTestId("new-token-value");
  await expect(secret).toHaveValue(/^isk_/);
  await expect(secret).toBeFocused();
  const token = await secret.inputValue();
  const item = page.getByTestId("token-item");
  await expect(item).toHaveCount(1);
  await expect(item).toContainText("nightly backup");
  await expect(fact(item, "Created")).toHaveText("just now");
  await expect(fact(item, "Expires")).toHaveText("in 30 days");
  await expect(fact(item, "Last used")).toHaveText("Never");
  await expect(fact(item, "Allowed to")).toHaveText("read");
  await expect(page.getByTestId("new-token-terms")).toContainText("Allowed to: read. Expires");
  await expect(page.getByTestId("token-list")).not.toContainText(token);
  await expectAccessible(page, "a token just created");
  await screenshot(page, "account-token-created");

  // The token works for a script.
  const asScript = await page.request.get(`${stack.webA}/api/me`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(asScript.status()).toBe(200);
  const syncAsScript = await page.request.post(`${stack.webA}/api/emails/sync`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(syncAsScript.status()).toBe(403);
  expect((await syncAsScript.json()).error.code).toBe("insufficient_scope");

  // Done: the secret leaves the page, and a reload never shows it again.
  await page.getByTestId("new-token-done").click();
  await expect(page.getByTestId("new-token")).toBeHidden();
  await expect(page.getByLabel("Name")).toBeFocused();
  await page.reload();
  await openAccountPage(page);
  await expect(fact(item, "Last used")).toHaveText("just now");
  expect(await page.content()).not.toContain(token);

  // Revoke asks first; Escape cancels and gives focus back to the button.
  const revoke = item.getByRole("button", { name: "Revoke token nightly backup" });
  await revoke.click();
  const dialog = page.getByRole("dialog", { name: "Revoke “nightly backup”?" });
  await expect(dialog).toBeVisible();
  await expect(page.getByTestId("confirm-cancel")).toBeFocused();
  await expectAccessible(page, "revoke confirmation");
  await screenshot(page, "account-revoke-dialog");
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(revoke).toBeFocused();
  await expect(item).toHaveCount(1);
  expect(
    (
      await page.request.get(`${stack.webA}/api/me`, { headers: { authorization: `Bearer ${token}` } })
    ).status(),
  ).toBe(200);

  await revoke.click();
  await page.getByTestId("confirm-ok").click();
  await expect(dialog).toBeHidden();
  await expect(item).toHaveCount(0);
  await expect(page.getByTestId("token-empty")).toBeVisible();
  await expect(page.getByRole("heading", { name: "API tokens" })).toBeFocused();
  expect(
    (
      await page.request.get(`${stack.webA}/api/me`, { headers: { authorization: `Bearer ${token}` } })
    ).status(),
  ).toBe(401);

  // Back to the inbox, and focus back on the account button.
  await page.getByTestId("settings-back").click();
  await expect(page.getByTestId("settings-view")).toBeHidden();
  await expect(page.getByTestId("email-list")).toBeVisible();
  await expect(page.getByTestId("account-button")).toBeFocused();
});

test.describe("at 375 px, from the keyboard", () => {
  test.use({ viewport: { width: 375, height: 760 } });

  test("disconnect Gmail, then sign out everywhere (another device too)", async ({
    page,
    browser,
    stack,
    sim,
  }) => {
    await sim.resetAccount(LEAVES, 5);
    await signIn(page, stack.webA, LEAVES);
    const otherDevice = await browser.newContext();
    const other = await otherDevice.newPage();
    await signIn(other, stack.webA, LEAVES);

    await tabTo(page, page.getByTestId("account-button"));
    await page.keyboard.press("Enter");
    await tabTo(page, page.getByTestId("account-settings"));
    await page.keyboard.press("Enter");
    await expect(page.getByRole("heading", { name: "Your account" })).toBeFocused();
    await expect(page.getByTestId("settings-gmail-status")).toContainText("Connected");
    await noSidewaysScroll(page);
    await expectAccessible(page, "account page at 375 px");
    await screenshot(page, "account-page-375px");

    await tabTo(page, page.getByTestId("disconnect-gmail"));
    await page.keyboard.press("Enter");
    await expect(page.getByRole("dialog", { name: "Disconnect Gmail?" })).toBeVisible();
    await expect(page.getByTestId("confirm-cancel")).toBeFocused();
    await noSidewaysScroll(page);
    await screenshot(page, "account-disconnect-dialog-375px");
    await page.keyboard.press("Tab");
    await expect(page.getByTestId("confirm-ok")).toBeFocused();
    await page.keyboard.press("Enter");
    await expect(page.getByTestId("settings-gmail-status")).toContainText("Disconnected");
    await expect(page.getByTestId("connect-gmail")).toBeFocused();
    await expect(page.getByTestId("connect-gmail")).toHaveText("Connect Gmail");
    await expect(page.getByTestId("reauth-banner")).toContainText("Gmail is disconnected");
    await expect(page.getByTestId("gmail-status")).toHaveText("Disconnected");
    const stats = await sim.call<{ revocations: { email: string }[] }>("GET", "/sim/stats");
    expect(stats.revocations.map((r) => r.email)).toContain(LEAVES);
    await expectAccessible(page, "Gmail disconnected");

    await tabTo(page, page.getByTestId("signout-everywhere"));
    await page.keyboard.press("Enter");
    await expect(page.getByRole("dialog", { name: "Sign out everywhere?" })).toBeVisible();
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await expect(page.getByTestId("signed-out")).toBeVisible();
    await expect(page.getByText("You are signed out on every device.")).toBeVisible();
    await expectAccessible(page, "signed out everywhere");
    expect((await other.request.get(`${stack.webA}/api/me`)).status()).toBe(401);
    await other.reload();
    await expect(other.getByTestId("signed-out")).toBeVisible();
    await otherDevice.close();
  });

  test("delete my account: the address must be typed, then everything is gone", async ({
    page,
    stack,
    sim,
  }) => {
    await sim.resetAccount(DELETES, 5);
    await signIn(page, stack.webA, DELETES);
    await page.getByTestId("fetch-button").click();
    await expectSyncCompleted(page, 5);

    await openAccountPage(page);
    await page.getByLabel("Name").fill("cli");
    await page.getByTestId("token-create").click();
    await expect(page.getByTestId("new-token-value")).toHaveValue(/^isk_/);
    const token = await page.getByTestId("new-token-value").inputValue();

    await tabTo(page, page.getByTestId("delete-account"));
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: "Delete your account?" });
    await expect(dialog).toBeVisible();
    const typed = page.getByLabel(`Type ${DELETES} to confirm`);
    await expect(typed).toBeFocused();
    await expect(page.getByTestId("confirm-ok")).toBeDisabled();
    await page.keyboard.type("someone-else@example.com");
    await expect(page.getByTestId("confirm-ok")).toBeDisabled();
    await expectAccessible(page, "delete confirmation");
    await noSidewaysScroll(page);
    await screenshot(page, "account-delete-dialog-375px");
    // Escape cancels here too, and nothing is deleted.
    await page.keyboard.press("Escape");
    await expect(dialog).toBeHidden();
    await expect(page.getByTestId("delete-account")).toBeFocused();
    expect((await page.request.get(`${stack.webA}/api/me`)).status()).toBe(200);

    await page.keyboard.press("Enter");
    await expect(typed).toHaveValue("");
    await page.keyboard.type(DELETES.toUpperCase());
    await expect(page.getByTestId("confirm-ok")).toBeEnabled();
    await page.keyboard.press("Enter");
    await expect(page.getByTestId("signed-out")).toBeVisible();
    await expect(page.getByText("Your account and everything in it were deleted.")).toBeVisible();
    await expectAccessible(page, "account deleted");
    await screenshot(page, "account-deleted-375px");

    expect((await page.request.get(`${stack.webA}/api/me`)).status()).toBe(401);
    expect(
      (
        await page.request.get(`${stack.webA}/api/me`, { headers: { authorization: `Bearer ${token}` } })
      ).status(),
    ).toBe(401);
    const stats = await sim.call<{ revocations: { email: string }[] }>("GET", "/sim/stats");
    expect(stats.revocations.map((r) => r.email)).toContain(DELETES);

    // Signing in again starts from nothing.
    await signIn(page, stack.webA, DELETES);
    await page.getByTestId("account-button").click();
    await expect(page.getByTestId("email-count")).toHaveText("0");
  });
});
