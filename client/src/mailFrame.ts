import DOMPurify from "dompurify";

/**
 * An email's HTML, made fit to show: sanitised here with DOMPurify (an inert document, so nothing
 * in it runs or loads while it is cleaned), then shown in an `<iframe sandbox>` through `srcdoc`.
 * The frame gets no allow-scripts: whatever slipped through cannot run. A CSP in the frame's own
 * head blocks every load but inline images until the reader asks for remote images; then https:
 * images (and only images) may load. The page's own CSP applies in the frame as well (a srcdoc
 * document inherits it), so both must allow a load.
 *
 * The mail's own CSS: both CSPs refuse inline `<style>` and `style=""`, so the sanitiser lifts
 * them out (cleaned of imports and of remote URLs until images are allowed) and the page applies
 * them through the CSSOM once the frame has loaded (`applyMailStyles`), which CSP does not govern.
 * That needs the frame's document, hence allow-same-origin; without allow-scripts nothing in the
 * frame can use that origin, and a frame allowed both would be no sandbox at all.
 */

/** URL attributes that fetch something when the document renders. */
const FETCHING_ATTRS = ["src", "background", "poster"];
const ALLOWED_SOURCE = /^(https?:|data:image\/|cid:)/i;
const REMOTE_SOURCE = /^(https?:)?\/\//i;
const LINK_TARGET = /^(https?:|mailto:)/i;

/** The attribute an element's own `style` moves to, for `applyMailStyles`. */
const STYLE_ATTR = "data-mail-style";

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

const CSS_URL = /url\(\s*(['"]?)(.*?)\1\s*\)/gi;

/**
 * A mail's CSS made inert: no `@import` (nothing loads a stylesheet), no legacy script hooks,
 * and every `url()` reduced to `none` unless it is an inline image, or an https: image once the
 * reader allowed remote images. Answers whether anything remote was asked for.
 */
export function cleanCss(css: string, keepRemote: boolean): { css: string; remote: boolean } {
  let remote = false;
  const out = css
    .replace(/@import[^;]*;?/gi, "")
    .replace(/expression\s*\(|behavior\s*:|-moz-binding\s*:/gi, "x-removed:")
    .replace(CSS_URL, (_all, _quote: string, url: string) => {
      const target = url.trim();
      if (/^data:image\//i.test(target)) return `url("${target.replace(/"/g, "%22")}")`;
      if (REMOTE_SOURCE.test(target)) {
        remote = true;
        if (keepRemote && !/^http:/i.test(target)) {
          const https = target.startsWith("//") ? `https:${target}` : target;
          return `url("${https.replace(/"/g, "%22")}")`;
        }
      }
      return "none";
    });
  return { css: out, remote };
}

function clean(
  html: string,
  keepRemote: boolean,
  parts: ReadonlyMap<string, string>,
  inlineUsed: Set<string>,
): MailVariant & { remote: boolean } {
  let remote = false;
  const sheets: string[] = [];
  const inline = new WeakMap<Element, string>();
  DOMPurify.addHook("uponSanitizeElement", (node, data) => {
    if (data.tagName === "style") sheets.push(node.textContent ?? "");
  });
  DOMPurify.addHook("uponSanitizeAttribute", (node, data) => {
    if (data.attrName === "style") inline.set(node, data.attrValue);
  });
  DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    const style = inline.get(node);
    if (style !== undefined) {
      const lifted = cleanCss(style, keepRemote);
      remote ||= lifted.remote;
      if (lifted.css.trim()) node.setAttribute(STYLE_ATTR, lifted.css);
    }
    for (const name of FETCHING_ATTRS) {
      const value = node.getAttribute(name)?.trim();
      if (value === undefined) continue;
      if (/^cid:/i.test(value)) {
        // Our own download of the part, which the frame's CSP allows; an unknown cid loads nothing.
        const part = inlinePart(value, parts);
        if (part) {
          node.setAttribute(name, part[1]);
          inlineUsed.add(part[0]);
        } else node.removeAttribute(name);
      } else if (REMOTE_SOURCE.test(value)) {
        remote = true;
        // Left out until asked for: the frame's CSP would block it too, but a blocked load
        // still shows as an error, and no request at all is plainer. Once asked for, https
        // only (a protocol-relative URL is read as https; plain http stays out).
        if (!keepRemote || /^http:/i.test(value)) node.removeAttribute(name);
        else if (value.startsWith("//")) node.setAttribute(name, `https:${value}`);
      }
      // Relative URLs would resolve against this page's address: nothing of ours is fetched.
      else if (!ALLOWED_SOURCE.test(value)) node.removeAttribute(name);
    }
    if (node.tagName === "A") {
      const href = node.getAttribute("href")?.trim() ?? "";
      if (LINK_TARGET.test(href)) {
        // Out of the frame, into a tab of its own that knows nothing of us.
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer");
      } else node.removeAttribute("href");
    }
  });
  try {
    const out = DOMPurify.sanitize(html, {
      // `<style>` and `style=""` are lifted out by the hooks above (the CSPs would refuse them
      // in place); forms could not submit anyway.
      FORBID_TAGS: ["style", "form", "input", "button", "select", "textarea", "link", "meta", "base"],
      FORBID_ATTR: ["style", "srcset", "ping", "action", "formaction"],
      ALLOW_UNKNOWN_PROTOCOLS: false,
      // A mail's <style> usually sits in its <head>, which the parser would keep out of the body
      // DOMPurify cleans (and out of the hooks above); this parses everything as body content.
      FORCE_BODY: true,
    });
    const sheet = cleanCss(sheets.join("\n"), keepRemote);
    return { html: out, css: sheet.css, remote: remote || sheet.remote };
  } finally {
    DOMPurify.removeAllHooks();
  }
}

/**
 * `inline` maps the Content-IDs of the message's inline parts to their download URLs (absolute,
 * of this origin: see `mailSrcdoc`'s `inlineSource`).
 */
export function sanitizeMail(html: string, inline: ReadonlyMap<string, string> = new Map()): CleanMail {
  const inlineUsed = new Set<string>();
  const { remote, ...blocked } = clean(html, false, inline, inlineUsed);
  const { remote: _same, ...withImages } = clean(html, true, inline, inlineUsed);
  return { blocked, withImages, remote, inlineUsed };
}

/**
 * Gives a loaded mail frame the mail's CSS through the CSSOM: each element's lifted `style`, and
 * the `<style>` blocks as one constructed stylesheet (which cannot `@import` either).
 */
export function applyMailStyles(doc: Document, css: string): void {
  for (const el of doc.querySelectorAll<HTMLElement>(`[${STYLE_ATTR}]`)) {
    el.style.cssText = el.getAttribute(STYLE_ATTR) ?? "";
  }
  const view = doc.defaultView;
  if (!css.trim() || !view) return;
  try {
    const sheet = new view.CSSStyleSheet();
    sheet.replaceSync(css);
    doc.adoptedStyleSheets = [sheet];
  } catch {
    // A browser without constructable stylesheets shows the mail without its <style> blocks.
  }
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
