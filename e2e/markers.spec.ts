import type { Locator, Page } from "@playwright/test";
import { expectAccessible } from "./axe";
import { expect, expectSyncCompleted, screenshot, signIn, test } from "./fixtures";

/**
 * The list marks the rows of mail with attachments (a paperclip with words a screen reader
 * says, none for an image the HTML shows inline), and a search marks its words with `<mark>` in
 * the result rows and in the message opened from them: its text body, and its HTML body inside
 * the sandboxed frame. Axe passes on both views, at desktop and at phone width.
 */

const READER = "e2e-markers@example.com";
const WORD = "quokka";
const PIXEL = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=",
  "base64",
);

interface Part {
  type: string;
  body: string | Buffer;
  filename?: string;
  contentId?: string;
}

/** An RFC 822 message as Gmail's messages.insert takes it (base64url): one part, or multipart. */
function raw(subject: string, parts: Part[], kind = "mixed"): string {
  const head = [
    "From: Quentin Sender <quentin@example.net>",
    `To: ${READER}`,
    `Subject: ${subject}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${subject.replace(/\W+/g, ".")}.${Date.now()}@example.net>`,
    "MIME-Version: 1.0",
  ];
  const partLines = (p: Part) => {
    const lines = [`Content-Type: ${p.type}${p.filename ? `; name="${p.filename}"` : "; charset=UTF-8"}`];
    if (p.contentId) lines.push(`Content-ID: <${p.contentId}>`, "Content-Disposition: inline");
    else if (p.filename) lines.push(`Content-Disposition: attachment; filename="${p.filename}"`);
    if (Buffer.isBuffer(p.body))
      lines.push(
        "Content-Transfer-Encoding: base64",
        "",
        ...(p.body.toString("base64").match(/.{1,76}/g) ?? []),
      );
    else lines.push("", p.body);
    return lines;
  };
  const lines =
    parts.length === 1
      ? [...head, ...partLines(parts[0]!)]
      : [
          ...head,
          `Content-Type: multipart/${kind}; boundary="b"`,
          "",
          ...parts.flatMap((p) => ["--b", ...partLines(p)]),
          "--b--",
        ];
  return Buffer.from([...lines, ""].join("\r\n")).toString("base64url");
}

const text = (body: string): Part => ({ type: "text/plain", body });
const html = (body: string): Part => ({ type: "text/html", body });
const file = (filename: string, body: string): Part => ({
  type: "text/csv",
  body: Buffer.from(body),
  filename,
});

const row = (page: Page, id: string): Locator => page.locator(`[data-testid="email-item"][data-id="${id}"]`);

test("rows with attachments carry a named marker, and a search's words are marked in the list and in the message", async ({
  page,
  stack,
  sim,
}) => {
  await sim.resetAccount(READER, 0);
  const send = async (message: string) =>
    (
      (await sim.call("POST", `/sim/accounts/${encodeURIComponent(READER)}/messages`, { raw: message })) as {
        ids: string[];
      }
    ).ids[0]!;
  const plain = await send(raw(`Plain note about the ${WORD}`, [text(`A ${WORD} was seen near the lake.`)]));
  const oneFile = await send(
    raw(`The ${WORD} census`, [
      html(
        // The word also stands where a mark must never go: a style sheet, an attribute, SVG text.
        `<style>.${WORD} { color: #333; }</style><h1>Census</h1>` +
          `<p title="${WORD}">Every <b>${WORD}</b> counted, <a href="https://example.org/${WORD}">details</a>.</p>` +
          `<svg width="80" height="20"><text x="0" y="15">${WORD}</text></svg>`,
      ),
      file("census.csv", "island,count\nRottnest,12000\n"),
    ]),
  );
  const twoFiles = await send(
    raw("Two spreadsheets", [text("Both files attached."), file("a.csv", "a\n1\n"), file("b.csv", "b\n2\n")]),
  );
  // An image the HTML shows inline is part of the body, not a file: no marker (as in Gmail).
  const inline = await send(
    raw(
      "Logo only",
      [
        html('<p>Our logo:</p><img src="cid:logo@example.net" alt="logo">'),
        { type: "image/png", body: PIXEL, filename: "logo.png", contentId: "logo@example.net" },
      ],
      "related",
    ),
  );
  const none = await send(raw("Nothing attached", [text("Just words.")]));

  await signIn(page, stack.webA, READER);
  await page.getByTestId("fetch-button").click();
  await expectSyncCompleted(page, 5);

  // The marker: on exactly the rows with files, named in words that are part of the row's name.
  for (const id of [plain, inline, none])
    await expect(row(page, id).getByTestId("attachment-marker")).toHaveCount(0);
  await expect(row(page, oneFile).getByTestId("attachment-marker")).toHaveText("1 attachment,");
  await expect(row(page, oneFile)).toHaveAccessibleName(/1 attachment/);
  await expect(row(page, twoFiles).getByTestId("attachment-marker")).toHaveText("2 attachments,");
  await expect(row(page, twoFiles)).toHaveAccessibleName(/2 attachments/);
  // A shape, not a colour: the paperclip is drawn and shown.
  await expect(row(page, twoFiles).locator(".attachment-marker svg")).toBeVisible();
  await expectAccessible(page, "list with attachment markers");

  // The search: its word marked in each result row, and in nothing else.
  const search = page.getByTestId("search");
  await search.fill(WORD.toUpperCase());
  await search.press("Enter");
  await expect(page).toHaveURL(/\/search\?q=QUOKKA$/);
  await expect(page.getByTestId("email-item")).toHaveCount(2);
  for (const id of [plain, oneFile]) {
    const marks = row(page, id).locator("mark");
    await expect(marks.first()).toBeVisible();
    for (const mark of await marks.allTextContents()) expect(mark.toLowerCase()).toBe(WORD);
  }
  await expect(row(page, plain).locator(".email-subject mark")).toHaveText(WORD);
  await expect(row(page, plain).locator(".email-snippet mark")).toHaveText(WORD);
  await expectAccessible(page, "search results with marks");
  await screenshot(page, "search-marks");

  // The HTML message opened from the search: the word marked in the frame's text, as an
  // element of its own; the link keeps its address, and the frame stays script-free.
  await row(page, oneFile).click();
  await expect(page).toHaveURL(new RegExp(`/mail/${oneFile}\\?q=QUOKKA$`));
  await expect(page.getByTestId("detail-subject").locator("mark")).toHaveText(WORD);
  const mail = page.frameLocator('[data-testid="mail-frame"]');
  await expect(mail.locator("b > mark")).toHaveText(WORD);
  await expect(mail.locator("mark")).toHaveCount(1);
  await expect(mail.locator("a")).toHaveAttribute("href", `https://example.org/${WORD}`);
  await expect(mail.locator("p[title]")).toHaveAttribute("title", WORD);
  await expect(mail.locator("svg text")).toHaveText(WORD);
  await expect(mail.locator("svg mark")).toHaveCount(0);
  await expect(page.getByTestId("mail-frame")).not.toHaveAttribute("sandbox", /allow-scripts/);
  // The mark reads dark on pale yellow in the frame too, whatever the mail's own colours.
  const colours = await mail
    .locator("mark")
    .evaluate((m) => [getComputedStyle(m).backgroundColor, getComputedStyle(m).color]);
  expect(colours).toEqual(["rgb(255, 241, 168)", "rgb(28, 34, 51)"]);
  await expectAccessible(page, "HTML message opened from a search");
  // A reload keeps the search's marks: the address carries it.
  await page.reload();
  await expect(mail.locator("b > mark")).toHaveText(WORD);

  // The text message: the word marked in the body.
  await page.goBack();
  await expect(row(page, plain)).toBeVisible();
  await row(page, plain).click();
  await expect(page.getByTestId("mail-text").locator("mark")).toHaveText(WORD);
  await expectAccessible(page, "text message opened from a search");

  // Opened from the plain list, a message marks nothing.
  await page.goto(`/mail/${plain}`);
  await expect(page.getByTestId("mail-text")).toContainText(WORD);
  await expect(page.locator("#detail-view mark")).toHaveCount(0);

  // At phone width: the marker stays inside its row, marks show, and both views pass axe.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`/search?q=${WORD}`);
  await expect(row(page, oneFile).locator("mark").first()).toBeVisible();
  await expectAccessible(page, "search results at 390 px");
  await page.goto("/mail");
  const marker = row(page, twoFiles).getByTestId("attachment-marker");
  await expect(marker).toBeVisible();
  const [box, rowBox] = [await marker.boundingBox(), await row(page, twoFiles).boundingBox()];
  expect(box!.x + box!.width).toBeLessThanOrEqual(rowBox!.x + rowBox!.width);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await expectAccessible(page, "list with markers at 390 px");
  await page.goto(`/mail/${oneFile}?q=${WORD}`);
  await expect(mail.locator("mark")).toHaveText(WORD);
  await expectAccessible(page, "message with marks at 390 px");
});
