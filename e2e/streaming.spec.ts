import { expectAccessible } from "./axe";
import {
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

const EMAIL = ACCOUNTS.streaming;
const COUNT = 400;

test("streaming: with no worker alive the sync runs in the NDJSON stream", async ({ page, stack, sim }) => {
  await sim.resetAccount(EMAIL, COUNT);
  const expected = await sim.messages(EMAIL);

  // Web node B: its queue has no worker, so POST /api/emails/sync answers 503 no_workers.
  await signIn(page, stack.webB, EMAIL);
  await page.evaluate(installProgressRecorder);

  const refused = page.waitForResponse(
    (r) => r.url().endsWith("/api/emails/sync") && r.request().method() === "POST",
  );
  const streamed = page.waitForResponse((r) => r.url().endsWith("/api/emails/sync/stream"));
  await sim.setLatency(5);
  await page.getByTestId("fetch-button").click();

  const answer = await refused;
  expect(answer.status()).toBe(503);
  expect(await answer.json()).toMatchObject({
    error: { code: "no_workers" },
    fallback: "/api/emails/sync/stream",
  });
  expect((await streamed).headers()["content-type"]).toContain("application/x-ndjson");

  await expect(page.getByTestId("mode")).toHaveText("Streaming");
  await expectSyncCompleted(page, COUNT);
  await expect(page.getByTestId("mode")).toHaveText("Streaming");
  expectNeverBackwards((await progressRecords(page)).map((r) => r.value));

  expect(await emailCount(page, stack.webB)).toBe(COUNT);
  const stored = await storedEmails(page, stack.webB);
  expect(new Set(stored.map((e) => e.id))).toEqual(new Set(expected.map((m) => m.id)));
  expect(await listedIds(page)).toEqual(expected.slice(0, 50).map((m) => m.id));
  await screenshot(page, "streaming-completed");
  await expectAccessible(page, "completed through the stream");
});
