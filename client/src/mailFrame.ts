import DOMPurify from "dompurify";
import { attributeIsLocal, isLinkTarget, judgeSource } from "./cssRules";
import { highlightTree } from "./highlight";
import { cleanInlineStyle, cleanSheets } from "./mailCss";
import { type ParsedMail, parseMailHtml } from "./mailHtml";
import { hasTerms, type SearchTerms } from "./searchTerms";

/**
 * An email's HTML, made fit to show. Nothing of it is ever live in this page: parse5 reads it into
 * an inert document (mailHtml.ts, which also keeps handlers and inline CSS out of any DOM of this
 * page), DOMPurify cleans that document, and the result is shown in an `<iframe sandbox>` through
 * `srcdoc`. The frame gets no allow-scripts: whatever slipped through cannot run. A CSP in the
 * frame's own head blocks every load but inline images until the reader asks for remote images;
 * then https: images (and only images) may load. The page's own CSP applies in the frame as well
 * (a srcdoc document inherits it), so both must allow a load. The cleaning does not lean on
 * either CSP: with remote content off, the markup and CSS it hands over name nothing to fetch.
 *
 * The mail's own CSS: both CSPs refuse inline `<style>` and `style=""`, so they are lifted out,
 * cleaned through the CSSOM (mailCss.ts) and applied by this page through the CSSOM once the
 * frame has loaded (`applyMailStyles`), which CSP does not govern. That needs the frame's
 * document, hence allow-same-origin; without allow-scripts nothing in the frame can use that
 * origin, and a frame allowed both would be no sandbox at all.
 */

const SVG_NS = "http://www.w3.org/2000/svg";
/** Attributes (no namespace) that fetch their URL when the document renders. */
const SOURCE_ATTRS = new Set(["src", "background", "poster"]);
/** SVG elements whose `href` fetches an image. */
const SVG_IMAGES = new Set(["image", "feimage"]);
/** Elements whose `href` is a link the reader may follow, in whatever namespace. */
const LINKS = new Set(["a", "area"]);

const PURIFY_CONFIG = {
  // `<style>` and `style=""` never reach here (see mailHtml.ts); forms could not submit anyway.
  FORBID_TAGS: ["style", "form", "input", "button", "select", "textarea", "link", "meta", "base", "template"],
  FORBID_ATTR: ["style", "srcset", "ping", "action", "formaction"],
  // No data-* of the sender's: the app's own attribute (the lifted style) is added afterwards.
  ALLOW_DATA_ATTR: false,
  ALLOW_UNKNOWN_PROTOCOLS: false,
};

/**
 * The `[contentId, url]` entry of `inline` that an inline image's `cid:` URL names (RFC 2392: the
 * URL is the Content-ID without angle brackets, %-encoded), or undefined when the message lists no
 * such part. Content-IDs are case-sensitive, but senders are not always, so an exact match wins and
 * a case-insensitive one is the fallback.
 */
export function inlinePart(
  src: string,
  inline: ReadonlyMap<string, string>,
): readonly [string, string] | undefined {
  const match = /^cid:(.*)$/is.exec(src.trim());
  if (!match) return undefined;
  let id = match[1]!.trim();
  try {
    id = decodeURIComponent(id);
  } catch {
    // Not %-encoded after all: the id as written.
  }
  id = id.replace(/^<(.*)>$/s, "$1");
  const exact = inline.get(id);
  if (exact !== undefined) return [id, exact];
  const lower = id.toLowerCase();
  return [...inline].find(([cid]) => cid.toLowerCase() === lower);
}

/** The markup and the stylesheet text of one variant (remote images blocked, or allowed). */
export interface MailVariant {
  html: string;
  css: string;
  /** The attribute each element's lifted `style` sits in, named afresh for every mail. */
  styleAttr: string;
}

export interface CleanMail {
  /** Sanitised, every remote source left out (markup and CSS): nothing reaches the network. */
  blocked: MailVariant;
  /** The same with https: images kept, for when the reader asks for remote images. */
  withImages: MailVariant;
  /** Whether it asks for anything remote (images, backgrounds): worth a "Show remote images". */
  remote: boolean;
  /** The Content-IDs its `cid:` images found in `inline`: parts shown in the body, not listed. */
  inlineUsed: Set<string>;
}

interface Cleaning {
  keepRemote: boolean;
  /** A search's words to mark in the mail's text, when it was opened from a search. */
  terms?: SearchTerms;
  parts: ReadonlyMap<string, string>;
  inlineUsed: Set<string>;
  remote: boolean;
}

/** A fetching URL attribute, judged: a `cid:` becomes our download of the part, or goes. */
function cleanSource(node: Element, attr: Attr, run: Cleaning): void {
  const verdict = judgeSource(attr.value, run.keepRemote);
  let value: string | null;
  if (verdict.kind === "cid") {
    // Our own download of the part, which the frame's CSP allows; an unknown cid loads nothing.
    const part = inlinePart(attr.value, run.parts);
    if (part) run.inlineUsed.add(part[0]);
    value = part?.[1] ?? null;
  } else {
    run.remote ||= verdict.remote;
    value = verdict.value;
  }
  if (value === null) node.removeAttributeNode(attr);
  else if (value !== attr.value) node.setAttributeNS(attr.namespaceURI, attr.name, value);
}

/** One element's attributes after DOMPurify's pass: what fetches, links, and CSS-read values. */
function cleanAttributes(node: Element, run: Cleaning): void {
  const tag = node.localName.toLowerCase();
  const svg = node.namespaceURI === SVG_NS;
  let link = false;
  for (const attr of Array.from(node.attributes)) {
    const name = attr.localName.toLowerCase();
    if (SOURCE_ATTRS.has(name) && attr.namespaceURI === null) cleanSource(node, attr, run);
    else if (name === "href" && svg && SVG_IMAGES.has(tag)) cleanSource(node, attr, run);
    else if (name === "href" && LINKS.has(tag)) {
      if (isLinkTarget(attr.value)) link = true;
      else node.removeAttributeNode(attr);
    }
    // Any other href (SVG <use>, gradients, <textPath>…) may point inside the document only.
    else if (name === "href" && !attr.value.trim().startsWith("#")) node.removeAttributeNode(attr);
    // SVG presentation attributes (fill, filter, mask…) are CSS values: url(#ref) at most.
    else if (svg && !attributeIsLocal(attr.value)) node.removeAttributeNode(attr);
  }
  if (link) {
    // Out of the frame, into a tab of its own that knows nothing of us.
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
}

function clean(parsed: ParsedMail, styleAttr: string, run: Cleaning): MailVariant {
  DOMPurify.addHook("afterSanitizeAttributes", (node) => cleanAttributes(node, run));
  try {
    const body = DOMPurify.sanitize(parsed.body, {
      ...PURIFY_CONFIG,
      ADD_ATTR: [styleAttr],
      RETURN_DOM: true,
    }) as HTMLElement;
    // Still the inert document DOMPurify worked in: the lifted styles, cleaned, go in here.
    for (const element of Array.from(body.querySelectorAll(`[${styleAttr}]`))) {
      const lifted = cleanInlineStyle(
        parsed.inlineStyles[Number(element.getAttribute(styleAttr))] ?? "",
        run.keepRemote,
      );
      run.remote ||= lifted.remote;
      if (lifted.css) element.setAttribute(styleAttr, lifted.css);
      else element.removeAttribute(styleAttr);
    }
    // Marked in the cleaned tree, as nodes: only text the reader sees, never an attribute, a
    // script or a style. The marks' look goes in as lifted style, which outranks the sender's sheet.
    if (run.terms && hasTerms(run.terms))
      highlightTree(body, run.terms, (mark) => mark.setAttribute(styleAttr, MARK_CSS));
    const sheet = cleanSheets(parsed.sheets, run.keepRemote);
    run.remote ||= sheet.remote;
    return { html: body.innerHTML, css: sheet.css, styleAttr };
  } finally {
    DOMPurify.removeAllHooks();
  }
}

/** A search match in a mail: the app's own `mark` (styles.css), whatever the sender's text colour. */
const MARK_CSS = "background-color: #fff1a8; color: #1c2233;";

/** A name no sender can have written ahead: 64 random bits. */
function freshStyleAttr(): string {
  const bits = crypto.getRandomValues(new Uint8Array(8));
  return `data-mail-style-${Array.from(bits, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * `inline` maps the Content-IDs of the message's inline parts to their download URLs (absolute,
 * of this origin: see `mailSrcdoc`'s `inlineSource`); `terms`, a search's words to mark.
 */
export function sanitizeMail(
  html: string,
  inline: ReadonlyMap<string, string> = new Map(),
  terms?: SearchTerms,
): CleanMail {
  const styleAttr = freshStyleAttr();
  const parsed = parseMailHtml(html, styleAttr);
  const inlineUsed = new Set<string>();
  const blockedRun: Cleaning = { keepRemote: false, terms, parts: inline, inlineUsed, remote: false };
  const blocked = clean(parsed, styleAttr, blockedRun);
  const withImages = clean(parsed, styleAttr, {
    keepRemote: true,
    terms,
    parts: inline,
    inlineUsed,
    remote: false,
  });
  return { blocked, withImages, remote: blockedRun.remote, inlineUsed };
}

/**
 * Gives a loaded mail frame the mail's CSS through the CSSOM: each element's lifted `style`, and
 * the `<style>` blocks as one constructed stylesheet (which cannot `@import` either).
 */
export function applyMailStyles(doc: Document, variant: MailVariant): void {
  for (const el of Array.from(doc.querySelectorAll<HTMLElement | SVGElement>(`[${variant.styleAttr}]`))) {
    el.style.cssText = el.getAttribute(variant.styleAttr) ?? "";
  }
  const view = doc.defaultView;
  if (!view) return;
  try {
    // The reader's default type before the sender's rules, which may set their own.
    const base = new view.CSSStyleSheet();
    base.replaceSync(BASE_MAIL_CSS);
    const sheets = [base];
    if (variant.css.trim()) {
      const sheet = new view.CSSStyleSheet();
      sheet.replaceSync(variant.css);
      sheets.push(sheet);
    }
    doc.adoptedStyleSheets = sheets;
  } catch {
    // A browser without constructable stylesheets shows the mail without its <style> blocks.
  }
}

/** What a mail without styles of its own looks like: the app's sans type, not the browser's serif. */
const BASE_MAIL_CSS =
  'body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; ' +
  "font-size: 15px; line-height: 1.5; color: #1f2933; margin: 12px; overflow-wrap: anywhere; }";

/** The frame's height bounds: a one-line mail stays readable, a huge one scrolls inside. */
export const FRAME_MIN_HEIGHT = 80;
export const FRAME_MAX_HEIGHT = 6_000;

/** The height a frame should take for a document `contentHeight` tall. */
export const frameHeightFor = (contentHeight: number): number =>
  Math.min(FRAME_MAX_HEIGHT, Math.max(FRAME_MIN_HEIGHT, Math.ceil(contentHeight)));

/**
 * Sizes the frame to its document, and again whenever that changes (an image arriving, the width
 * changing). Nothing runs inside the frame, so this page measures it: allow-same-origin lets it.
 */
export function fitFrameToContent(frame: HTMLIFrameElement, doc: Document): void {
  const refit = () => {
    // The frame's own border is inside its height (border-box): the document gets all the rest.
    const border = frame.offsetHeight - frame.clientHeight;
    // The root element's own box, not its scrollHeight, which never reads less than the viewport.
    const content = doc.documentElement.getBoundingClientRect().height;
    frame.style.height = `${frameHeightFor(content) + border}px`;
  };
  refit();
  const view = doc.defaultView;
  if (view && "ResizeObserver" in window) new ResizeObserver(refit).observe(doc.body ?? doc.documentElement);
  view?.addEventListener("load", refit);
}

/**
 * The frame's CSP: nothing but inline images (`data:`, and the message's own parts under
 * `inlineSource`, a path prefix of this origin), plus https: images once the reader allows them.
 */
export function frameCsp(allowRemoteImages: boolean, inlineSource?: string): string {
  const images = [
    "data:",
    "cid:",
    ...(inlineSource ? [inlineSource] : []),
    ...(allowRemoteImages ? ["https:"] : []),
  ];
  return ["default-src 'none'", `img-src ${images.join(" ")}`, "form-action 'none'"].join("; ");
}

const attr = (value: string) => value.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

/**
 * The whole document of the frame: its CSP first, then the mail. No stylesheet of ours: the mail
 * shows in the browser's default styles and its own CSS (applyMailStyles).
 */
export function mailSrcdoc(clean: string, allowRemoteImages: boolean, inlineSource?: string): string {
  return (
    '<!doctype html><html><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="${attr(frameCsp(allowRemoteImages, inlineSource))}">` +
    '<meta name="referrer" content="no-referrer">' +
    '<meta name="color-scheme" content="light">' +
    '<base target="_blank">' +
    `</head><body>${clean}</body></html>`
  );
}
