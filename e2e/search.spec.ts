import { expectAccessible } from "./axe";
import { expect, expectSyncCompleted, listedIds, screenshot, signIn, test } from "./fixtures";
import { ACCOUNTS } from "./stackInfo";

const EMAIL = ACCOUNTS.search;
const COUNT = 200;

test("search finds a message by a word of its subject, and opens it", async ({ page, stack, sim }) => {
  await sim.resetAccount(EMAIL, COUNT);
  const mail = await sim.messages(EMAIL);
  await signIn(page, stack.webA, EMAIL);
  await page.getByTestId("fetch-button").click();
  await expectSyncCompleted(page, COUNT);

  // A message beyond the first page, and the rarest word of the subjects around it.
  const subjects = await Promise.all(mail.map((m) => sim.message(EMAIL, m.id)));
  const words = (subject: string) =>
    subject
      .replace(/^Re:\s*/i, "")
      .split(/\s+/)
      .filter((w) => /^[A-Za-z]{4,}$/.test(w));
  const frequency = new Map<string, number>();
  for (const s of subjects)
    for (const w of new Set(words(s.subject))) frequency.set(w, (frequency.get(w) ?? 0) + 1);
  const candidates = subjects.slice(60).filter((s) => words(s.subject).length > 0);
  const target = candidates.reduce((best, s) => {
    const rarest = (x: typeof s) => Math.min(...words(x.subject).map((w) => frequency.get(w)!));
    return rarest(s) < rarest(best) ? s : best;
  });
  const word = words(target.subject).sort((a, b) => frequency.get(a)! - frequency.get(b)!)[0]!;
  expect(await listedIds(page)).not.toContain(target.id);

  // Typing searches (debounced); the target shows up, and every hit mentions the word.
  const search = page.getByTestId("search");
  await search.fill(word.toLowerCase());
  await expect(page.locator(`[data-testid="email-item"][data-id="${target.id}"]`)).toBeVisible();
  const hits = await page.getByTestId("email-item").allInnerTexts();
  for (const hit of hits) expect(hit.toLowerCase()).toContain(word.toLowerCase());
  await expect(page.getByTestId("list-count")).toContainText(`for “${word.toLowerCase()}”`);
  await screenshot(page, "search-results");

  // Enter submits at once; the message's own tag narrows it to exactly one.
  const tag = target.subject.match(/#\d{4}/)?.[0];
  if (tag) {
    await search.fill(tag);
    await search.press("Enter");
    await expect(page.getByTestId("email-item")).toHaveCount(1);
    expect(await listedIds(page)).toEqual([target.id]);
  }

  // Keyboard: Enter on the item opens its detail; Back returns to the list.
  const item = page.locator(`[data-testid="email-item"][data-id="${target.id}"]`);
  await item.focus();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("detail-subject")).toHaveText(target.subject);
  await expect(page.getByTestId("email-detail")).toContainText(EMAIL);
  await screenshot(page, "search-detail");
  await expectAccessible(page, "email detail");
  await page.getByTestId("back").click();
  await expect(page.getByTestId("email-list")).toBeVisible();
  await expect(item).toBeFocused();

  // A word nobody wrote: an empty result says so.
  await search.fill("zzqxnotaword");
  await search.press("Enter");
  await expect(page.getByTestId("list-empty")).toContainText("No emails match");
});
