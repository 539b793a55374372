import { matchRanges, type SearchTerms } from "./searchTerms";

/**
 * Search matches shown as `<mark>` elements, built as DOM nodes: the matched text stays a text
 * node inside its mark, so nothing of a mail is ever read as markup.
 */

const HTML_NS = "http://www.w3.org/1999/xhtml";
/** Elements whose text is not shown as text, or where a `<mark>` child would not render. */
const SKIP = new Set(["script", "style", "noscript", "template", "textarea", "title", "option", "select"]);

/**
 * `text` as nodes of `doc`: plain text nodes with each match of `terms` in a `<mark>`, which
 * `decorate` may dress (the mail frame gives it its own style).
 */
export function markedNodes(
  doc: Document,
  text: string,
  terms: SearchTerms,
  decorate?: (mark: HTMLElement) => void,
): Node[] {
  const nodes: Node[] = [];
  let at = 0;
  for (const [start, end] of matchRanges(text, terms)) {
    if (start > at) nodes.push(doc.createTextNode(text.slice(at, start)));
    const mark = doc.createElement("mark");
    mark.textContent = text.slice(start, end);
    decorate?.(mark);
    nodes.push(mark);
    at = end;
  }
  if (at < text.length || nodes.length === 0) nodes.push(doc.createTextNode(text.slice(at)));
  return nodes;
}

/**
 * Marks the matches of `terms` in the text nodes under `root` (HTML elements only: not in SVG or
 * MathML, whose text a `<mark>` would break, nor in scripts, styles or form controls). Answers how
 * many marks it made.
 */
export function highlightTree(
  root: Element,
  terms: SearchTerms,
  decorate?: (mark: HTMLElement) => void,
): number {
  const doc = root.ownerDocument;
  const walker = doc.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const texts: Text[] = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (shown(node as Text, root)) texts.push(node as Text);
  }
  let made = 0;
  for (const text of texts) {
    const nodes = markedNodes(doc, text.data, terms, decorate);
    if (nodes.length === 1 && nodes[0]!.nodeType === Node.TEXT_NODE) continue;
    made += nodes.filter((n) => n.nodeType === Node.ELEMENT_NODE).length;
    text.replaceWith(...nodes);
  }
  return made;
}

/** Whether a text node shows as text a `<mark>` may wrap: every element up to `root` is plain HTML. */
function shown(text: Text, root: Element): boolean {
  for (let el = text.parentElement; el; el = el.parentElement) {
    if (el.namespaceURI !== HTML_NS || SKIP.has(el.localName)) return false;
    if (el === root) return true;
  }
  return true;
}
