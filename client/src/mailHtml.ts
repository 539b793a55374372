import { type DefaultTreeAdapterMap, parse } from "parse5";

type P5Node = DefaultTreeAdapterMap["node"];
type P5Element = DefaultTreeAdapterMap["element"];

const HTML_NS = "http://www.w3.org/1999/xhtml";
const SVG_NS = "http://www.w3.org/2000/svg";

/** A mail's markup as an inert DOM, with its CSS kept aside. */
export interface ParsedMail {
  /** The `<body>` of a document with no browsing context: nothing in it loads or runs. */
  body: HTMLElement;
  /** The text of each `<style>` element (head or body, HTML or SVG), in document order. */
  sheets: string[];
  /** Each element's `style` attribute: the element carries its index here under `styleRef`. */
  inlineStyles: string[];
}

/**
 * Parses a mail's HTML without ever giving a DOM of this page's realm an event-handler
 * attribute, a `style` attribute or a `<style>` element. Chromium checks the page's CSP the moment
 * such an attribute or element is created, in any document of the realm, DOMParser's and
 * `<template>`'s included: it reports a violation (and logs an error) even though nothing runs.
 * So the markup is parsed by parse5 (a spec-compliant HTML parser in plain JavaScript, no DOM) and
 * the tree rebuilt in an inert document without those; the CSS goes aside for the CSSOM cleaner.
 * `styleRef` is the attribute that points an element at its entry of `inlineStyles`: the caller
 * makes it unguessable, and any incoming attribute of that name is dropped here.
 */
export function parseMailHtml(html: string, styleRef: string): ParsedMail {
  // Scripting off: <noscript> content parses as markup, as in the sandboxed frame that shows it.
  const tree = parse(html, { scriptingEnabled: false });
  const doc = new DOMParser().parseFromString("", "text/html");
  const parsed: ParsedMail = { body: doc.body, sheets: [], inlineStyles: [] };
  const html5 = tree.childNodes.find((n): n is P5Element => n.nodeName === "html");
  if (!html5) return parsed;
  for (const part of html5.childNodes) {
    if (part.nodeName === "head") collectSheets(part, parsed.sheets);
    else if (part.nodeName === "body") build(part as P5Element, doc.body, doc, styleRef, parsed);
  }
  return parsed;
}

/** The `<style>` texts under a parse5 node (the head: nothing else of it is shown). */
function collectSheets(node: P5Node, sheets: string[]): void {
  const stack: P5Node[] = [node];
  while (stack.length) {
    const current = stack.pop()!;
    if (isStyle(current)) sheets.push(textOf(current as P5Element));
    else if ("childNodes" in current) pushReversed(stack, current.childNodes);
  }
}

/** Children onto a stack so that they pop in document order (no spread: a node may have 100,000). */
function pushReversed<T>(stack: T[], children: readonly T[]): void {
  for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
}

const isStyle = (node: P5Node): boolean =>
  node.nodeName === "style" &&
  "namespaceURI" in node &&
  (node.namespaceURI === HTML_NS || node.namespaceURI === SVG_NS);

function textOf(node: P5Element): string {
  let text = "";
  const stack: P5Node[] = [node];
  while (stack.length) {
    const current = stack.pop()!;
    if (current.nodeName === "#text") text += (current as DefaultTreeAdapterMap["textNode"]).value;
    else if ("childNodes" in current) pushReversed(stack, current.childNodes);
  }
  return text;
}

/**
 * Copies `from`'s children into `into`, iteratively (a mail may nest deeper than the call stack).
 * Comments and `<template>`s are left out (they show nothing); an element whose name the DOM
 * refuses is replaced by its children, and an attribute it refuses is dropped.
 */
function build(from: P5Element, into: Element, doc: Document, styleRef: string, out: ParsedMail): void {
  const stack: [P5Node, Node][] = [];
  pushReversed(
    stack,
    from.childNodes.map((child): [P5Node, Node] => [child, into]),
  );
  while (stack.length) {
    const [node, parent] = stack.pop()!;
    if (node.nodeName === "#text") {
      parent.appendChild(doc.createTextNode((node as DefaultTreeAdapterMap["textNode"]).value));
      continue;
    }
    if (!("tagName" in node) || node.nodeName === "template") continue;
    if (isStyle(node)) {
      out.sheets.push(textOf(node));
      continue;
    }
    let element: Element | null = null;
    try {
      element = doc.createElementNS(node.namespaceURI, node.tagName);
    } catch {
      // Not a name the DOM takes (the parser is more lenient): its content still shows.
    }
    if (element) {
      copyAttributes(node, element, styleRef, out.inlineStyles);
      parent.appendChild(element);
    }
    const target = element ?? parent;
    pushReversed(
      stack,
      node.childNodes.map((child): [P5Node, Node] => [child, target]),
    );
  }
}

function copyAttributes(node: P5Element, element: Element, styleRef: string, styles: string[]): void {
  for (const attr of node.attrs) {
    const name = attr.name.toLowerCase();
    // Handlers never run in the frame and would only trip the page's CSP here; ours is ours.
    if (attr.namespace === undefined && (name.startsWith("on") || name === styleRef)) continue;
    if (attr.namespace === undefined && name === "style") {
      element.setAttribute(styleRef, String(styles.push(attr.value) - 1));
      continue;
    }
    try {
      if (attr.namespace) {
        element.setAttributeNS(
          attr.namespace,
          attr.prefix ? `${attr.prefix}:${attr.name}` : attr.name,
          attr.value,
        );
      } else element.setAttribute(attr.name, attr.value);
    } catch {
      // A name the DOM refuses (the parser is more lenient): left out.
    }
  }
}
