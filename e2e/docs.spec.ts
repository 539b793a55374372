import type { Page } from "@playwright/test";
import { expectAccessible } from "./axe";
import { expect, test } from "./fixtures";

/** Every Content-Security-Policy violation the page reports, from its first script on. */
async function recordViolations(page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(() => {
    const w = window as unknown as { __cspViolations?: string[] };
    w.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      w.__cspViolations?.push(`${e.effectiveDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  const seen: string[] = [];
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

const heading = (page: Page) => page.getByRole("heading", { name: "inbox-sync", level: 1 });

test("the API reference at /api/docs renders the OpenAPI document under its CSP, with no violation", async ({
  page,
  stack,
}) => {
  const violations = await recordViolations(page);
  const origin = new URL(stack.webA).origin;
  const external: string[] = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith("data:")) external.push(r.url());
  });

  const answer = await page.goto("/api/docs");
  const policy = answer?.headers()["content-security-policy"] ?? "";
  // Scripts stay our own: no inline script, no eval, no CDN; only styles are relaxed (docs/security.md).
  expect(policy).toContain("script-src 'self';");
  expect(policy).not.toContain("unsafe-eval");
  expect(policy).toContain("style-src 'self' 'unsafe-inline'");
  expect(policy).toContain("connect-src 'self'");

  await expect(heading(page)).toBeVisible();
  // The page shows what the routes' schemas declare: their tags and operation summaries.
  await expect(page.getByRole("heading", { name: "sign-in" }).first()).toBeVisible();
  await page.getByRole("link", { name: "emails", exact: true }).first().click();
  await expect(page.getByText("The user's stored emails, newest first").first()).toBeVisible();
  expect(await violations()).toEqual([]);
  expect(external).toEqual([]);
  await expectAccessible(page, "API reference");
});

test("the API reference works at phone width and passes axe-core there too", async ({ page }) => {
  const violations = await recordViolations(page);
  await page.setViewportSize({ width: 375, height: 740 });
  await page.goto("/api/docs");
  await expect(heading(page)).toBeVisible();
  expect(await violations()).toEqual([]);
  await expectAccessible(page, "API reference at 375 px");
});

test("the document the page reads is OpenAPI 3.1 and public", async ({ request }) => {
  const res = await request.get("/api/openapi.json");
  expect(res.status()).toBe(200);
  const doc = await res.json();
  expect(doc.openapi).toBe("3.1.0");
  expect(Object.keys(doc.paths)).toEqual(
    expect.arrayContaining(["/api/emails", "/api/emails/sync/status/{taskId}"]),
  );
});

test("the reference names the app's address as its server, samples a bearer token, and links home", async ({
  page,
  request,
  stack,
}) => {
  const origin = new URL(stack.webA).origin;
  const doc = await (await request.get("/api/openapi.json")).json();
  expect(doc.servers).toEqual([{ url: origin, description: "This inbox-sync" }]);

  await page.goto("/api/docs");
  await expect(heading(page)).toBeVisible();
  await expect(page.getByRole("link", { name: "Back to the inbox-sync app" })).toHaveAttribute("href", "/");
  await page.getByRole("link", { name: "emails", exact: true }).first().click();
  // The request sample a reader copies: the full address and a token, not a relative URL and a cookie.
  const sample = page.locator("code", { hasText: `curl '${origin}/api/emails/{id}'` }).first();
  await expect(sample).toContainText("--header 'Authorization: Bearer isk_YOUR_TOKEN'");
  await expect(sample).not.toContainText("isid=");
});
