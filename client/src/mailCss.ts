import { judgeDeclaration } from "./cssRules";

/**
 * A mail's CSS cleaned through the CSSOM: the browser's own parser reads the sender's text into a
 * constructed stylesheet (`new CSSStyleSheet()` + `replaceSync`), which belongs to no document, so
 * nothing in it loads, no CSP governs it, and `@import` is ignored outright. The rules are then
 * walked: declarations judged one by one (cssRules.ts) on the values the browser hands back, and
 * the sheet serialised again by the browser. No pattern ever runs over the sender's text.
 */

/**
 * The most `<style>` text a mail may bring, all blocks together, in UTF-16 code units: blocks that
 * would pass it are left out, from the first that does. Generous for a newsletter (Gmail drops a
 * mail's styles at a fraction of it) and a bound on the work a hostile one can ask for.
 */
export const MAX_SHEET_CHARS = 256 * 1024;
/** The most one `style=""` attribute may hold; a longer one is left out whole. */
export const MAX_INLINE_STYLE_CHARS = 16 * 1024;

/** Rules kept, with their declarations judged; every other kind goes (`@font-face`, `@property`, …). */
const STYLED_RULES = new Set(["CSSStyleRule", "CSSPageRule", "CSSKeyframeRule", "CSSNestedDeclarations"]);
const GROUPING_RULES = new Set([
  "CSSMediaRule",
  "CSSSupportsRule",
  "CSSContainerRule",
  "CSSLayerBlockRule",
  "CSSStartingStyleRule",
  "CSSScopeRule",
  "CSSKeyframesRule",
]);
const KEPT_PLAIN = new Set(["CSSLayerStatementRule"]);

const LEAD_RULE = "x {}";

export interface CleanCss {
  css: string;
  /** Whether it asked for anything remote (a background, a list image…). */
  remote: boolean;
}

/** The `<style>` blocks of a mail as one cleaned stylesheet's text. */
export function cleanSheets(blocks: readonly string[], keepRemote: boolean): CleanCss {
  const kept: string[] = [];
  let size = 0;
  for (const block of blocks) {
    size += block.length;
    if (size > MAX_SHEET_CHARS) break;
    kept.push(block);
  }
  const state = { remote: false };
  try {
    const sheet = new CSSStyleSheet();
    // A rule first: every @import after it is out of place, so the parser drops it silently
    // (`replaceSync` would drop a well-placed one too, but with a console warning). Nothing later
    // in the text can change a rule already closed, so the first rule is this one.
    sheet.replaceSync(`${LEAD_RULE}\n${kept.join("\n")}`);
    sheet.deleteRule(0);
    cleanRules(sheet.cssRules, (i) => sheet.deleteRule(i), keepRemote, state);
    return { css: Array.from(sheet.cssRules, (rule) => rule.cssText).join("\n"), remote: state.remote };
  } catch {
    // A rule the CSSOM would not let go of: the mail shows without its <style> blocks.
    return { css: "", remote: state.remote };
  }
}

let scratch: CSSStyleDeclaration | null = null;

/** One `style=""` attribute, cleaned: its declarations as the CSSOM reads them, judged. */
export function cleanInlineStyle(text: string, keepRemote: boolean): CleanCss {
  if (text.length > MAX_INLINE_STYLE_CHARS) return { css: "", remote: false };
  if (!scratch) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync("x {}");
    scratch = (sheet.cssRules[0] as CSSStyleRule).style;
  }
  // A declaration list only: a `}` in the text cannot close the rule and open another.
  scratch.cssText = text;
  const state = { remote: false };
  cleanDeclarations(scratch, keepRemote, state);
  return { css: scratch.cssText, remote: state.remote };
}

function cleanRules(
  rules: CSSRuleList,
  remove: (index: number) => void,
  keepRemote: boolean,
  state: { remote: boolean },
): void {
  for (let i = rules.length - 1; i >= 0; i--) {
    const rule = rules[i]!;
    const kind = rule.constructor.name;
    const styled = STYLED_RULES.has(kind);
    const grouping = GROUPING_RULES.has(kind) || (styled && "cssRules" in rule);
    if (!styled && !grouping && !KEPT_PLAIN.has(kind)) {
      remove(i);
      continue;
    }
    if (styled) cleanDeclarations((rule as CSSStyleRule).style, keepRemote, state);
    if (kind === "CSSKeyframesRule") {
      // Keyframes are removed by key, not index; a keyframe left empty is harmless.
      for (const frame of Array.from((rule as CSSKeyframesRule).cssRules)) {
        cleanDeclarations((frame as CSSKeyframeRule).style, keepRemote, state);
      }
    } else if (grouping) {
      const group = rule as CSSGroupingRule;
      cleanRules(group.cssRules, (index) => group.deleteRule(index), keepRemote, state);
    }
  }
}

/**
 * Rebuilds a declaration block from what judgeDeclaration keeps. A longhand whose value reads
 * empty was set by a shorthand holding `var()`, which the CSSOM will not split: it goes.
 */
function cleanDeclarations(
  style: CSSStyleDeclaration,
  keepRemote: boolean,
  state: { remote: boolean },
): void {
  const kept: string[] = [];
  let changed = false;
  for (let i = 0; i < style.length; i++) {
    const name = style.item(i);
    const value = style.getPropertyValue(name);
    const judged = judgeDeclaration(name, value, keepRemote);
    state.remote ||= judged.remote;
    if (judged.value === null) {
      changed = true;
      continue;
    }
    if (judged.value !== value) changed = true;
    const important = style.getPropertyPriority(name) ? " !important" : "";
    kept.push(`${name}: ${judged.value}${important}`);
  }
  if (changed) style.cssText = kept.join("; ");
}
