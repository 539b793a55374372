import { expectAccessible } from "./axe";
import { expect, screenshot, test } from "./fixtures";

test("a sign-in that fails comes back to the app with words, not JSON", async ({ page, stack }) => {
  // A callback this browser did not start: its state has no matching cookie.
  await page.goto(`${stack.webA}/auth/google/callback?code=forged&state=forged`);
  await expect(page).toHaveURL(`${stack.webA}/`);
  await expect(page.getByText("That sign-in link expired or was opened in another browser.")).toBeVisible();
  await expect(page.getByTestId("signin")).toBeVisible();
  await screenshot(page, "auth-error");
  await expectAccessible(page, "sign-in failed");
});
