import { expect, expectSyncCompleted, signIn, test } from "./fixtures";
import { htmlMessage } from "./htmlMessage";

/**
 * The reading view fits its mail: the frame takes the height of the message it shows (a short
 * mail leaves no empty box, a long one is shown whole without a scrollbar of its own), and a mail
 * with no type of its own reads in the app's sans font, not the browser's serif.
 */

const READER = "e2e-fit@example.com";

const raw = (subject: string, html: string) =>
  htmlMessage("Fiona Sender <fiona@example.net>", READER, subject, html);

test("the mail frame is as tall as a short and a long mail, and plain mail reads in a sans font", async ({
  page,
  stack,
  sim,
}) => {
  await sim.resetAccount(READER, 3);
  const send = async (subject: string, html: string) =>
    (
      (await sim.call("POST", `/sim/accounts/${encodeURIComponent(READER)}/messages`, {
        raw: raw(subject, html),
      })) as { ids: string[] }
    ).ids[0]!;
  const short = await send("One line", "<p>Just one line.</p>");
  const paragraphs = Array.from({ length: 60 }, (_, i) => `<p>Paragraph ${i + 1} of a long letter.</p>`);
  const long = await send("A long letter", paragraphs.join(""));

  await signIn(page, stack.webA, READER);
  await page.getByTestId("fetch-button").click();
  await expectSyncCompleted(page, 5);

  const frameFits = async (id: string, text: string) => {
    await page.locator(`[data-testid="email-item"][data-id="${id}"]`).click();
    const mail = page.frameLocator('[data-testid="mail-frame"]');
    await expect(mail.getByText(text)).toBeVisible();
    const frame = page.getByTestId("mail-frame");
    // Its box follows its document: no empty space under a short mail, no inner scroll in a long one.
    await expect
      .poll(async () =>
        frame.evaluate((el) => {
          const doc = (el as HTMLIFrameElement).contentDocument!;
          const view = doc.defaultView!;
          const content = doc.documentElement.getBoundingClientRect().height;
          // 80 px is the least a frame takes (FRAME_MIN_HEIGHT), so a one-line mail stays easy to read.
          return (
            view.innerHeight - Math.max(80, content) <= 2 &&
            doc.documentElement.scrollHeight <= view.innerHeight
          );
        }),
      )
      .toBe(true);
    const font = await mail.locator("body").evaluate((body) => getComputedStyle(body).fontFamily);
    expect(font).toMatch(/sans-serif/);
    expect(font).not.toMatch(/^"?Times/);
    const height = (await frame.boundingBox())!.height;
    await page.goBack();
    return height;
  };

  const shortHeight = await frameFits(short, "Just one line.");
  const longHeight = await frameFits(long, "Paragraph 60 of a long letter.");
  expect(shortHeight).toBeLessThan(160);
  expect(longHeight).toBeGreaterThan(1_500);
});
