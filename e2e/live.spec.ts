import { randomBytes } from "node:crypto";
import { expect, expectSyncCompleted, listedIds, signIn, test } from "./fixtures";

/**
 * Gmail push end to end: web A runs with GMAIL_PUSH_TOPIC and the simulator pushes to its
 * /webhooks/gmail (globalSetup.ts), so an account signed in there is watched, and mail that
 * arrives in Gmail reaches the open page by push → debounced sync → `mail:changed`.
 */
test("a message that arrives in Gmail shows in the open list within 3 s, with no click, and is announced", async ({
  page,
  stack,
  sim,
}) => {
  // An account of this spec's own: pushes for it can reach nobody else's page.
  const email = `e2e-live-${randomBytes(4).toString("hex")}@example.com`;
  await sim.resetAccount(email, 5);
  await signIn(page, stack.webA, email);
  await page.getByTestId("fetch-button").click();
  await expectSyncCompleted(page, 5);
  // Signing in watched the mailbox (users.watch); Gmail pushes only for watched mailboxes.
  await expect
    .poll(() =>
      sim.call("GET", `/sim/accounts/${encodeURIComponent(email)}/watch`).then(
        () => true,
        () => false,
      ),
    )
    .toBe(true);
  const before = await listedIds(page);

  const { ids } = await sim.call<{ ids: string[] }>(
    "POST",
    `/sim/accounts/${encodeURIComponent(email)}/messages`,
    { count: 1 },
  );
  const arrived = await sim.message(email, ids[0]!);
  const item = page.getByTestId("email-item").filter({ hasText: arrived.subject });
  await expect(item).toBeVisible({ timeout: 3_000 });
  expect(await listedIds(page)).toEqual([ids[0], ...before]);
  await expect(page.getByTestId("live-mail-status")).toHaveText("Mailbox updated: 1 message arrived.");

  const pushes = (
    await sim.call<{ pushes: Array<{ email: string; status: number }> }>("GET", "/sim/stats")
  ).pushes.filter((p) => p.email === email);
  expect(pushes.map((p) => p.status)).toEqual([204]);
});
