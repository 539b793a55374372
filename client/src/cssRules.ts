/**
 * The pure rules of a mail's cleaning: what a CSS value, a URL attribute or a link may keep.
 * The CSS rules judge values as the browser's CSSOM gives them back (`mailCss.ts` does the
 * parsing), never the sender's text: escapes are resolved there and `url()` is written one way.
 */

/** CSS functions that fetch (or take a URL that would be fetched). */
const FETCHING_FUNCTIONS = ["url(", "image(", "image-set(", "cross-fade(", "src("];
/** Functions whose value the CSSOM hands back as written, not reparsed. */
const SUBSTITUTION_FUNCTIONS = ["var(", "env(", "attr("];

const REMOTE_SOURCE = /^(https?:)?\/\//i;
const INLINE_IMAGE = /^data:image\//i;
const LINK_TARGET = /^(https?:|mailto:)/i;

/** What becomes of one declaration: its value to keep (null: dropped) and whether it asked for anything remote. */
export interface Judged {
  value: string | null;
  remote: boolean;
}

const mentionsFetch = (lower: string) => FETCHING_FUNCTIONS.some((fn) => lower.includes(fn));

/**
 * One declaration of a mail's CSS, given as the CSSOM serialises it. Dropped: custom properties
 * (a `var()` elsewhere would carry their value past this check), any value still holding a
 * backslash (the CSSOM keeps escapes only in values it did not reparse, where `\75 rl(` would be
 * a `url(` in disguise), any fetching function other than `url()`, and any `url()` that is not a
 * same-document `#ref` or an inline `data:image/`, unless remote content is allowed and it is
 * https: (a protocol-relative URL is read as https:; plain http: never). The search is a plain
 * substring scan: linear in the value, whatever the sender wrote.
 */
export function judgeDeclaration(name: string, value: string, keepRemote: boolean): Judged {
  const lower = value.toLowerCase();
  const fetches = mentionsFetch(lower);
  if (name.startsWith("--") || value === "" || value.includes("\\")) return { value: null, remote: fetches };
  if (!fetches) return { value, remote: false };
  const substituted = SUBSTITUTION_FUNCTIONS.some((fn) => lower.includes(fn));
  const others = FETCHING_FUNCTIONS.filter((fn) => fn !== "url(" && lower.includes(fn));
  // `url(` in another case can only sit in a string: not a URL we can read, so not one we keep.
  const sameCase = lower.split("url(").length === value.split("url(").length;
  if (substituted || others.length || !sameCase) return { value: null, remote: true };
  return rewriteUrls(value, keepRemote);
}

/** Each canonical `url("…")` of a value judged (see judgeDeclaration); the value rebuilt from them. */
function rewriteUrls(value: string, keepRemote: boolean): Judged {
  let out = "";
  let remote = false;
  let from = 0;
  for (let at = value.indexOf("url(", from); at !== -1; at = value.indexOf("url(", from)) {
    const open = at + 4;
    const close = value.indexOf('")', open + 1);
    if (value[open] !== '"' || close === -1) return { value: null, remote: true };
    const url = value.slice(open + 1, close).trim();
    const kept = judgeUrl(url, keepRemote);
    remote ||= kept.remote;
    if (kept.value === null) return { value: null, remote };
    out += `${value.slice(from, at)}url("${kept.value}")`;
    from = close + 2;
  }
  return { value: out + value.slice(from), remote };
}

/** One URL a CSS value names (no quote or backslash in it: judgeDeclaration saw to that). */
function judgeUrl(url: string, keepRemote: boolean): Judged {
  if (url.startsWith("#") || INLINE_IMAGE.test(url)) return { value: url, remote: false };
  if (!REMOTE_SOURCE.test(url)) return { value: null, remote: false };
  if (!keepRemote || /^http:/i.test(url)) return { value: null, remote: true };
  return { value: url.startsWith("//") ? `https:${url}` : url, remote: true };
}

/**
 * An attribute value that CSS reads (an SVG presentation attribute such as `fill` or `filter`),
 * straight from the sender: kept only when every `url(` in it is a same-document `#ref` and no
 * other fetching function and no escape appears.
 */
export function attributeIsLocal(value: string): boolean {
  if (value.includes("\\")) return false;
  const lower = value.toLowerCase();
  if (!mentionsFetch(lower)) return true;
  if (FETCHING_FUNCTIONS.some((fn) => fn !== "url(" && lower.includes(fn))) return false;
  for (let at = lower.indexOf("url("); at !== -1; at = lower.indexOf("url(", at + 4)) {
    let i = at + 4;
    while (i < lower.length && " \t\n\r\f\"'".includes(lower[i]!)) i++;
    if (lower[i] !== "#") return false;
  }
  return true;
}

/** What a URL attribute that fetches (`src`, `background`, `poster`, SVG `<image href>`) may keep. */
export type SourceVerdict = { kind: "cid" } | ({ kind: "url" } & Judged);

/**
 * `cid:` names a part of the message (the caller looks it up); `data:image/` stays; https: stays
 * once remote content is allowed (protocol-relative read as https:, plain http: never); anything
 * else goes, relative URLs included (they would resolve against this app's own address).
 */
export function judgeSource(raw: string, keepRemote: boolean): SourceVerdict {
  const value = raw.trim();
  if (/^cid:/i.test(value)) return { kind: "cid" };
  if (INLINE_IMAGE.test(value)) return { kind: "url", value, remote: false };
  return { kind: "url", ...judgeUrl(value, keepRemote) };
}

/** Whether a link may keep its href: web and mail addresses only (never javascript:, data:, relative). */
export const isLinkTarget = (href: string): boolean => LINK_TARGET.test(href.trim());
