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
  test,
} from "./fixtures";
import { ACCOUNTS } from "./stackInfo";

const EMAIL = ACCOUNTS.polling;
const COUNT = 300;

test("polling: with WebSockets blocked the page polls the status URL to the end", async ({
  page,
  stack,
  sim,
}) => {
  await sim.resetAccount(EMAIL, COUNT);
  const expected = await sim.messages(EMAIL);

  // No WebSocket can open (each attempt is closed at once), nor any other socket.io request.
  let attempts = 0;
  await page.routeWebSocket(/\/socket\.io\//, (ws) => {
    attempts += 1;
    ws.close({ code: 4000, reason: "blocked by the e2e test" });
  });
  await page.route("**/socket.io/**", (route) => route.abort());

  await signIn(page, stack.webA, EMAIL);
  await page.evaluate(installProgressRecorder);
  const polls = countRequests(page, /^\/api\/emails\/sync\/status\//);

  await sim.setLatency(10);
  await page.getByTestId("fetch-button").click();
  await expect(page.getByTestId("mode")).toHaveText("Polling");
  await expectSyncCompleted(page, COUNT);
  await expect(page.getByTestId("mode")).toHaveText("Polling");

  expect(attempts).toBeGreaterThan(0);
  expect(polls.count).toBeGreaterThan(0);
  const values = (await progressRecords(page)).map((r) => r.value);
  expectNeverBackwards(values);

  expect(await emailCount(page, stack.webA)).toBe(COUNT);
  // The first page is 50; infinite scroll may already have loaded the next one when its sentinel
  // was in view. Whatever is listed must be exactly the newest messages, in order, each once.
  await expect.poll(() => page.getByTestId("email-item").count()).toBeGreaterThanOrEqual(50);
  const ids = await listedIds(page);
  expect(ids).toEqual(expected.slice(0, ids.length).map((m) => m.id));
  await screenshot(page, "polling-completed");
  await expectAccessible(page, "completed by polling");
});
