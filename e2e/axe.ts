import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";

/** The WCAG 2.1 success criteria of levels A and AA, as axe-core tags its rules. */
export const WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/**
 * Runs axe-core on what the page shows now (hidden parts are not checked, so call it in every
 * state worth checking: a menu open, a dialog up) and fails with each violation's rule and nodes.
 */
export async function expectAccessible(page: Page, state: string): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).withTags(WCAG_21_AA).analyze();
  const found = violations.map((v) => ({
    rule: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => n.target.join(" ")),
  }));
  expect(found, `axe-core WCAG 2.1 A/AA violations (${state})`).toEqual([]);
}
