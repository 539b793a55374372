import type { WebSocketRoute } from "@playwright/test";
import {
  expect,
  expectNeverBackwards,
  expectSyncCompleted,
  installProgressRecorder,
  progressRecords,
  progressValue,
  signIn,
  test,
} from "./fixtures";
import { ACCOUNTS } from "./stackInfo";

const EMAIL = ACCOUNTS.socketDrop;
const COUNT = 1200;

test("socket drop mid-sync: the page polls, then resubscribes when the socket is back", async ({
  page,
  stack,
  sim,
}) => {
  await sim.resetAccount(EMAIL, COUNT);
  // Every WebSocket goes to the real server through a route the test can cut.
  const sockets: WebSocketRoute[] = [];
  await page.routeWebSocket(/\/socket\.io\//, (ws) => {
    sockets.push(ws);
    ws.connectToServer();
  });
  await signIn(page, stack.webA, EMAIL);
  await page.evaluate(installProgressRecorder);
  const modes: string[] = [];
  await page.exposeFunction("e2eModeChanged", (mode: string) => modes.push(mode));
  await page.evaluate(() => {
    const el = document.querySelector('[data-testid="mode"]')!;
    const report = (window as unknown as { e2eModeChanged: (m: string) => void }).e2eModeChanged;
    new MutationObserver(() => report(el.textContent ?? "")).observe(el, { childList: true, subtree: true });
  });

  // Batched, 1,200 messages are 24 round trips of two requests of 25: about 10 s at 400 ms, so
  // the sync is still running when the socket comes back.
  await sim.setLatency(400);
  await page.getByTestId("fetch-button").click();
  await expect(page.getByTestId("mode")).toHaveText("Live (WebSocket)");
  await expect.poll(() => progressValue(page), { timeout: 20_000 }).toBeGreaterThan(15);

  sockets.at(-1)!.close({ code: 4001, reason: "cut by the e2e test" });
  await expect(page.getByTestId("mode")).toHaveText("Polling");
  await expect(page.getByTestId("mode")).toHaveText("Live (WebSocket)", { timeout: 15_000 });
  await expectSyncCompleted(page, COUNT);

  expect(modes).toEqual(["Live (WebSocket)", "Polling", "Live (WebSocket)"]);
  expect(sockets.length).toBeGreaterThanOrEqual(2);
  expectNeverBackwards((await progressRecords(page)).map((r) => r.value));
});
