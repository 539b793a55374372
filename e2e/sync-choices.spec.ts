import { expectAccessible } from "./axe";
import { emailCount, expect, expectSyncCompleted, screenshot, signIn, test } from "./fixtures";

/**
 * Choosing what to sync in the browser: "last 30 days" sends {newerThanDays: 30}, the worker
 * syncs exactly the simulator's messages of those 30 days, labels can narrow it further, a bad
 * number of days is refused before any request, and the form passes axe, works from the keyboard
 * and fits a phone.
 */

const EMAIL = "e2e-choices@example.com";
const DAY = 86_400_000;

test("last 30 days: the POST body says so and the stored count is the simulator's 30 days; labels narrow it", async ({
  page,
  stack,
  sim,
}) => {
  await sim.resetAccount(EMAIL, 400);
  const listing = await sim.messages(EMAIL);
  // Gmail's clock just after the newest message, so newer_than:30d is a fixed set.
  const now = Number(listing[0]!.internalDate) + 60_000;
  await sim.call("PUT", "/sim/clock", { now });
  try {
    const lastMonth = listing.filter((m) => Number(m.internalDate) >= now - 30 * DAY);
    expect(lastMonth.length).toBeGreaterThan(5);
    expect(lastMonth.length).toBeLessThan(listing.length / 4);

    await page.setViewportSize({ width: 390, height: 844 });
    await signIn(page, stack.webA, EMAIL);
    await expect(page.getByTestId("fetch-scope")).toHaveText("everything");

    // Keyboard only: open "What to fetch", pick "Only recent mail", type 30.
    const summary = page.locator("#sync-choices > summary");
    await summary.focus();
    await page.keyboard.press("Enter");
    await expect(page.getByTestId("sync-choices-form")).toBeVisible();
    await expect(page.getByTestId("sync-labels-empty")).toBeVisible();
    await page.getByTestId("sync-range-all").focus();
    await page.keyboard.press("ArrowDown");
    await expect(page.getByTestId("sync-range-days")).toBeChecked();
    await page.getByTestId("sync-days").fill("0");
    await expect(page.getByTestId("sync-range-days")).toBeChecked();

    // A number that is not one: said in words, focus on the field, nothing sent.
    const posts: string[] = [];
    page.on("request", (r) => {
      if (r.method() === "POST" && r.url().includes("/api/emails/sync")) posts.push(r.postData() ?? "");
    });
    await page.getByTestId("fetch-button").click();
    await expect(page.getByTestId("sync-choices-error")).toHaveText(
      "Enter a whole number of days from 1 to 36500.",
    );
    await expect(page.getByTestId("sync-days")).toBeFocused();
    await expect(page.getByTestId("sync-days")).toHaveAttribute("aria-invalid", "true");
    expect(posts).toEqual([]);
    await expectAccessible(page, "sync choices with an error, 390 px");

    await page.keyboard.press("Control+a");
    await page.keyboard.type("30");
    await expect(page.getByTestId("fetch-scope")).toHaveText("the last 30 days");
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, "sync-choices-phone");
    await expectAccessible(page, "sync choices open, 390 px");

    const request = page.waitForRequest((r) => r.method() === "POST" && r.url().endsWith("/api/emails/sync"));
    await page.getByTestId("fetch-button").click();
    expect((await request).postDataJSON()).toEqual({ newerThanDays: 30 });
    await expectSyncCompleted(page, lastMonth.length);
    expect(await emailCount(page, stack.webA)).toBe(lastMonth.length);

    // After the sync the labels are there to choose; a label narrows the next sync's listing.
    await page.setViewportSize({ width: 1280, height: 860 });
    const receipts = page.locator('[data-testid="sync-label"][data-label="Label_1"]');
    await expect(receipts).toBeVisible();
    await receipts.check();
    await expect(page.getByTestId("fetch-scope")).toHaveText("the last 30 days, labelled Receipts");
    await expectAccessible(page, "sync choices with labels");
    const second = page.waitForRequest((r) => r.method() === "POST" && r.url().endsWith("/api/emails/sync"));
    await page.getByTestId("fetch-button").click();
    const posted = await second;
    expect(posted.postDataJSON()).toEqual({ newerThanDays: 30, labelIds: ["Label_1"] });
    const { taskId } = (await (await posted.response())!.json()) as { taskId: string };
    await expect
      .poll(async () => {
        const status = await page.request.get(`${stack.webA}/api/emails/sync/status/${taskId}`);
        return ((await status.json()) as { state: string }).state;
      })
      .toBe("completed");
    // Mail outside the narrower choice stays: a scope only ever adds what it lists.
    expect(await emailCount(page, stack.webA)).toBe(lastMonth.length);
  } finally {
    await sim.call("DELETE", "/sim/clock");
  }
});

test("with no worker the choice goes to the streaming fallback: the stream's body is the choice and it stores exactly those days", async ({
  page,
  stack,
  sim,
}) => {
  const email = "e2e-choices-stream@example.com";
  await sim.resetAccount(email, 300);
  const listing = await sim.messages(email);
  const now = Number(listing[0]!.internalDate) + 60_000;
  await sim.call("PUT", "/sim/clock", { now });
  try {
    const lastWeeks = listing.filter((m) => Number(m.internalDate) >= now - 45 * DAY);
    expect(lastWeeks.length).toBeGreaterThan(0);
    // Web node B: no worker serves its queue, so the POST answers 503 and the page streams.
    await signIn(page, stack.webB, email);
    await page.locator("#sync-choices > summary").click();
    await page.getByTestId("sync-days").fill("45");
    const stream = page.waitForRequest((r) => r.url().endsWith("/api/emails/sync/stream"));
    await page.getByTestId("fetch-button").click();
    expect((await stream).postDataJSON()).toEqual({ newerThanDays: 45 });
    await expectSyncCompleted(page, lastWeeks.length);
    expect(await emailCount(page, stack.webB)).toBe(lastWeeks.length);
  } finally {
    await sim.call("DELETE", "/sim/clock");
  }
});
