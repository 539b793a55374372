import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test as base, expect, type Page } from "@playwright/test";
import { SimControl } from "../test/SimControl";
import { readStackInfo, type StackInfo } from "./stackInfo";

export { expect };

const SCREENSHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));

export const test = base.extend<{ stack: StackInfo; sim: SimControl; noPageErrors: undefined }>({
  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads fixture dependencies from the pattern
  stack: async ({}, use) => {
    await use(readStackInfo());
  },
  baseURL: async ({ stack }, use) => {
    await use(stack.webA);
  },
  sim: async ({ stack }, use) => {
    const sim = new SimControl(stack.simUrl);
    await use(sim);
    await sim.clearFaults().catch(() => {});
  },
  // Every page of every spec: an uncaught exception in the app fails the test.
  noPageErrors: [
    async ({ context }, use) => {
      const errors: string[] = [];
      const watch = (page: Page) =>
        page.on("pageerror", (err) => errors.push(`${page.url()}: ${err.message}`));
      context.pages().forEach(watch);
      context.on("page", watch);
      await use(undefined);
      expect(errors, "uncaught errors in the page").toEqual([]);
    },
    { auto: true },
  ],
});

/** Signs in through the real OAuth redirects; with `chooser`, by clicking the account on the simulator's page. */
export async function signIn(
  page: Page,
  base: string,
  email: string,
  options: { chooser?: boolean; chooserScreenshot?: string } = {},
) {
  if (options.chooser) {
    await page.goto(`${base}/`);
    await page.getByTestId("signin").click();
    const account = page.locator(`a.account[data-email="${email}"]`);
    await expect(account).toBeVisible();
    if (options.chooserScreenshot) await screenshot(page, options.chooserScreenshot);
    await account.click();
  } else {
    await page.goto(`${base}/auth/google?login_hint=${encodeURIComponent(email)}`);
  }
  await page.waitForURL(`${base}/`);
  await expect(page.getByTestId("user-email")).toHaveText(email);
}

export const progressBar = (page: Page) => page.getByTestId("progress");

export async function progressValue(page: Page): Promise<number> {
  return Number(await progressBar(page).getAttribute("aria-valuenow"));
}

/** Waits for the followed task to complete and its result line to show. */
export async function expectSyncCompleted(page: Page, added: number, timeout = 45_000) {
  await expect(page.getByTestId("progress-state")).toHaveText("Completed", { timeout });
  await expect(progressBar(page)).toHaveAttribute("aria-valuenow", "100");
  await expect(page.getByTestId("sync-result")).toContainText(`Added ${added.toLocaleString("en-US")}`);
}

/** Gmail ids of the list items, in page order. */
export function listedIds(page: Page): Promise<string[]> {
  return page
    .getByTestId("email-item")
    .evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.id ?? ""));
}

/** Every stored email of the signed-in user, through the API (the page's cookies). */
export async function storedEmails(page: Page, base: string) {
  const all: { id: string; to: string; subject: string }[] = [];
  let cursor = "";
  for (let i = 0; i < 100; i++) {
    const res = await page.request.get(
      `${base}/api/emails?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    expect(res.status()).toBe(200);
    const body = (await res.json()) as {
      emails: { id: string; to: string; subject: string }[];
      nextCursor: string | null;
    };
    all.push(...body.emails);
    if (!body.nextCursor) break;
    cursor = body.nextCursor;
  }
  return all;
}

export async function emailCount(page: Page, base: string): Promise<number> {
  const res = await page.request.get(`${base}/api/me`);
  expect(res.status()).toBe(200);
  return ((await res.json()) as { emailCount: number }).emailCount;
}

export interface ProgressRecord {
  value: number;
  state: string;
  items: number;
}

/**
 * Records every aria-valuenow the bar takes and how many list items were shown at that moment
 * (a MutationObserver in the page, so no value is missed between two polls of the test).
 * Works via page.evaluate or addInitScript (it waits for the DOM when needed).
 */
export function installProgressRecorder(): void {
  const w = window as unknown as { __e2eProgress?: ProgressRecord[] };
  if (w.__e2eProgress) return;
  w.__e2eProgress = [];
  const start = () => {
    const bar = document.querySelector('[data-testid="progress"]');
    const list = document.querySelector('[data-testid="email-list"]');
    if (!bar || !list) return;
    const record = () =>
      w.__e2eProgress?.push({
        value: Number(bar.getAttribute("aria-valuenow")),
        state: document.querySelector('[data-testid="progress-state"]')?.textContent ?? "",
        items: list.querySelectorAll('[data-testid="email-item"]').length,
      });
    new MutationObserver(record).observe(bar, { attributes: true, attributeFilter: ["aria-valuenow"] });
    new MutationObserver(record).observe(list, { childList: true });
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
  else start();
}

export function progressRecords(page: Page): Promise<ProgressRecord[]> {
  return page.evaluate(() => (window as unknown as { __e2eProgress?: ProgressRecord[] }).__e2eProgress ?? []);
}

/** Values the bar showed, in order, each at least the one before. */
export function expectNeverBackwards(values: number[]) {
  for (let i = 1; i < values.length; i++) {
    expect(
      values[i],
      `bar went from ${values[i - 1]} to ${values[i]} (all: ${values.join(",")})`,
    ).toBeGreaterThanOrEqual(values[i - 1]!);
  }
}

export async function screenshot(page: Page, name: string) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, animations: "disabled" });
}

/** Counts the requests of a page whose path matches, from now on. */
export function countRequests(page: Page, pattern: RegExp): { readonly count: number } {
  const counter = { count: 0 };
  page.on("request", (req) => {
    if (pattern.test(new URL(req.url()).pathname)) counter.count += 1;
  });
  return counter;
}
