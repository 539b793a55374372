import DOMPurify from "dompurify";

/**
 * An email's HTML, made fit to show: sanitised here with DOMPurify (an inert document, so nothing
 * in it runs or loads while it is cleaned), then shown in an `<iframe sandbox>` through `srcdoc`.
 * The frame gets no allow-scripts and no allow-same-origin: whatever slipped through cannot run,
 * and the document has an opaque origin, so it can reach neither this page nor its cookies. A
 * CSP in the frame's own head blocks every load but inline images until the reader asks for
 * remote images; then https: images (and only images) may load. The page's own CSP applies in
 * the frame as well (a srcdoc document inherits it), so both must allow a load.
 */

/** URL attributes that fetch something when the document renders. */
const FETCHING_ATTRS = ["src", "background", "poster"];
const ALLOWED_SOURCE = /^(https?:|data:image\/|cid:)/i;
const REMOTE_SOURCE = /^(https?:)?\/\//i;
const LINK_TARGET = /^(https?:|mailto:)/i;

export interface CleanMail {
  /** The sanitised markup with every remote source left out: nothing in it reaches the network. */
  blocked: string;
  /** The same with https: images kept, for when the reader asks for remote images. */
  withImages: string;
  /** Whether it asks for anything remote (images, backgrounds): worth a "Show remote images". */
  remote: boolean;
}

function clean(html: string, keepRemote: boolean): { html: string; remote: boolean } {
  let remote = false;
  DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    for (const name of FETCHING_ATTRS) {
      const value = node.getAttribute(name)?.trim();
      if (value === undefined) continue;
      if (REMOTE_SOURCE.test(value)) {
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
      // The page's CSP (which the frame inherits) allows no inline style: what it would block
      // is left out, so the frame stays free of refused loads. Forms could not submit anyway.
      FORBID_TAGS: ["style", "form", "input", "button", "select", "textarea", "link", "meta", "base"],
      FORBID_ATTR: ["style", "srcset", "ping", "action", "formaction"],
      ALLOW_UNKNOWN_PROTOCOLS: false,
    });
    return { html: out, remote };
  } finally {
    DOMPurify.removeAllHooks();
  }
}

export function sanitizeMail(html: string): CleanMail {
  const blocked = clean(html, false);
  return { blocked: blocked.html, withImages: clean(html, true).html, remote: blocked.remote };
}

/** The frame's CSP: nothing but inline images, plus https: images once the reader allows them. */
export function frameCsp(allowRemoteImages: boolean): string {
  const images = allowRemoteImages ? "data: cid: https:" : "data: cid:";
  return ["default-src 'none'", `img-src ${images}`, "form-action 'none'"].join("; ");
}

const attr = (value: string) => value.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

/**
 * The whole document of the frame: its CSP first, then the mail. No stylesheet of ours: the
 * frame's opaque origin makes any request to us cross-origin, which our
 * Cross-Origin-Resource-Policy refuses, so the mail shows in the browser's default styles.
 */
export function mailSrcdoc(clean: string, allowRemoteImages: boolean): string {
  return (
    '<!doctype html><html><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="${attr(frameCsp(allowRemoteImages))}">` +
    '<meta name="referrer" content="no-referrer">' +
    '<meta name="color-scheme" content="light">' +
    '<base target="_blank">' +
    `</head><body>${clean}</body></html>`
  );
}
