import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";

/** The WCAG 2.1 success criteria of levels A and AA, as axe-core tags its rules. */
export const WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/**
 * Runs axe-core on what the page shows now (hidden parts are not checked, so call it in every
 * state worth checking: a menu open, a dialog up) and fails with each violation's rule and nodes.
 */
export async function expectAccessible(page: Page, state: string): Promise<void> {
  // Not into frames: the only frame is a message's, sandboxed without scripts, so axe's run in
  // it never finishes (no timer of its fires there) and would stall the whole analysis; and it
  // holds the sender's markup, not ours. Legacy mode is the one that honours `iframes: false`
  // (the default mode asks every frame for partial results regardless). The frame element
  // itself (its title) is still checked.
  const { violations } = await new AxeBuilder({ page })
    .setLegacyMode()
    .options({ iframes: false })
    .withTags(WCAG_21_AA)
    .analyze();
  const found = violations.map((v) => ({
    rule: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => n.target.join(" ")),
  }));
  expect(found, `axe-core WCAG 2.1 A/AA violations (${state})`).toEqual([]);
}
