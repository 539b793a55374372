import type { Me } from "./api";
import { byId, show } from "./dom";
import { formatCount, formatRelative } from "./format";

export interface AccountMenuOptions {
  onSignOut(): void;
  /** "Account & API tokens": the account page (tokens, disconnect, sign out everywhere, delete). */
  onOpenSettings(): void;
}

/**
 * The account button in the top bar and its panel: email, last sync, count, reconnect, the account
 * page (API tokens, disconnect, sign out everywhere, delete), sign out.
 */
export class AccountMenu {
  private readonly root = byId("account");
  private readonly button = byId<HTMLButtonElement>("account-button");
  private readonly panel = byId("account-panel");
  private readonly avatar = byId("account-avatar");
  private readonly email = byId("account-email");
  private readonly panelEmail = byId("account-panel-email");
  private readonly lastSync = byId("account-last-sync");
  private readonly count = byId("account-count");
  private readonly status = byId("account-gmail-status");
  private readonly reconnect = byId<HTMLAnchorElement>("account-reconnect");
  private readonly signOut = byId<HTMLButtonElement>("signout");
  private readonly settings = byId<HTMLButtonElement>("account-settings-open");
  private me: Me | null = null;

  constructor(options: AccountMenuOptions) {
    this.button.addEventListener("click", () => this.toggle(this.panel.hidden));
    this.signOut.addEventListener("click", () => options.onSignOut());
    this.settings.addEventListener("click", () => {
      this.toggle(false);
      options.onOpenSettings();
    });
    document.addEventListener("click", (event) => {
      if (!this.panel.hidden && !this.root.contains(event.target as Node)) this.toggle(false);
    });
    this.root.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !this.panel.hidden) {
        event.preventDefault();
        this.toggle(false);
        this.button.focus();
      }
    });
    // "last sync 5 minutes ago" must not go stale while the page is open.
    setInterval(() => this.renderLastSync(), 30_000);
  }

  render(me: Me, reauth: boolean): void {
    this.me = me;
    show(this.root);
    this.avatar.textContent = me.email.charAt(0).toUpperCase();
    this.email.textContent = me.email;
    // An address too long for a phone's top bar ends in "…"; the whole of it is in the menu too.
    this.email.title = me.email;
    this.panelEmail.textContent = me.email;
    this.count.textContent = formatCount(me.emailCount);
    this.status.textContent =
      me.gmailStatus === "disconnected" ? "Disconnected" : reauth ? "Needs reconnecting" : "Connected";
    this.reconnect.href = reconnectHref(me.email);
    this.reconnect.textContent = me.gmailStatus === "disconnected" ? "Connect Gmail" : "Reconnect Gmail";
    show(this.reconnect, reauth);
    this.renderLastSync();
  }

  hide(): void {
    this.me = null;
    this.toggle(false);
    show(this.root, false);
  }

  private renderLastSync(): void {
    if (!this.me) return;
    this.lastSync.textContent = formatRelative(this.me.lastSyncAt);
    if (this.me.lastSyncAt) this.lastSync.title = new Date(this.me.lastSyncAt).toLocaleString();
  }

  /** Where focus goes back to when the account page closes. */
  focus(): void {
    this.button.focus();
  }

  private toggle(open: boolean): void {
    show(this.panel, open);
    this.button.setAttribute("aria-expanded", String(open));
  }
}

/** Where "Reconnect Gmail" goes: the consent page again, for the same account. */
export function reconnectHref(email: string): string {
  return `/auth/google?login_hint=${encodeURIComponent(email)}`;
}
