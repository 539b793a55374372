import { expect, expectSyncCompleted, listedIds, screenshot, signIn, storedEmails, test } from "./fixtures";
import { ACCOUNTS } from "./stackInfo";

const DAVE = { email: ACCOUNTS.twoA, count: 500 };
const ERIN = { email: ACCOUNTS.twoB, count: 350 };

test("two users at once: each sees only their own progress and mail", async ({ browser, stack, sim }) => {
  await sim.resetAccount(DAVE.email, DAVE.count);
  await sim.resetAccount(ERIN.email, ERIN.count);
  const daveMail = await sim.messages(DAVE.email);
  const erinMail = await sim.messages(ERIN.email);

  const contexts = [await browser.newContext(), await browser.newContext()];
  try {
    const [dave, erin] = await Promise.all(contexts.map((c) => c.newPage()));
    await signIn(dave!, stack.webA, DAVE.email);
    await signIn(erin!, stack.webA, ERIN.email);

    await sim.setLatency(5);
    await Promise.all([dave!.getByTestId("fetch-button").click(), erin!.getByTestId("fetch-button").click()]);
    await Promise.all([expectSyncCompleted(dave!, DAVE.count), expectSyncCompleted(erin!, ERIN.count)]);

    for (const [page, me, other] of [
      [dave!, DAVE, erinMail],
      [erin!, ERIN, daveMail],
    ] as const) {
      const mine = me === DAVE ? daveMail : erinMail;
      await expect(page.getByTestId("user-email")).toHaveText(me.email);
      await expect(page.getByTestId("mode")).toHaveText("Live (WebSocket)");
      // Progress: the result is this account's count (the other task was never followed here).
      await expect(page.getByTestId("progress-text")).toContainText(`${me.count} / ${me.count}`);
      // Mail: the list is this mailbox's newest page, nothing of the other one.
      const shown = await listedIds(page);
      expect(shown).toEqual(mine.slice(0, 50).map((m) => m.id));
      const otherIds = new Set(other.map((m) => m.id));
      expect(shown.filter((id) => otherIds.has(id))).toEqual([]);
      // Every stored message is addressed to this account.
      const stored = await storedEmails(page, stack.webA);
      expect(stored).toHaveLength(me.count);
      expect(stored.filter((e) => !e.to.toLowerCase().includes(me.email))).toEqual([]);
    }
    await screenshot(dave!, "two-users-dave");
    await screenshot(erin!, "two-users-erin");
  } finally {
    await Promise.all(contexts.map((c) => c.close()));
  }
});
