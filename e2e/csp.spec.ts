import type { Page } from "@playwright/test";
import { expect, expectSyncCompleted, signIn, test } from "./fixtures";

const USER = "e2e-csp@example.com";
/** Named in ADMIN_EMAILS by globalSetup. */
const ADMIN = "e2e-admin@example.com";

/** Every Content-Security-Policy violation the page reports, from its first script on. */
async function recordViolations(page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(() => {
    const w = window as unknown as { __cspViolations?: string[] };
    w.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      w.__cspViolations?.push(`${e.effectiveDirective} ${e.blockedURI}`);
    });
  });
  const seen: string[] = [];
  // Reports from pages already gone (a redirect, a reload) survive in the console log.
  page.on("console", (m) => {
    if (m.text().includes("Content Security Policy")) seen.push(m.text());
  });
  return async () => [
    ...seen,
    ...(await page.evaluate(
      () => (window as unknown as { __cspViolations?: string[] }).__cspViolations ?? [],
    )),
  ];
}

test("the app runs under its strict CSP: sign-in, a live sync over a same-origin WebSocket and an email, with no violation", async ({
  page,
  stack,
  sim,
}) => {
  await sim.resetAccount(USER, 30);
  const violations = await recordViolations(page);
  const sockets: string[] = [];
  page.on("websocket", (ws) => sockets.push(ws.url()));

  const home = await page.goto("/");
  const policy = home?.headers()["content-security-policy"] ?? "";
  expect(policy).toContain("connect-src 'self'");
  expect(policy).toContain("style-src 'self'");
  expect(policy).not.toContain("unsafe-inline");

  await signIn(page, stack.webA, USER);
  await page.getByTestId("fetch-button").click();
  await expect(page.getByTestId("mode")).toHaveText("Live (WebSocket)");
  await expectSyncCompleted(page, 30);
  await page.getByTestId("email-item").first().click();
  await expect(page.getByTestId("email-detail")).toBeVisible();

  // The socket went to this very origin, over ws:, which 'self' allowed.
  const origin = new URL(stack.webA);
  expect(sockets.some((url) => url.startsWith(`ws://${origin.host}/socket.io/`))).toBe(true);
  expect(await violations()).toEqual([]);
});

test("Bull Board renders under its own CSP, and its writes pass the Origin check", async ({
  page,
  stack,
  sim,
}) => {
  await sim.resetAccount(ADMIN, 3);
  const violations = await recordViolations(page);
  await signIn(page, stack.webA, ADMIN);
  await page.getByTestId("fetch-button").click();
  await expectSyncCompleted(page, 3);

  await page.goto("/admin/queues/queue/email-sync?status=completed");
  await expect(page.getByRole("button", { name: "Clean all" })).toBeVisible();
  // The dashboard's own write: Chromium sends our Origin, which is what lets it through.
  await page.getByRole("button", { name: "Clean all" }).click();
  const cleaned = page.waitForResponse(
    (r) => r.request().method() === "PUT" && r.url().includes("/admin/queues/api/queues/email-sync/clean/"),
  );
  await page.getByRole("button", { name: "Confirm" }).click();
  expect((await cleaned).status()).toBe(200);

  // Only what the policy means to block: Bull Board's Google Fonts stylesheet.
  for (const violation of await violations()) expect(violation).toContain("fonts.googleapis.com");
});
