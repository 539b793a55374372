import { ApiError, api, type Me } from "./api";
import { byId, h, show } from "./dom";
import { humanError } from "./errors";
import { wireErrorDismiss } from "./notices";
import { Session } from "./session";

/** Entry point: asks /api/me who is signed in and shows the signed-out or signed-in page. */

function showSignedOut(notice?: string): void {
  show(byId("boot"), false);
  show(byId("signed-in"), false);
  show(byId("signed-out"));
  // A deep link opened signed out comes back to the same address once signed in.
  const here = `${window.location.pathname}${window.location.search}`;
  byId<HTMLAnchorElement>("signin").href =
    here === "/" ? "/auth/google" : `/auth/google?returnTo=${encodeURIComponent(here)}`;
  const note = byId("signed-out-notice");
  note.textContent = notice ?? "";
  show(note, Boolean(notice));
  // After a sign-out the focused control is gone: start again at the top of the content.
  if (notice) byId("main").focus();
}

const AUTH_ERRORS: Record<string, string> = {
  oauth_state_mismatch: "That sign-in link expired or was opened in another browser. Please sign in again.",
  oauth_denied: "Google sign-in was cancelled, so nothing was connected.",
  oauth_exchange_failed: "Google didn't accept that sign-in. Please try again.",
  oauth_code_missing: "The sign-in didn't finish. Please try again.",
  oauth_offline_denied:
    "Google didn't grant lasting access, so inbox-sync can't sync in the background. Please sign in again and allow it.",
  oauth_identity_invalid: "Google's answer didn't prove which account signed in. Please sign in again.",
  google_unavailable:
    "Google isn't answering right now, so the sign-in didn't finish. Please try again in a moment.",
  rate_limited: "Too many sign-in attempts from here. Wait a minute, then try again.",
  gmail_scope_missing:
    "inbox-sync needs read access to your Gmail. Sign in again and tick the Gmail box on Google's consent screen.",
};

/** A failed sign-in comes back as `/?auth_error=<code>`; say it once, then tidy the address. */
function takeAuthError(): string | undefined {
  const params = new URLSearchParams(window.location.search);
  const code = params.get("auth_error");
  if (!code) return undefined;
  params.delete("auth_error");
  const rest = params.toString();
  window.history.replaceState(null, "", `${window.location.pathname}${rest ? `?${rest}` : ""}`);
  return AUTH_ERRORS[code] ?? "Signing in didn't work. Please try again.";
}

async function boot(): Promise<void> {
  const authError = takeAuthError();
  const bootLine = byId("boot");
  show(bootLine);
  bootLine.textContent = "Loading…";
  let me: Me;
  try {
    me = await api.get<Me>("/api/me");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      showSignedOut(authError);
      return;
    }
    const retry = h("button", {
      className: "button button-secondary",
      text: "Try again",
      attrs: { type: "button" },
    });
    retry.addEventListener("click", () => void boot());
    bootLine.replaceChildren(h("span", { text: `${humanError(err)} ` }), retry);
    return;
  }
  show(bootLine, false);
  show(byId("signed-out"), false);
  new Session(me, showSignedOut).start();
}

wireErrorDismiss();
void boot();
