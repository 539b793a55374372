import {
  emailCount,
  expect,
  expectNeverBackwards,
  expectSyncCompleted,
  installProgressRecorder,
  progressRecords,
  progressValue,
  screenshot,
  signIn,
  test,
} from "./fixtures";
import { ACCOUNTS } from "./stackInfo";

const EMAIL = ACCOUNTS.reload;
const COUNT = 1200;

test("reload mid-sync: the bar resumes from the current state and completes", async ({
  page,
  stack,
  sim,
}) => {
  await sim.resetAccount(EMAIL, COUNT);
  await signIn(page, stack.webA, EMAIL);

  // Batched, 1,200 messages are 24 round trips of two requests of 25: about 5 s at 200 ms.
  await sim.setLatency(200);
  await page.getByTestId("fetch-button").click();
  await expect.poll(() => progressValue(page), { timeout: 30_000 }).toBeGreaterThanOrEqual(10);
  const before = await progressValue(page);
  expect(before).toBeLessThan(100);

  // From the very first paint after the reload, record every value the bar takes.
  await page.addInitScript(installProgressRecorder);
  await page.reload();
  await expect(page.getByTestId("user-email")).toHaveText(EMAIL);
  await expect(page.getByTestId("progress")).toBeVisible();
  await expect.poll(() => progressValue(page)).toBeGreaterThanOrEqual(before);
  await screenshot(page, "reload-resumed");

  await expectSyncCompleted(page, COUNT);
  const values = (await progressRecords(page)).map((r) => r.value).filter((v) => v > 0);
  expect(values[0], `first value after reload (all: ${values.join(",")})`).toBeGreaterThanOrEqual(before);
  expectNeverBackwards(values);
  expect(values.at(-1)).toBe(100);
  expect(await emailCount(page, stack.webA)).toBe(COUNT);
  await screenshot(page, "reload-completed");
});
