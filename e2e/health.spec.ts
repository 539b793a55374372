import { expectAccessible } from "./axe";
import { expect, screenshot, signIn, test } from "./fixtures";

const HEALTH = "e2e-health@example.com";
const WEEK_AND_A_MINUTE = 7 * 86_400_000 + 60_000;

test("Sync health: an account whose Gmail push lapsed says so in words with what to do, and reads well again after a renewal", async ({
  page,
  stack,
  sim,
}) => {
  await sim.resetAccount(HEALTH, 5);
  await signIn(page, stack.webA, HEALTH);

  // A week and a minute without a working renewal, compressed: Gmail's clock runs a week and a
  // minute behind while the watch is made, so the watch it grants ended a minute ago by ours.
  const { accounts } = await page.evaluate(async () => (await fetch("/api/accounts")).json());
  const accountId: string = accounts[0].id;
  await sim.call("PUT", "/sim/clock", { offsetMs: -WEEK_AND_A_MINUTE });
  try {
    const status = await page.evaluate(async (id) => {
      const me = await (await fetch("/api/me")).json();
      const res = await fetch(`/api/accounts/${id}/watch`, {
        method: "POST",
        headers: { "x-csrf-token": me.csrfToken },
      });
      return res.status;
    }, accountId);
    expect(status).toBe(200);
  } finally {
    await sim.call("DELETE", "/sim/clock");
  }

  await page.getByTestId("account-button").click();
  await page.getByTestId("account-settings").click();
  const panel = page.getByTestId("health-panel");
  await expect(panel.getByRole("heading", { name: "Sync health" })).toBeVisible();
  await expect(page.getByTestId("health-summary")).toHaveText("One thing needs you:");
  const lapsed = page.getByTestId("health-attention-item");
  await expect(lapsed).toHaveAttribute("data-code", "watch_lapsed");
  await expect(lapsed).toContainText("Gmail push has not been active since");
  await expect(lapsed).toContainText("Renew it now");
  const push = panel
    .locator("dl > div")
    .filter({ has: page.getByRole("term").filter({ hasText: "Gmail push" }) });
  await expect(push.locator("dd")).toHaveText("Not active: new mail arrives only when a sync runs");
  await expectAccessible(page, "account page, push lapsed");
  await screenshot(page, "health-lapsed");

  // From the keyboard: the renewal button is reachable and works with Enter.
  const renew = page.getByRole("button", { name: "Renew Gmail push now" });
  await renew.focus();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("health-summary")).toHaveText("All is well: nothing needs you.");
  await expect(page.getByTestId("health-attention")).toBeHidden();
  await expect(push.locator("dd")).toHaveText(/^Active, until in (6|7) days$/);
  await expect(renew).toBeHidden();
  await expectAccessible(page, "account page, push renewed");

  // At phone width the panel fits without sideways scrolling.
  await page.setViewportSize({ width: 375, height: 780 });
  await expect(panel).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await screenshot(page, "health-renewed-phone");
});
