import type { ChildProcess } from "node:child_process";
import type { Page } from "@playwright/test";
import { CLOSE_TAB_WORDS } from "../core/progress/paceWords";
import { expectAccessible } from "./axe";
import {
  expect,
  expectNeverBackwards,
  installProgressRecorder,
  progressRecords,
  screenshot,
  signIn,
  test,
} from "./fixtures";
import { ACCOUNTS, type StackInfo } from "./stackInfo";
import { startWorkerC, stopWorker } from "./workers";

/**
 * A first sync as a new deployment really runs it: the worker uses the `2026` quota profile as
 * Google grants it to a Cloud project made since 1 May 2026 (6,000 units a minute per user, 5 a
 * `messages.get`), and the simulator enforces the same limits. The rest of the suite keeps its
 * fast quota: this spec runs its own worker on web node C and sets the simulator's limits only
 * for itself.
 *
 * A 100,000-message mailbox spends its first minute's units in seconds; from then on the user's
 * quota sets the pace and the estimate is about an hour and a half. The project's day is then
 * spent, as Google says it (403 `dailyLimitExceeded`, set through the simulator's
 * `projectUnitsPerDay`): a second user's first sync pauses until Google's midnight, with the
 * reader's clock (the browser runs in Berlin) and how much of the mailbox is here.
 */

const BIG = 100_000;
/** Any time left as `spanWords` says it: the reset may be minutes or hours away when this runs. */
const SPAN = "(a few seconds|\\d+ s|\\d+ min|\\d+ h|\\d+ h \\d+ min)";
const PAUSED = 48_000;

/** The worker's settings: web C's, less the suite's fast quota, so the `2026` profile holds. */
function profile2026(stack: StackInfo): Record<string, string> {
  const { GMAIL_USER_UNITS_PER_SECOND: _fast, ...env } = stack.workerEnvC;
  return { ...env, GMAIL_QUOTA_PROFILE: "2026" };
}

/** Deletes the signed-in user (so no later worker of node C resumes the sync) through the page's session. */
async function deleteUser(page: Page, base: string) {
  const me = await (await page.request.get(`${base}/api/me`)).json();
  const res = await page.request.delete(`${base}/api/account`, {
    headers: { "X-CSRF-Token": me.csrfToken },
  });
  expect(res.status()).toBe(204);
}

test.use({ timezoneId: "Europe/Berlin" });

test.describe("a long first sync under the 2026 quota profile", () => {
  let worker: ChildProcess | null = null;
  const signedIn: Page[] = [];

  test.afterEach(async ({ sim, stack }) => {
    for (const page of signedIn.splice(0)) await deleteUser(page, stack.webC).catch(() => {});
    if (worker) await stopWorker(worker, "SIGTERM");
    worker = null;
    await sim.clearQuota();
    // Big mailboxes are not kept for the rest of the run.
    await sim.resetAccount(ACCOUNTS.longSync, 10);
    await sim.resetAccount(ACCOUNTS.longSyncPaused, 10);
  });

  test("the pace's reason and the estimate in hours, then a pause until Google's midnight, in words", async ({
    page,
    browser,
    stack,
    sim,
  }) => {
    test.setTimeout(90_000);
    await sim.resetAccount(ACCOUNTS.longSync, BIG);
    await sim.resetAccount(ACCOUNTS.longSyncPaused, PAUSED);
    await sim.setQuota({ profile: "2026" });
    worker = await startWorkerC(stack, profile2026(stack), "worker-long-sync.log");

    await signIn(page, stack.webC, ACCOUNTS.longSync);
    signedIn.push(page);
    await page.evaluate(installProgressRecorder);
    await page.getByTestId("fetch-button").click();
    await expect(page.getByTestId("mode")).toHaveText("Live (WebSocket)");

    // The first minute's units are spent within seconds; then the user's quota sets the pace.
    const pace = page.getByTestId("progress-pace");
    await expect(pace).toHaveAttribute("data-limited-by", "user_quota", { timeout: 30_000 });
    // The units a message really cost so far: at most a get's 5, fewer where threads came whole.
    await expect(pace).toContainText(
      /^Gmail's per-user quota sets the pace \(\d+(\.\d+)? quota units a message\)/,
    );
    const perMessage = Number((await pace.textContent())?.match(/\(([\d.]+) quota units/)?.[1]);
    expect(perMessage).toBeGreaterThan(0);
    expect(perMessage).toBeLessThanOrEqual(5);
    // 100,000 messages at up to 5 units, 100 units a second: over an hour, in hours and minutes.
    await expect(page.getByTestId("progress-timing")).toContainText(
      /about 1 h \d+ min left, finishes around \d\d:\d\d/,
    );
    await expect(page.getByTestId("progress-text")).toContainText(/[\d,]+ \/ 100,000 messages here/);
    await expect(page.getByTestId("progress-note")).toHaveText(CLOSE_TAB_WORDS);
    await screenshot(page, "long-sync-user-quota");
    await expectAccessible(page, "a long sync paced by the user's quota");

    // Google's answer once the project's day is spent: every call but the day's first refused.
    await sim.setQuota({ profile: "2026", projectUnitsPerDay: 2_000 });
    const context = await browser.newContext({ timezoneId: "Europe/Berlin" });
    const other = await context.newPage();
    try {
      await signIn(other, stack.webC, ACCOUNTS.longSyncPaused);
      await other.evaluate(installProgressRecorder);
      await other.getByTestId("fetch-button").click();
      const paused = other.getByTestId("progress-pace");
      await expect(paused).toHaveAttribute("data-paused", "true", { timeout: 30_000 });
      await expect(paused).toHaveText(
        new RegExp(
          `^Paused until \\d\\d:\\d\\d GMT\\+\\d( tomorrow)? \\(midnight Pacific time, when Google's quota day starts\\), in ${SPAN}: the project's daily Gmail budget is spent; [\\d,]+ of 48,000 messages are here\\.$`,
        ),
      );
      await expect(other.getByTestId("progress-text")).toHaveText(
        new RegExp(`^\\d+% · [\\d,]+ / 48,000 messages here · Paused for ${SPAN}$`),
      );
      // The messages that are here are readable while the sync waits.
      await expect(other.getByTestId("email-item").first()).toBeVisible();
      await expect(other.getByTestId("progress-note")).toHaveText(CLOSE_TAB_WORDS);
      // Screen readers hear the pause once, in the same words.
      await expect(other.getByTestId("status")).toHaveText(/^Paused until /);
      await screenshot(other, "long-sync-paused-for-the-day");
      await expectAccessible(other, "a sync paused for the project's day");

      await other.setViewportSize({ width: 390, height: 844 });
      await expect(paused).toBeVisible();
      const overflow = await other.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, "nothing overflows sideways at 390 px").toBeLessThanOrEqual(0);
      await screenshot(other, "long-sync-paused-for-the-day-phone");
      await expectAccessible(other, "a sync paused for the project's day, at 390 px");

      expectNeverBackwards((await progressRecords(other)).map((r) => r.value));
      expectNeverBackwards((await progressRecords(page)).map((r) => r.value));

      // Closed and opened again: the page finds the paused sync and says the pause first.
      const before = await other.getByTestId("progress").getAttribute("aria-valuenow");
      await other.reload();
      await expect(paused).toHaveAttribute("data-paused", "true");
      await expect(other.getByTestId("status")).toHaveText(/^Paused until /);
      expect(
        Number(await other.getByTestId("progress").getAttribute("aria-valuenow")),
      ).toBeGreaterThanOrEqual(Number(before));
    } finally {
      await deleteUser(other, stack.webC).catch(() => {});
      await context.close();
    }
  });
});
