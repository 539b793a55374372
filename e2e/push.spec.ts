import { expectAccessible } from "./axe";
import {
  countRequests,
  emailCount,
  expect,
  expectNeverBackwards,
  expectSyncCompleted,
  installProgressRecorder,
  listedIds,
  progressRecords,
  screenshot,
  signIn,
  storedEmails,
  test,
} from "./fixtures";
import { ACCOUNTS } from "./stackInfo";

const EMAIL = ACCOUNTS.push;
const COUNT = 1200;

test("push: a 1,200-message sync is followed live over the WebSocket to the end", async ({
  page,
  context,
  stack,
  sim,
}) => {
  await sim.resetAccount(EMAIL, COUNT);
  const expected = await sim.messages(EMAIL);
  expect(expected).toHaveLength(COUNT);

  await page.goto("/");
  await expect(page.getByTestId("signin")).toHaveAttribute("href", "/auth/google");
  await screenshot(page, "signed-out");
  await expectAccessible(page, "signed out");
  await signIn(page, stack.webA, EMAIL, { chooser: true, chooserScreenshot: "account-chooser" });
  await expect(page.getByTestId("list-empty")).toBeVisible();
  await page.evaluate(installProgressRecorder);
  // A second tab of the same user, which does not start anything itself.
  const otherTab = await context.newPage();
  await otherTab.goto("/");
  await expect(otherTab.getByTestId("user-email")).toHaveText(EMAIL);
  await page.bringToFront();
  const polls = countRequests(page, /^\/api\/emails\/sync\/status\//);
  const streams = countRequests(page, /^\/api\/emails\/sync\/stream$/);

  // Slow Gmail down so the sync lasts a few seconds: batched, 1,200 messages are 24 round trips
  // of two requests of 25, about 5 s at 200 ms.
  await sim.setLatency(200);
  await page.getByTestId("fetch-button").click();
  await expect(page.getByTestId("mode")).toHaveText("Live (WebSocket)");
  await expect(page.getByTestId("fetch-button")).toBeDisabled();

  // Mid-sync: the bar strictly between 0 and 100, with emails already in the list.
  await expect
    .poll(
      async () => (await progressRecords(page)).some((r) => r.value > 0 && r.value < 100 && r.items > 0),
      {
        timeout: 30_000,
      },
    )
    .toBe(true);
  await screenshot(page, "push-mid-sync");
  await expectAccessible(page, "mid-sync, live");

  await expectSyncCompleted(page, COUNT);
  await expectAccessible(page, "sync completed");
  await expect(page.getByTestId("mode")).toHaveText("Live (WebSocket)");
  await expect(page.getByTestId("fetch-button")).toBeEnabled();

  const values = (await progressRecords(page)).map((r) => r.value);
  expect(
    values.some((v) => v > 0 && v < 100),
    `values seen: ${values.join(",")}`,
  ).toBe(true);
  expect(values.at(-1)).toBe(100);
  expectNeverBackwards(values);
  // Push all the way: the page never fell back to polling or streaming.
  expect(polls.count).toBe(0);
  expect(streams.count).toBe(0);

  // Every message of the mailbox is stored, and the list shows the newest first.
  expect(await emailCount(page, stack.webA)).toBe(COUNT);
  const stored = await storedEmails(page, stack.webA);
  expect(new Set(stored.map((e) => e.id))).toEqual(new Set(expected.map((m) => m.id)));
  await expect(page.getByTestId("list-count")).toHaveText(`Showing 50 of ${COUNT.toLocaleString("en-US")}`);
  const shown = await listedIds(page);
  expect(shown).toEqual(expected.slice(0, 50).map((m) => m.id));
  await expect(page.getByTestId("user-email")).toHaveText(EMAIL);

  // "Load more" adds the next page in order.
  await page.getByTestId("load-more").click();
  await expect(page.getByTestId("email-item")).toHaveCount(100);
  expect(await listedIds(page)).toEqual(expected.slice(0, 100).map((m) => m.id));
  // Scrolling to the end reads the page after by itself.
  await page.getByTestId("load-more").scrollIntoViewIfNeeded();
  await expect(page.getByTestId("email-item")).toHaveCount(150);
  expect(await listedIds(page)).toEqual(expected.slice(0, 150).map((m) => m.id));

  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, "push-completed");

  // The other tab heard of the task through its user room and followed it to the end too.
  await expectSyncCompleted(otherTab, COUNT);
  await expect(otherTab.getByTestId("mode")).toHaveText("Live (WebSocket)");
  await expect(otherTab.getByTestId("email-item")).toHaveCount(50);
  await screenshot(otherTab, "push-second-tab");

  // The account menu: email, last sync, count; signing out ends the session.
  await page.bringToFront();
  await page.getByTestId("account-button").click();
  await expect(page.getByTestId("email-count")).toHaveText("1,200");
  await expect(page.getByTestId("last-sync")).toHaveText("just now");
  await screenshot(page, "account-menu");
  await page.getByTestId("signout").click();
  await expect(page.getByTestId("signin")).toBeVisible();
  expect((await page.request.get(`${stack.webA}/api/me`)).status()).toBe(401);
});
