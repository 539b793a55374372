import { readFileSync } from "node:fs";
import type { Page, Request } from "@playwright/test";
import { expectAccessible } from "./axe";
import { expect, expectSyncCompleted, screenshot, signIn, test } from "./fixtures";

/**
 * Reading mail in the browser: a hostile HTML body runs nothing and loads nothing until remote
 * images are allowed, a text-only message shows as text, attachments download, and the views
 * pass axe, work from the keyboard and fit a phone.
 */

const READER = "e2e-reader@example.com";
const PIXEL = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=",
  "base64",
);

/** An RFC 822 message as Gmail's messages.insert takes it (base64url). */
function raw(
  subject: string,
  parts: { text?: string; html?: string; attachment?: { name: string; data: Buffer } },
) {
  const lines = [
    "From: Mallory Sender <mallory@example.net>",
    `To: ${READER}`,
    `Subject: ${subject}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${subject.replace(/\W+/g, ".")}.${Date.now()}@example.net>`,
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="mixed"',
    "",
    "--mixed",
    'Content-Type: multipart/alternative; boundary="alt"',
    "",
  ];
  if (parts.text !== undefined)
    lines.push("--alt", "Content-Type: text/plain; charset=UTF-8", "", parts.text);
  if (parts.html !== undefined) lines.push("--alt", "Content-Type: text/html; charset=UTF-8", "", parts.html);
  lines.push("--alt--");
  if (parts.attachment) {
    lines.push(
      "--mixed",
      `Content-Type: text/csv; name="${parts.attachment.name}"`,
      `Content-Disposition: attachment; filename="${parts.attachment.name}"`,
      "Content-Transfer-Encoding: base64",
      "",
      ...(parts.attachment.data.toString("base64").match(/.{1,76}/g) ?? []),
    );
  }
  lines.push("--mixed--", "");
  return Buffer.from(lines.join("\r\n")).toString("base64url");
}

/** What a script or handler in the message would do if it ran: requests we can see. */
const HOSTILE_HTML = [
  "<div>",
  "<h1>Your invoice is ready</h1>",
  "<p>Hello reader, the numbers are below.</p>",
  `<script>document.body.setAttribute("data-pwned", "script"); new Image().src = "https://evil.example.net/script";</script>`,
  `<img src="x" alt="" onerror="document.body.setAttribute('data-pwned', 'onerror'); new Image().src = 'https://evil.example.net/onerror'">`,
  `<p><img src="https://images.example.net/banner.png" alt="Company banner" width="600" height="120"></p>`,
  `<p><a href="https://example.org/pay">Pay the invoice</a></p>`,
  "</div>",
].join("\n");

async function sendMail(sim: { call: (m: string, p: string, b?: unknown) => Promise<any> }, message: string) {
  const { ids } = await sim.call("POST", `/sim/accounts/${encodeURIComponent(READER)}/messages`, {
    raw: message,
  });
  return ids[0] as string;
}

const openItem = async (page: Page, id: string) => {
  const item = page.locator(`[data-testid="email-item"][data-id="${id}"]`);
  await expect(item).toBeVisible();
  await item.click();
  await expect(page.getByTestId("email-detail")).toBeVisible();
};

test("a hostile HTML message runs no script and loads nothing remote until images are allowed; text, attachments, keyboard, axe", async ({
  page,
  stack,
  sim,
}) => {
  await sim.resetAccount(READER, 12);
  const hostile = await sendMail(
    sim,
    raw("Invoice with a banner", { text: "Hello reader (text part).", html: HOSTILE_HTML }),
  );
  const textOnly = await sendMail(
    sim,
    raw("Plain words only", {
      text: "Line one.\n<b>not bold</b> & <script>not a script</script>\nLine three.",
    }),
  );
  const csv = Buffer.from("date,item,amount\n2025-11-01,coffee,3.50\n", "utf8");
  const withFile = await sendMail(
    sim,
    raw("Your statement", {
      text: "Attached.",
      html: "<p>Attached.</p>",
      attachment: { name: "statement.csv", data: csv },
    }),
  );

  // Every request the page (and its frames) makes; remote hosts answered here, never fetched.
  const remote: string[] = [];
  page.on("request", (req: Request) => {
    const host = new URL(req.url()).hostname;
    if (host.endsWith("example.net") || host.endsWith("example.org")) remote.push(req.url());
  });
  await page.route(/^https:\/\/(images|evil)\.example\.net\//, (route) =>
    route.fulfill({ status: 200, contentType: "image/png", body: PIXEL }),
  );

  await signIn(page, stack.webA, READER);
  await page.getByTestId("fetch-button").click();
  await expectSyncCompleted(page, 15);

  // ---- the hostile message ----
  await openItem(page, hostile);
  await expect(page.getByTestId("detail-subject")).toHaveText("Invoice with a banner");
  const mail = page.frameLocator('[data-testid="mail-frame"]');
  await expect(mail.getByRole("heading", { name: "Your invoice is ready" })).toBeVisible();
  await expect(mail.getByText("Hello reader, the numbers are below.")).toBeVisible();
  const frame = page.getByTestId("mail-frame");
  // Never allow-scripts (with allow-same-origin, which the mail's CSS needs, it would be no sandbox).
  await expect(frame).toHaveAttribute(
    "sandbox",
    "allow-same-origin allow-popups allow-popups-to-escape-sandbox",
  );
  // The frame's document: no script, no handler, no remote source made it in.
  const srcdoc = (await frame.getAttribute("srcdoc")) ?? "";
  expect(srcdoc).not.toMatch(/<script|onerror|images\.example\.net/i);
  expect(srcdoc).toContain("img-src data: cid:;");
  await expect(mail.locator("body")).not.toHaveAttribute("data-pwned", /.*/);
  await expect(mail.getByRole("link", { name: "Pay the invoice" })).toHaveAttribute("target", "_blank");
  await expect(page.getByTestId("remote-bar")).toContainText("Remote images are blocked");
  expect(remote).toEqual([]);
  await screenshot(page, "reading-blocked");
  await expectAccessible(page, "detail view, remote images blocked");

  // Keyboard: Tab reaches "Show remote images"; Enter allows https images, and only those load.
  const allow = page.getByTestId("show-remote-images");
  await allow.focus();
  const banner = page.waitForRequest("https://images.example.net/banner.png");
  await page.keyboard.press("Enter");
  await banner;
  await expect(mail.getByRole("img", { name: "Company banner" })).toBeVisible();
  await expect(page.getByTestId("remote-bar")).toContainText("Remote images are shown");
  await expect(mail.locator("body")).not.toHaveAttribute("data-pwned", /.*/);
  expect(remote).toEqual(["https://images.example.net/banner.png"]);
  await screenshot(page, "reading-images-shown");
  await expectAccessible(page, "detail view, remote images shown");

  // Escape goes back to the list, focus on the message it came from.
  await page.keyboard.press("Escape");
  const hostileItem = page.locator(`[data-testid="email-item"][data-id="${hostile}"]`);
  await expect(hostileItem).toBeFocused();

  // ---- text only: shown as text, never as markup ----
  await openItem(page, textOnly);
  const text = page.getByTestId("mail-text");
  await expect(text).toContainText("<b>not bold</b> & <script>not a script</script>");
  await expect(page.getByTestId("mail-frame")).toHaveCount(0);
  await expect(text.locator("b")).toHaveCount(0);
  await page.getByTestId("back").click();

  // ---- an attachment: listed with name, type and size; the link downloads its bytes ----
  await openItem(page, withFile);
  const link = page.getByTestId("attachment");
  await expect(link).toContainText("statement.csv");
  await expect(link).toContainText(`text/csv, ${csv.length} bytes`);
  const downloading = page.waitForEvent("download");
  await link.focus();
  await page.keyboard.press("Enter");
  const download = await downloading;
  expect(download.suggestedFilename()).toBe("statement.csv");
  expect(readFileSync((await download.path())!)).toEqual(csv);
  await expectAccessible(page, "detail view with an attachment");

  // ---- at phone width the detail fits, and still passes axe ----
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByTestId("back").click();
  await openItem(page, hostile);
  await expect(mail.getByText("Hello reader, the numbers are below.")).toBeVisible();
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await screenshot(page, "reading-phone");
  await expectAccessible(page, "detail view at 390 px");
  expect(remote.filter((u) => u.includes("evil"))).toEqual([]);
});

/** A newsletter's own CSS: a <style> block (with an import and a tracking background) and inline styles. */
const STYLED_HTML = [
  "<html><head><style>@import url(https://evil.example.net/import.css); .lead { font-weight: 700 }",
  ".tracker { background-image: url(https://images.example.net/css-bg.png) }</style></head><body>",
  '<p class="lead" style="color: rgb(200, 0, 0)">Big news inside</p>',
  '<div class="tracker">Tracked block</div>',
  '<div style="padding: 7px; background-image: url(https://images.example.net/inline-bg.png)">Padded block</div>',
  "</body></html>",
].join("\n");

test("a message's own CSS applies, inline and from <style>, with no import and no remote image until allowed", async ({
  page,
  stack,
  sim,
}) => {
  const email = "e2e-styled@example.com";
  await sim.resetAccount(email, 3);
  const { ids } = await sim.call("POST", `/sim/accounts/${encodeURIComponent(email)}/messages`, {
    raw: raw("Styled newsletter", { text: "Big news (text part).", html: STYLED_HTML }),
  });
  const remote: string[] = [];
  page.on("request", (req: Request) => {
    if (/example\.(net|org)$/.test(new URL(req.url()).hostname)) remote.push(req.url());
  });
  await page.route(/^https:\/\/(images|evil)\.example\.net\//, (route) =>
    route.fulfill({ status: 200, contentType: "image/png", body: PIXEL }),
  );
  await signIn(page, stack.webA, email);
  await page.getByTestId("fetch-button").click();
  await expectSyncCompleted(page, 4);
  await openItem(page, ids[0]);

  const mail = page.frameLocator('[data-testid="mail-frame"]');
  const lead = mail.getByText("Big news inside");
  await expect(lead).toHaveCSS("color", "rgb(200, 0, 0)");
  await expect(lead).toHaveCSS("font-weight", "700");
  await expect(mail.getByText("Padded block")).toHaveCSS("padding-top", "7px");
  await expect(mail.getByText("Padded block")).toHaveCSS("background-image", "none");
  await expect(mail.getByText("Tracked block")).toHaveCSS("background-image", "none");
  expect(remote).toEqual([]);
  await expectAccessible(page, "detail view of a styled message");

  // Allowing remote images lets the CSS backgrounds load too; the import never does.
  const backgrounds = Promise.all([
    page.waitForRequest("https://images.example.net/css-bg.png"),
    page.waitForRequest("https://images.example.net/inline-bg.png"),
  ]);
  await page.getByTestId("show-remote-images").click();
  await backgrounds;
  await expect(mail.getByText("Big news inside")).toHaveCSS("color", "rgb(200, 0, 0)");
  expect(remote.filter((u) => u.includes("evil"))).toEqual([]);
});

test("the list filters by label, groups conversations, and the search box says its syntax", async ({
  page,
  stack,
  sim,
}) => {
  const email = "e2e-labels@example.com";
  // 50: one page, so the conversation view groups every message and nothing loads behind it.
  await sim.resetAccount(email, 50);
  const listing = await sim.messages(email);
  await signIn(page, stack.webA, email);
  await page.getByTestId("fetch-button").click();
  await expectSyncCompleted(page, 50);

  await expect(page.getByTestId("search-hint")).toContainText('"exact phrase"');
  await expect(page.getByTestId("search")).toHaveAttribute("aria-describedby", "search-hint");

  // The label filter is filled from /api/labels; choosing Receipts lists exactly those messages.
  const filter = page.getByTestId("label-filter");
  await expect(filter.locator("option", { hasText: "Receipts" })).toHaveCount(1);
  await filter.selectOption({ label: "Receipts" });
  const receipts = listing.filter((m) => m.labelIds.includes("Label_1")).map((m) => m.id);
  await expect(page.getByTestId("email-item")).toHaveCount(receipts.length);
  await expect(page.getByTestId("list-count")).toContainText("labelled Receipts");
  await expectAccessible(page, "list filtered by a label");
  await filter.selectOption("");

  // Conversation view: one row per thread, with its message count.
  await page.getByTestId("thread-toggle").check();
  const threads = new Map<string, number>();
  for (const m of listing) threads.set(m.threadId, (threads.get(m.threadId) ?? 0) + 1);
  await expect(page.getByTestId("email-item")).toHaveCount(threads.size);
  const multi = [...threads.values()].filter((n) => n > 1).length;
  expect(multi).toBeGreaterThan(0);
  await expect(page.getByTestId("thread-count")).toHaveCount(multi);
  await screenshot(page, "list-conversations");
  await expectAccessible(page, "conversation view");

  // A thread's row opens its newest message, whose detail lists the conversation.
  const row = page.getByTestId("thread-count").first().locator("xpath=..");
  await row.click();
  await expect(page.getByTestId("thread")).toContainText("Conversation (");
  await expectAccessible(page, "detail with its conversation");

  // Another message of the conversation opens from there; Escape comes back to the thread's row.
  const other = page.getByTestId("thread-item").first();
  await other.click();
  // Its own conversation list marks it as the one shown.
  await expect(page.getByTestId("thread").locator('[aria-current="true"]')).toHaveCount(1);
  await expect(page.getByTestId("detail-subject")).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(row).toBeFocused();
});

/** An HTML message whose logo is an inline part (multipart/related), named by `cid:` in the HTML. */
function relatedRaw(to: string, subject: string, html: string, contentId: string, image: Buffer) {
  const lines = [
    "From: Newsletter <news@example.net>",
    `To: ${to}`,
    `Subject: ${subject}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${Date.now()}.related@example.net>`,
    "MIME-Version: 1.0",
    'Content-Type: multipart/related; boundary="rel"',
    "",
    "--rel",
    "Content-Type: text/html; charset=UTF-8",
    "",
    html,
    "--rel",
    'Content-Type: image/png; name="logo.png"',
    'Content-Disposition: inline; filename="logo.png"',
    `Content-ID: <${contentId}>`,
    "Content-Transfer-Encoding: base64",
    "",
    image.toString("base64"),
    "--rel--",
    "",
  ];
  return Buffer.from(lines.join("\r\n")).toString("base64url");
}

test("an inline (cid:) image shows from the message's own part, loads nothing remote, and is not listed again", async ({
  page,
  stack,
  sim,
}) => {
  const email = "e2e-inline@example.com";
  await sim.resetAccount(email, 2);
  const html =
    '<p>Our logo:</p><p><img src="cid:logo.png@01DA1B2C" alt="Company logo" width="40" height="40"></p>' +
    '<p><img src="cid:missing@01DA1B2C" alt="A part the message does not have"></p>';
  const { ids } = await sim.call("POST", `/sim/accounts/${encodeURIComponent(email)}/messages`, {
    raw: relatedRaw(email, "Inline logo", html, "logo.png@01DA1B2C", PIXEL),
  });
  await signIn(page, stack.webA, email);
  await page.getByTestId("fetch-button").click();
  await expectSyncCompleted(page, 3);
  // From here on (sign-in itself goes to the simulator's OAuth page).
  const outside: string[] = [];
  const parts: string[] = [];
  page.on("request", (req: Request) => {
    const url = new URL(req.url());
    if (url.origin !== new URL(stack.webA).origin) outside.push(req.url());
    else if (url.pathname.includes("/attachments/")) parts.push(url.pathname);
  });
  await openItem(page, ids[0]);

  const logo = page.frameLocator('[data-testid="mail-frame"]').getByAltText("Company logo");
  await expect(logo).toBeVisible();
  // Decoded from the part's bytes: the simulator's 1×1 PNG, served by our attachment download.
  await expect.poll(() => logo.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(1);
  expect(parts).toEqual([expect.stringMatching(new RegExp(`^/api/emails/${ids[0]}/attachments/[^/]+$`))]);
  // The part the HTML names but the message lacks loads nothing; no remote bar, nothing outside.
  const missing = page
    .frameLocator('[data-testid="mail-frame"]')
    .getByAltText("A part the message does not have");
  expect(await missing.getAttribute("src")).toBeNull();
  await expect(page.getByTestId("remote-bar")).toHaveCount(0);
  expect(outside).toEqual([]);
  // Shown in the body, so not listed among the attachments.
  await expect(page.getByTestId("attachment")).toHaveCount(0);
  await expectAccessible(page, "detail view with an inline image");
});
