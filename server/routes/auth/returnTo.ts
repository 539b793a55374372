/**
 * Where a browser goes after signing in: a path of this app that it asked for before (a deep link
 * opened while signed out), or `/`. Only a same-origin path is ever accepted, so a crafted
 * sign-in link cannot send anyone to another site (an open redirect).
 */
export const DEFAULT_RETURN = "/";

/** The longest path kept; a longer one is not an address the app makes. */
const MAX_LENGTH = 2048;
const BASE = "http://app.invalid";

/**
 * The path to return to, or null when `value` is not a same-origin path of the app. Refused:
 * anything not starting with one `/` (`//host`, `/\host`, `https:`), control characters and
 * backslashes (browsers read `\` as `/`), and the sign-in's own paths (no loop through Google).
 */
export function safeReturnTo(value: unknown): string | null {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_LENGTH) return null;
  if (!value.startsWith("/") || value.startsWith("//")) return null;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return null;
  let url: URL;
  try {
    url = new URL(value, BASE);
  } catch {
    return null;
  }
  if (url.origin !== BASE) return null;
  const path = `${url.pathname}${url.search}${url.hash}`;
  // Dot segments can rebuild a `//host` after the check above ("/..//host").
  if (path.startsWith("//") || path.startsWith("/auth/") || path === "/auth") return null;
  return path;
}
