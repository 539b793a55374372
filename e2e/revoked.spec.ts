import { expectAccessible } from "./axe";
import { expect, expectSyncCompleted, screenshot, signIn, test } from "./fixtures";
import { ACCOUNTS } from "./stackInfo";

const EMAIL = ACCOUNTS.revoked;
const COUNT = 40;

// A phone-sized screen: the layout must hold at 375 px.
test.use({ viewport: { width: 375, height: 760 } });

test("revoked grant: the sync fails and the page offers Reconnect Gmail", async ({ page, stack, sim }) => {
  await sim.resetAccount(EMAIL, COUNT);
  await signIn(page, stack.webA, EMAIL);
  await sim.revoke(EMAIL);

  await page.getByTestId("fetch-button").click();
  await expect(page.getByTestId("progress-state")).toHaveText("Failed", { timeout: 30_000 });
  const reconnect = page.getByTestId("reconnect");
  await expect(reconnect).toBeVisible();
  await expect(reconnect).toHaveText("Reconnect Gmail");
  await expect(reconnect).toHaveAttribute("href", `/auth/google?login_hint=${encodeURIComponent(EMAIL)}`);
  await expect(page.getByTestId("sync-error")).toContainText(/revoked or has expired/i);
  // /api/me now says so too: the banner stays after a reload.
  await expect(page.getByTestId("reauth-banner")).toBeVisible();

  // Nothing sticks out sideways on a 375 px screen.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await screenshot(page, "revoked-reconnect-375px");
  await expectAccessible(page, "sync failed, reconnect offered, 375 px");

  await page.reload();
  await expect(page.getByTestId("reauth-banner")).toBeVisible();

  // Reconnecting grants access again and the next sync works.
  await page.getByTestId("reconnect-banner-link").click();
  await page.waitForURL(`${stack.webA}/`);
  await expect(page.getByTestId("reauth-banner")).toBeHidden();
  await page.getByTestId("fetch-button").click();
  await expectSyncCompleted(page, COUNT);
  await screenshot(page, "revoked-reconnected-375px");
});
