import {
  type CreatedToken,
  DEFAULT_TOKEN_SCOPES,
  SCOPE_MEANINGS,
  TOKEN_SCOPES,
  type TokenInfo,
  type TokenList,
  type TokenScope,
} from "../../core/contract";
import { reconnectHref } from "./account";
import { ApiError, api, request } from "./api";
import { ConfirmDialog } from "./confirmDialog";
import { byId, h, show } from "./dom";
import { humanError } from "./errors";
import { formatDateLong, formatRelative } from "./format";
import { HealthPanel } from "./healthPanel";
import { announce } from "./notices";

export interface AccountSettingsOptions {
  email(): string;
  gmailStatus(): string | undefined;
  /** Back to the inbox (the caller puts focus back on the account button). */
  onClose(): void;
  /** Gmail was disconnected: read /api/me again. */
  onGmailChanged(): Promise<void>;
  /** Every session of this user ended (sign out everywhere, account deleted). */
  onSignedOut(notice: string): void;
  /** Anything else that went wrong (a 401 signs the page out). */
  onError(err: unknown): void;
}

const STATUS_WORDS: Record<string, string> = {
  connected: "Connected: inbox-sync can read this Gmail account.",
  reauth_required: "Access was revoked or has expired at Google. Reconnect to sync again.",
  disconnected: "Disconnected. The mail copied so far stays here; connect again to sync.",
};

const inDays = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

/** "in 30 days", "in 5 hours", "Expired", "Never": how long a token has left. */
function expiryWords(expiresAt: string | null, now = Date.now()): string {
  if (!expiresAt) return "Never";
  const left = Date.parse(expiresAt) - now;
  if (left <= 0) return "Expired";
  if (left < 86_400_000) return formatRelative(expiresAt, now);
  return inDays.format(Math.round(left / 86_400_000), "day");
}

/** "read, sync", or words for a token that may do nothing but revoke itself. */
function scopeWords(scopes: readonly string[]): string {
  return scopes.length > 0 ? scopes.join(", ") : "Nothing (it can only revoke itself)";
}

/**
 * The account page, opened from the account menu: the Gmail connection (disconnect), API tokens
 * (create with scopes and an expiry, shown once; list; revoke), sign out everywhere, and deleting
 * the account. Every destructive step asks first, in a dialog.
 */
export class AccountSettings {
  private readonly view = byId("settings-view");
  private readonly listView = byId("list-view");
  private readonly title = byId("settings-title");
  private readonly back = byId<HTMLButtonElement>("settings-back");
  private readonly gmailStatus = byId("settings-gmail-status");
  private readonly disconnect = byId<HTMLButtonElement>("disconnect-gmail");
  private readonly connect = byId<HTMLAnchorElement>("connect-gmail");
  private readonly tokensTitle = byId("tokens-title");
  private readonly form = byId<HTMLFormElement>("token-form");
  private readonly nameInput = byId<HTMLInputElement>("token-name");
  private readonly expiry = byId<HTMLSelectElement>("token-expiry");
  private readonly scopeBoxes = byId<HTMLFieldSetElement>("token-scopes");
  private readonly newTokenTerms = byId("new-token-terms");
  private readonly createButton = byId<HTMLButtonElement>("token-create");
  private readonly formError = byId("token-error");
  private readonly newToken = byId("new-token");
  private readonly newTokenValue = byId<HTMLInputElement>("new-token-value");
  private readonly newTokenCopy = byId<HTMLButtonElement>("new-token-copy");
  private readonly newTokenDone = byId<HTMLButtonElement>("new-token-done");
  private readonly tokenList = byId("token-list");
  private readonly tokenCount = byId("token-count");
  private readonly tokenEmpty = byId("token-empty");
  private readonly signOutEverywhere = byId<HTMLButtonElement>("signout-everywhere");
  private readonly deleteAccount = byId<HTMLButtonElement>("delete-account");
  private readonly dialog = new ConfirmDialog();
  private readonly health: HealthPanel;
  private tokens: TokenInfo[] = [];

  constructor(private readonly options: AccountSettingsOptions) {
    this.health = new HealthPanel((err) => options.onError(err));
    this.renderScopeChoices();
    this.back.addEventListener("click", () => this.close());
    this.view.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !this.dialog.isOpen) {
        event.preventDefault();
        this.close();
      }
    });
    this.disconnect.addEventListener("click", () => void this.disconnectGmail());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.createToken();
    });
    this.newTokenCopy.addEventListener("click", () => void this.copyNewToken());
    this.newTokenDone.addEventListener("click", () => {
      this.hideNewToken();
      this.nameInput.focus();
    });
    this.signOutEverywhere.addEventListener("click", () => void this.endAllSessions());
    this.deleteAccount.addEventListener("click", () => void this.deleteMyAccount());
  }

  get isOpen(): boolean {
    return !this.view.hidden;
  }

  open(): void {
    show(this.listView, false);
    show(this.view);
    this.renderStatus();
    this.title.focus();
    void this.health.load();
    void this.loadTokens();
  }

  close(): void {
    if (!this.isOpen) return;
    this.hideNewToken();
    show(this.view, false);
    show(this.listView);
    this.options.onClose();
  }

  /** Gone without a word (the session ended): the next session starts on the inbox. */
  hide(): void {
    this.hideNewToken();
    this.health.reset();
    show(this.view, false);
    show(this.listView);
  }

  /** The Gmail part follows /api/me (called whenever the session reads it). */
  renderStatus(): void {
    const status = this.options.gmailStatus() ?? "reauth_required";
    this.gmailStatus.textContent = STATUS_WORDS[status] ?? STATUS_WORDS.reauth_required!;
    show(this.disconnect, status !== "disconnected");
    show(this.connect, status !== "connected");
    this.connect.textContent = status === "disconnected" ? "Connect Gmail" : "Reconnect Gmail";
    this.connect.href = reconnectHref(this.options.email());
  }

  // ---- API tokens ----

  private async loadTokens(): Promise<void> {
    try {
      this.tokens = (await api.get<TokenList>("/api/tokens")).tokens;
      this.renderTokens();
    } catch (err) {
      this.options.onError(err);
    }
  }

  private renderTokens(): void {
    const items = this.tokens.map((t) => {
      const name = t.name || "Unnamed token";
      const revoke = h("button", {
        className: "button button-secondary",
        text: "Revoke",
        attrs: { type: "button", "aria-label": `Revoke token ${name}` },
        dataset: { testid: "token-revoke" },
      });
      revoke.addEventListener("click", () => void this.revokeToken(t));
      const fact = (term: string, value: string, title?: string) =>
        h("div", {}, h("dt", { text: term }), h("dd", { text: value, attrs: { title } }));
      return h(
        "li",
        { className: "token-item", dataset: { testid: "token-item", id: t.id } },
        h(
          "div",
          { className: "token-main" },
          h("h4", { className: "token-name", text: name }),
          h(
            "dl",
            { className: "token-facts" },
            fact("Created", formatRelative(t.createdAt), formatDateLong(t.createdAt)),
            fact("Last used", formatRelative(t.lastUsedAt)),
            fact("Expires", expiryWords(t.expiresAt), t.expiresAt ? formatDateLong(t.expiresAt) : undefined),
            fact("Allowed to", scopeWords(t.scopes)),
          ),
        ),
        revoke,
      );
    });
    this.tokenList.replaceChildren(...items);
    show(this.tokenList, items.length > 0);
    show(this.tokenEmpty, items.length === 0);
    this.tokenCount.textContent = items.length === 1 ? "1 token" : `${items.length} tokens`;
  }

  private async createToken(): Promise<void> {
    show(this.formError, false);
    this.hideNewToken();
    const body = {
      name: this.nameInput.value.trim(),
      expiresInDays: Number(this.expiry.value),
      scopes: this.chosenScopes(),
    };
    this.createButton.disabled = true;
    try {
      const created = await request<CreatedToken>("POST", "/api/tokens", { body });
      this.nameInput.value = "";
      this.newTokenValue.value = created.token;
      this.newTokenTerms.textContent = `Allowed to: ${scopeWords(created.scopes)}. Expires ${
        created.expiresAt ? formatDateLong(created.expiresAt) : "never"
      }.`;
      show(this.newToken);
      this.newTokenValue.focus();
      this.newTokenValue.select();
      announce("Token created. Copy it now: it will not be shown again.");
      await this.loadTokens();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return this.options.onError(err);
      this.formError.textContent = humanError(err);
      show(this.formError);
    } finally {
      this.createButton.disabled = false;
    }
  }

  /** One labelled checkbox per scope, from the one list of scopes; the defaults ticked. */
  private renderScopeChoices(): void {
    for (const scope of TOKEN_SCOPES) {
      const box = h("input", {
        attrs: {
          type: "checkbox",
          name: "scope",
          value: scope,
          id: `token-scope-${scope}`,
          checked: DEFAULT_TOKEN_SCOPES.includes(scope),
        },
        dataset: { testid: `token-scope-${scope}` },
      });
      this.scopeBoxes.append(
        h(
          "label",
          { className: "token-scope", attrs: { for: `token-scope-${scope}` } },
          box,
          h("strong", { text: scope }),
          h("span", { text: SCOPE_MEANINGS[scope] }),
        ),
      );
    }
  }

  private chosenScopes(): TokenScope[] {
    const boxes = this.scopeBoxes.querySelectorAll<HTMLInputElement>("input[name=scope]");
    return [...boxes].filter((b) => b.checked).map((b) => b.value as TokenScope);
  }

  private async copyNewToken(): Promise<void> {
    this.newTokenValue.select();
    try {
      await navigator.clipboard.writeText(this.newTokenValue.value);
      announce("Token copied.");
    } catch {
      announce("Copying was not allowed: the token is selected, copy it with the keyboard.");
    }
  }

  /** The secret leaves the page as soon as the person is done with it. */
  private hideNewToken(): void {
    this.newTokenValue.value = "";
    show(this.newToken, false);
  }

  private async revokeToken(token: TokenInfo): Promise<void> {
    const name = token.name || "Unnamed token";
    const confirmed = await this.dialog.ask({
      title: `Revoke “${name}”?`,
      text: "Scripts using this token stop working at once, and its open connections are closed.",
      confirm: "Revoke token",
    });
    if (!confirmed) return;
    try {
      await request("DELETE", `/api/tokens/${encodeURIComponent(token.id)}`);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) return this.options.onError(err);
    }
    this.tokens = this.tokens.filter((t) => t.id !== token.id);
    this.renderTokens();
    // The row (and its button) is gone: the list's heading is the nearest place to stand.
    this.tokensTitle.focus();
    announce(`Token ${name} revoked.`);
  }

  // ---- leaving ----

  private async disconnectGmail(): Promise<void> {
    const confirmed = await this.dialog.ask({
      title: "Disconnect Gmail?",
      text: "inbox-sync stops syncing, forgets its access to your Gmail and asks Google to revoke it. The mail copied so far stays here; signing in again reconnects.",
      confirm: "Disconnect Gmail",
    });
    if (!confirmed) return;
    this.disconnect.disabled = true;
    try {
      await request("POST", "/api/account/disconnect");
      await this.options.onGmailChanged();
      this.renderStatus();
      this.connect.focus();
      announce("Gmail disconnected.");
    } catch (err) {
      this.options.onError(err);
    } finally {
      this.disconnect.disabled = false;
    }
  }

  private async endAllSessions(): Promise<void> {
    const confirmed = await this.dialog.ask({
      title: "Sign out everywhere?",
      text: "Every browser and device signed in to this account is signed out, this one included. API tokens keep working until you revoke them.",
      confirm: "Sign out everywhere",
    });
    if (!confirmed) return;
    try {
      await request("DELETE", "/api/sessions");
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) return this.options.onError(err);
    }
    this.options.onSignedOut("You are signed out on every device.");
  }

  private async deleteMyAccount(): Promise<void> {
    const email = this.options.email();
    const confirmed = await this.dialog.ask({
      title: "Delete your account?",
      text: "This deletes the mail copied here, your sync history, sessions and API tokens, and asks Google to revoke inbox-sync's access. Your mail in Gmail is not touched. This cannot be undone.",
      confirm: "Delete my account",
      typeToConfirm: { label: `Type ${email} to confirm`, value: email },
    });
    if (!confirmed) return;
    this.deleteAccount.disabled = true;
    try {
      await request("DELETE", "/api/account");
    } catch (err) {
      this.deleteAccount.disabled = false;
      return this.options.onError(err);
    }
    this.deleteAccount.disabled = false;
    this.options.onSignedOut("Your account and everything in it were deleted.");
  }
}
